-- Production metrics: what serving measured, each point kept on the version that held the stage
-- at its window_end (so a version keeps its production record after it leaves the stage).
-- IF NOT EXISTS: a catalog set back to an older schema version (a test of upgrades) keeps the tables.
CREATE TABLE IF NOT EXISTS production_points (
    model       text    NOT NULL,
    stage       text    NOT NULL,
    number      bigint  NOT NULL,   -- the version holding the stage at window_end
    metric      text    NOT NULL,   -- the metric key
    segment     text    NOT NULL DEFAULT '',
    window_end  timestamptz NOT NULL,
    value       double precision NOT NULL,
    revision    bigint  NOT NULL    -- the production.metrics_logged event that recorded it
);
-- A stage's series (a chart, a monitor's newest windows) and a version's series (its record,
-- a rollback candidate's ranking) are both read by a range of one index.
CREATE INDEX IF NOT EXISTS production_points_by_stage ON production_points (model, stage, metric, window_end);
CREATE INDEX IF NOT EXISTS production_points_by_version ON production_points (model, number, metric, window_end);
-- The request_id of each log call that gave one, with its answer, so a retry records nothing twice
-- and gets the first answer back. versions: JSON [[number, count], ...] in the order of the points.
CREATE TABLE IF NOT EXISTS production_requests (
    model       text    NOT NULL,
    request_id  text    NOT NULL,
    stage       text    NOT NULL,
    recorded    bigint  NOT NULL,
    versions    text    NOT NULL,
    revision    bigint  NOT NULL,
    time        timestamptz NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS production_requests_id ON production_requests (model, request_id);
