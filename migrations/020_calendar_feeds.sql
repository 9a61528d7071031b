-- One calendar feed per user (GET /api/calendar/{secret}.ics). Only the
-- SHA-256 of the feed's secret is kept: the table reveals no URL, and the
-- secret (32 random bytes) needs no slow hash. POST /api/calendar/feed
-- replaces the hash, which invalidates the old URL at once; DELETE removes
-- the row.
CREATE TABLE calendar_feeds (
    user_id     text PRIMARY KEY,
    secret_hash bytea NOT NULL UNIQUE CHECK (length(secret_hash) = 32),
    created_at  timestamptz NOT NULL
);
