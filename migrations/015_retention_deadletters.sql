-- Bounded tables and dead letters an operator can replay.
--
-- A dead letter is now kept once per event and subscriber: the same event
-- dead-lettered by two Triggers (audit and reminder, say) is two letters,
-- each replayed to its own subscriber (knativeerrordest, the extension
-- Knative's dispatcher sets). "times" counts how often the event reached the
-- sink for that subscriber, each after the Trigger's whole retry budget;
-- "replays" and "replayed_at" what an operator's replays did.
ALTER TABLE dead_letters
    ADD COLUMN subscriber       text NOT NULL DEFAULT '',
    ADD COLUMN times            integer NOT NULL DEFAULT 1,
    ADD COLUMN last_received_at timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN replays          integer NOT NULL DEFAULT 0,
    ADD COLUMN replayed_at      timestamptz;
UPDATE dead_letters SET subscriber = coalesce(attributes ->> 'knativeerrordest', ''),
    last_received_at = received_at;
-- The previous revision of the sink inserts ON CONFLICT (source, event_id),
-- which this constraint no longer matches: its inserts fail with a 5xx and the
-- Broker retries them until the new revision takes them.
ALTER TABLE dead_letters DROP CONSTRAINT dead_letters_source_event_id_key;
ALTER TABLE dead_letters ADD CONSTRAINT dead_letters_event_subscriber UNIQUE (source, event_id, subscriber);
CREATE INDEX dead_letters_type ON dead_letters (type, subscriber, id);

-- The purge (pkg/retention) deletes rows older than their retention in
-- small batches, oldest first: each table it bounds needs its age indexed.
CREATE INDEX processed_events_age ON processed_events (processed_at);
CREATE INDEX idempotency_keys_age ON idempotency_keys (created_at);
CREATE INDEX dead_letters_age ON dead_letters (last_received_at);
CREATE INDEX notifications_webhook_done ON notifications (webhook_delivered_at)
    WHERE webhook_delivered_at IS NOT NULL;
