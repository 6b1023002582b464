-- Roles and tokens. Each event records the role its actor had; a token is kept by its hash.
ALTER TABLE events ADD COLUMN role text DEFAULT '';
CREATE TABLE tokens (
    id           text PRIMARY KEY,
    display_name text    NOT NULL,   -- unique, kept so by the single writer
    role         text    NOT NULL,
    secret_hash  text    NOT NULL,   -- sha256 of the bearer secret; the secret is never stored
    create_time  timestamptz NOT NULL,
    creator      text    NOT NULL,
    expire_time  timestamptz,
    revoke_time  timestamptz,
    revoker      text    NOT NULL DEFAULT ''
);
