-- Webhooks: hooks an admin added, where each stands in the event log, and what each delivery got.
-- IF NOT EXISTS: a catalog set back to an older schema version (a test of upgrades) keeps the tables.
CREATE TABLE IF NOT EXISTS hooks (
    id            VARCHAR PRIMARY KEY,
    name          VARCHAR NOT NULL,   -- unique, kept so by the single writer
    url           VARCHAR NOT NULL,
    events        VARCHAR NOT NULL,   -- JSON list of event patterns
    model_pattern VARCHAR NOT NULL DEFAULT '',
    secret        VARCHAR NOT NULL,   -- kept to sign deliveries; never returned after creation
    create_time   TIMESTAMP NOT NULL,
    creator       VARCHAR NOT NULL,
    delivered_revision BIGINT NOT NULL DEFAULT 0,  -- the newest revision delivered or passed over
    failures      BIGINT  NOT NULL DEFAULT 0,  -- consecutive failed attempts after the cursor
    paused        BOOLEAN NOT NULL DEFAULT false,
    pause_reason  VARCHAR NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS hook_deliveries (
    hook_id     VARCHAR NOT NULL,
    revision    BIGINT  NOT NULL,
    event_type  VARCHAR NOT NULL,
    attempt     BIGINT  NOT NULL,
    status_code BIGINT  NOT NULL,   -- 0: no HTTP answer
    latency_ms  DOUBLE  NOT NULL,
    error       VARCHAR NOT NULL DEFAULT '',
    attempt_time TIMESTAMP NOT NULL
);
CREATE INDEX IF NOT EXISTS hook_deliveries_by_hook ON hook_deliveries (hook_id, attempt_time);
