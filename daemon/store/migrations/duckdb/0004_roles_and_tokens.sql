-- Roles and tokens. Each event records the role its actor had; a token is kept by its hash.
ALTER TABLE events ADD COLUMN role VARCHAR DEFAULT '';
CREATE TABLE tokens (
    id           VARCHAR PRIMARY KEY,
    display_name VARCHAR NOT NULL,   -- unique, kept so by the single writer
    role         VARCHAR NOT NULL,
    secret_hash  VARCHAR NOT NULL,   -- sha256 of the bearer secret; the secret is never stored
    create_time  TIMESTAMP NOT NULL,
    creator      VARCHAR NOT NULL,
    expire_time  TIMESTAMP,
    revoke_time  TIMESTAMP,
    revoker      VARCHAR NOT NULL DEFAULT ''
);
