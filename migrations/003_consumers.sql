-- Exactly-once effects on at-least-once delivery: a consumer records each
-- event id it processed in the same transaction as the effect.
CREATE TABLE processed_events (
    consumer     text NOT NULL,
    event_id     text NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);

-- The audit trail behind GET /api/tasks/{id}/history: one row per event id.
CREATE TABLE audit_events (
    event_id    text PRIMARY KEY,
    user_id     text NOT NULL,
    task_id     uuid NOT NULL,
    type        text NOT NULL,
    time        timestamptz NOT NULL,
    changes     jsonb NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_events_task ON audit_events (user_id, task_id, time, event_id);

-- Events that exhausted their retries: kept for an operator to inspect and replay.
CREATE TABLE dead_letters (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id    text NOT NULL,
    source      text NOT NULL,
    type        text NOT NULL,
    event       jsonb NOT NULL, -- the whole CloudEvent, structured
    received_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (source, event_id)
);
