-- Webhooks: hooks an admin added, where each stands in the event log, and what each delivery got.
-- IF NOT EXISTS: a catalog set back to an older schema version (a test of upgrades) keeps the tables.
CREATE TABLE IF NOT EXISTS hooks (
    id            text PRIMARY KEY,
    name          text    NOT NULL,   -- unique, kept so by the single writer
    url           text    NOT NULL,
    events        text    NOT NULL,   -- JSON list of event patterns
    model_pattern text    NOT NULL DEFAULT '',
    secret        text    NOT NULL,   -- kept to sign deliveries; never returned after creation
    create_time   timestamptz NOT NULL,
    creator       text    NOT NULL,
    delivered_revision bigint  NOT NULL DEFAULT 0,  -- the newest revision delivered or passed over
    failures      bigint  NOT NULL DEFAULT 0,  -- consecutive failed attempts after the cursor
    paused        boolean NOT NULL DEFAULT false,
    pause_reason  text    NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS hook_deliveries (
    hook_id     text    NOT NULL,
    revision    bigint  NOT NULL,
    event_type  text    NOT NULL,
    attempt     bigint  NOT NULL,
    status_code bigint  NOT NULL,   -- 0: no HTTP answer
    latency_ms  double precision NOT NULL,
    error       text    NOT NULL DEFAULT '',
    attempt_time timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS hook_deliveries_by_hook ON hook_deliveries (hook_id, attempt_time);
