-- Input statistics: the reference summaries of each version's training data, the production
-- windows logged against them, and the drift of each window's features from that reference.
-- A summary is one row per bin: a histogram's bins by position (category ''), or a feature's
-- categories by name (bin 0), so PSI and the KS-style distance are computed set-wise by one
-- statement over many windows (store/drift.py).
-- IF NOT EXISTS: a catalog set back to an older schema version (a test of upgrades) keeps the tables.
CREATE TABLE IF NOT EXISTS reference_features (
    model   VARCHAR NOT NULL,
    number  BIGINT  NOT NULL,
    feature VARCHAR NOT NULL,
    kind    VARCHAR NOT NULL,            -- numeric | categorical
    edges   VARCHAR NOT NULL DEFAULT '', -- JSON list of a histogram's edges, as given
    PRIMARY KEY (model, number, feature)
);
CREATE TABLE IF NOT EXISTS reference_bins (
    model    VARCHAR NOT NULL,
    number   BIGINT  NOT NULL,
    feature  VARCHAR NOT NULL,
    bin      BIGINT  NOT NULL,
    category VARCHAR NOT NULL,
    weight   DOUBLE  NOT NULL,
    cumulative DOUBLE  NOT NULL -- the shares of this bin and those before it, bins in order
);
CREATE TABLE IF NOT EXISTS input_windows (
    id          BIGINT PRIMARY KEY,
    model       VARCHAR NOT NULL,
    stage       VARCHAR NOT NULL,
    number      BIGINT  NOT NULL,    -- the version that held the stage at window_end
    window_end  TIMESTAMP NOT NULL,
    segment     VARCHAR NOT NULL DEFAULT '',
    features    BIGINT  NOT NULL,
    max_psi     DOUBLE  NOT NULL,
    max_ks      DOUBLE  NOT NULL,
    worst       VARCHAR NOT NULL DEFAULT '', -- the feature of the largest psi
    request_id  VARCHAR NOT NULL DEFAULT '',
    revision    BIGINT  NOT NULL,    -- of its production.inputs_logged event
    record_time TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS input_bins (
    window_id BIGINT  NOT NULL,
    feature   VARCHAR NOT NULL,
    bin       BIGINT  NOT NULL,
    category  VARCHAR NOT NULL,
    weight    DOUBLE  NOT NULL,
    cumulative DOUBLE  NOT NULL -- the shares of this bin and those before it, bins in order
);
CREATE TABLE IF NOT EXISTS input_drift (
    window_id    BIGINT  NOT NULL,
    feature      VARCHAR NOT NULL,
    psi          DOUBLE  NOT NULL,
    ks           DOUBLE  NOT NULL,
    no_reference BOOLEAN NOT NULL
);
