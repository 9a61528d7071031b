-- The W3C trace context of the request or event that caused each outbox
-- event, so that the relay can put it on the CloudEvent (the distributed
-- tracing extension) and the trace goes on in every consumer.
ALTER TABLE outbox
    ADD COLUMN traceparent text,
    ADD COLUMN tracestate  text;
