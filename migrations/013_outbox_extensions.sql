-- Further CloudEvent extension attributes of each outbox event (name → value,
-- both strings), which the relay puts on the event so that Knative Triggers
-- can filter on them: taskflowreminder marks the task events that touch a
-- reminder. NULL when an event has none, as every row written before had.
ALTER TABLE outbox ADD COLUMN extensions jsonb;
