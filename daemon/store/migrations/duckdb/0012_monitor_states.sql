-- Monitors: the state of each watched stage as of its last check (in breach or not, since
-- when, on what figures, the rollback candidate and what auto_rollback did). One row per model
-- and stage, replaced inside the writer's transaction that checked it.
CREATE TABLE IF NOT EXISTS monitor_states (
    model         VARCHAR NOT NULL,
    stage         VARCHAR NOT NULL,
    number        BIGINT,            -- the version holding the stage at the check; NULL: none
    breached      BOOLEAN NOT NULL,
    since         TIMESTAMP,         -- when the breach or recovery was recorded
    revision      BIGINT  NOT NULL DEFAULT 0,   -- its drift.detected / drift.cleared event
    findings      VARCHAR NOT NULL DEFAULT '[]',  -- JSON: the rules checked and what they found
    candidate     VARCHAR NOT NULL DEFAULT '',    -- JSON: the ranked earlier holders; '' none
    auto_rollback VARCHAR NOT NULL DEFAULT '',    -- the rollback's promotion, or why none
    check_time    TIMESTAMP NOT NULL,
    PRIMARY KEY (model, stage)
);
