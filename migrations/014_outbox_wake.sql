-- Wake the relay only while it sleeps. A NOTIFY makes its transaction take
-- PostgreSQL's one notify-queue lock and hold it through commit, so a
-- notification from every write serialised every writer. The relay holds
-- advisory lock 7351003 exclusively only while it sleeps (pkg/relay); a
-- writer tries to share it instead and notifies only when that fails. A
-- writer that got the shared lock keeps it until it ends, and the relay
-- acquires the lock, waiting for such writers to commit, and reads the outbox
-- once more before it sleeps, so their rows are published without a
-- notification. The try never waits: a writer is never held up by the relay.
CREATE OR REPLACE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT pg_try_advisory_xact_lock_shared(7351003) THEN
        PERFORM pg_notify('taskflow_outbox', '');
    END IF;
    RETURN NULL;
END
$$;
