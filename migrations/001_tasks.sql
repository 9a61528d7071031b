-- Tasks, per-user tags and idempotency keys.
-- btree_gin lets one GIN index serve "this user's rows with these tags".
CREATE EXTENSION IF NOT EXISTS btree_gin;

-- Search words are stored with a per-user namespace (eight letters derived from
-- md5 of the user id) in front of each word, so that a word-prefix query reads
-- only the querying user's entries of the GIN index, however many other users
-- the table holds. pkg/store computes the same namespace for queries.
CREATE FUNCTION taskflow_search_ns(user_id text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT translate(left(md5(user_id), 8), '0123456789', 'ghijklmnop') $$;

CREATE TABLE tasks (
    id            uuid PRIMARY KEY,
    user_id       text NOT NULL,
    title         text NOT NULL,
    description   text NOT NULL DEFAULT '',
    status        text NOT NULL CHECK (status IN ('active', 'completed')),
    priority      smallint NOT NULL CHECK (priority BETWEEN 0 AND 3), -- 0 low .. 3 urgent
    tags          text[] NOT NULL DEFAULT '{}',                       -- as the user spelled them
    tag_keys      text[] NOT NULL DEFAULT '{}',                       -- lower-cased, for filtering
    due_date      timestamptz,
    reminder_time timestamptz,
    is_recurring  boolean NOT NULL DEFAULT false,
    recurrence    jsonb,
    series_id     uuid,
    completed_at  timestamptz,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    version       bigint NOT NULL DEFAULT 1,
    search        tsvector GENERATED ALWAYS AS (to_tsvector('simple'::regconfig,
                      regexp_replace(title || ' ' || description, '([[:alnum:]]+)',
                                     taskflow_search_ns(user_id) || '\1', 'g'))) STORED
);

-- Keyset pagination: one index per sort key, each ending in id (the tie-break).
-- Tasks without a due date sort last in both directions, hence the two due-date keys.
CREATE INDEX tasks_user_created ON tasks (user_id, created_at, id);
CREATE INDEX tasks_user_updated ON tasks (user_id, updated_at, id);
CREATE INDEX tasks_user_due_asc ON tasks (user_id, (coalesce(due_date, 'infinity'::timestamptz)), id);
CREATE INDEX tasks_user_due_desc ON tasks (user_id, (coalesce(due_date, '-infinity'::timestamptz)), id);
CREATE INDEX tasks_user_priority ON tasks (user_id, priority, id);
CREATE INDEX tasks_user_title ON tasks (user_id, title, id);
CREATE INDEX tasks_search ON tasks USING gin (search);
CREATE INDEX tasks_user_tags ON tasks USING gin (user_id, tag_keys);

CREATE TABLE tags (
    user_id    text NOT NULL,
    key        text NOT NULL, -- lower(name): tags are unique per user case-insensitively
    name       text NOT NULL,
    color      text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key)
);

-- A create retried with the same Idempotency-Key returns the first response.
CREATE TABLE idempotency_keys (
    user_id      text NOT NULL,
    key          text NOT NULL,
    request_hash bytea NOT NULL,
    response     bytea NOT NULL, -- the first response body, byte for byte
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key)
);
