-- TaskFlow's own accounts (API.md §2 Accounts): users with argon2id password
-- hashes, sessions known only by a hash of their token, the Ed25519 keys that
-- sign TaskFlow's tokens, and the sign-in attempt counters every replica shares.
CREATE TABLE users (
    id             text PRIMARY KEY,
    name           text NOT NULL,
    email          text NOT NULL UNIQUE, -- stored lower-cased, as Better Auth normalises it
    email_verified boolean NOT NULL DEFAULT false,
    image          text,
    password_hash  text NOT NULL,        -- argon2id, PHC string format
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL
);

-- A session's token is a bearer secret: a stolen table dump must not be a
-- set of working cookies, so only its SHA-256 is kept.
CREATE TABLE sessions (
    id         text PRIMARY KEY,
    token_hash bytea NOT NULL UNIQUE,
    user_id    text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    ip_address text,
    user_agent text
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

-- Token signing keys. The private half is sealed with AES-256-GCM under a key
-- derived from the deployment's secret; the newest unretired key signs, and a
-- retired key stays published until the last token it signed has expired.
CREATE TABLE signing_keys (
    id          text PRIMARY KEY, -- the JWK kid
    public_key  bytea NOT NULL,   -- Ed25519, 32 bytes
    private_key bytea NOT NULL,   -- nonce || AES-256-GCM(seed), never the key in clear
    created_at  timestamptz NOT NULL,
    retired_at  timestamptz
);

-- Fixed-window counters of sign-in attempts by key ("account:<email>",
-- "address:<ip>"); old windows are deleted as new ones are counted.
CREATE TABLE sign_in_attempts (
    key          text NOT NULL,
    window_start timestamptz NOT NULL,
    attempts     integer NOT NULL,
    PRIMARY KEY (key, window_start)
);
