-- Input statistics (PostgreSQL): the same tables as the DuckDB catalog's migration 11, in
-- PostgreSQL's types, with the indexes its reads by window and by version need (PostgreSQL only:
-- see POSTGRES_ONLY_INDEXES).
CREATE TABLE IF NOT EXISTS reference_features (
    model   text   NOT NULL,
    number  bigint NOT NULL,
    feature text   NOT NULL,
    kind    text   NOT NULL,            -- numeric | categorical
    edges   text   NOT NULL DEFAULT '', -- JSON list of a histogram's edges, as given
    PRIMARY KEY (model, number, feature)
);
CREATE TABLE IF NOT EXISTS reference_bins (
    model    text   NOT NULL,
    number   bigint NOT NULL,
    feature  text   NOT NULL,
    bin      bigint NOT NULL,
    category text   NOT NULL,
    weight   double precision NOT NULL,
    cumulative double precision NOT NULL -- the shares of this bin and those before it, bins in order
);
CREATE INDEX IF NOT EXISTS reference_bins_version ON reference_bins (model, number, feature);
CREATE TABLE IF NOT EXISTS input_windows (
    id          bigint PRIMARY KEY,
    model       text   NOT NULL,
    stage       text   NOT NULL,
    number      bigint NOT NULL,    -- the version that held the stage at window_end
    window_end  timestamptz NOT NULL,
    segment     text   NOT NULL DEFAULT '',
    features    bigint NOT NULL,
    max_psi     double precision NOT NULL,
    max_ks      double precision NOT NULL,
    worst       text   NOT NULL DEFAULT '', -- the feature of the largest psi
    request_id  text   NOT NULL DEFAULT '',
    revision    bigint NOT NULL,    -- of its production.inputs_logged event
    record_time timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS input_windows_stage ON input_windows (model, stage, window_end);
-- A retried LogInputStatistics finds its first window by request_id.
CREATE INDEX IF NOT EXISTS input_windows_request ON input_windows (model, request_id);
CREATE TABLE IF NOT EXISTS input_bins (
    window_id bigint NOT NULL,
    feature   text   NOT NULL,
    bin       bigint NOT NULL,
    category  text   NOT NULL,
    weight    double precision NOT NULL,
    cumulative double precision NOT NULL -- the shares of this bin and those before it, bins in order
);
CREATE INDEX IF NOT EXISTS input_bins_window ON input_bins (window_id);
CREATE TABLE IF NOT EXISTS input_drift (
    window_id    bigint  NOT NULL,
    feature      text    NOT NULL,
    psi          double precision NOT NULL,
    ks           double precision NOT NULL,
    no_reference boolean NOT NULL
);
CREATE INDEX IF NOT EXISTS input_drift_window ON input_drift (window_id);
