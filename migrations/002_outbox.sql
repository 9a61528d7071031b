-- The transactional outbox: every write stores its CloudEvents here in the
-- same transaction; the relay publishes them to Kafka and, once every
-- in-sync replica has acknowledged them, deletes them. Every row is unsent.
CREATE TABLE outbox (
    seq        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id   uuid NOT NULL UNIQUE,
    type       text NOT NULL,
    source     text NOT NULL,
    subject    text NOT NULL,   -- the task id, also the Kafka message key
    topics     text[] NOT NULL,
    time       timestamptz NOT NULL,
    data       text NOT NULL,   -- the JSON payload, byte for byte as built
    created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
-- The relay reads rows in sequence order (the primary key). It keeps no
-- high-water mark, so a row whose transaction committed after a later one is
-- still read.

-- Wake the relay when a write commits (NOTIFY is delivered at commit).
CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('taskflow_outbox', '');
    RETURN NULL;
END
$$;
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();
