-- studbook catalog, schema version 1 (DuckDB). Nested values are JSON text; columns that
-- filters and sorting touch are plain columns so DuckDB can scan them set-wise.
-- Times are TIMESTAMP in UTC; the catalog module converts at its edges.

CREATE TABLE meta (
    key   VARCHAR PRIMARY KEY,
    value VARCHAR NOT NULL
);

CREATE TABLE models (
    name          VARCHAR PRIMARY KEY,
    description   VARCHAR NOT NULL DEFAULT '',
    owner         VARCHAR NOT NULL DEFAULT '',
    tags          JSON    NOT NULL DEFAULT '{}',
    stages        JSON    NOT NULL,            -- ordered list of stage names
    state         VARCHAR NOT NULL DEFAULT 'active',
    create_time   TIMESTAMP NOT NULL,
    update_time   TIMESTAMP NOT NULL,
    revision      BIGINT  NOT NULL,            -- last change to the model, its stages or aliases
    request_id    VARCHAR NOT NULL DEFAULT ''
);

-- Row handles for fetching a page of versions by index once its keys are known.
CREATE SEQUENCE version_ids;

CREATE TABLE versions (
    model          VARCHAR NOT NULL,
    number         BIGINT  NOT NULL,
    semver         VARCHAR NOT NULL,
    semver_key     BIGINT  NOT NULL,           -- major*1e12 + minor*1e6 + patch, for sorting and comparing
    change_kind    VARCHAR NOT NULL,
    status         VARCHAR NOT NULL,
    status_reason  VARCHAR NOT NULL DEFAULT '',
    description    VARCHAR NOT NULL DEFAULT '',
    tags           JSON    NOT NULL DEFAULT '{}',
    params         JSON    NOT NULL DEFAULT '{}',
    metrics        JSON    NOT NULL DEFAULT '[]', -- latest value per key and split (a copy of metric_summary)
    signature      JSON    NOT NULL DEFAULT '{}',
    environment    JSON    NOT NULL DEFAULT '{}',
    training       JSON    NOT NULL DEFAULT '{}',
    model_card     VARCHAR NOT NULL DEFAULT '',
    datasets       JSON    NOT NULL DEFAULT '[]',
    run            JSON,
    parents        JSON    NOT NULL DEFAULT '[]',
    storage_uri    VARCHAR NOT NULL DEFAULT '',
    content_digest VARCHAR NOT NULL DEFAULT '',
    total_size     BIGINT  NOT NULL DEFAULT 0,
    file_count     BIGINT  NOT NULL DEFAULT 0,
    format         VARCHAR NOT NULL DEFAULT '',  -- format of the main file, for tables
    created_by     VARCHAR NOT NULL DEFAULT '',
    created_from   VARCHAR NOT NULL DEFAULT '',
    request_id     VARCHAR NOT NULL DEFAULT '',
    create_time    TIMESTAMP NOT NULL,
    update_time    TIMESTAMP NOT NULL,
    revision       BIGINT  NOT NULL,
    vid            BIGINT  NOT NULL DEFAULT nextval('version_ids'),
    PRIMARY KEY (model, number)
);

CREATE UNIQUE INDEX versions_vid ON versions (vid);

CREATE TABLE files (
    model   VARCHAR NOT NULL,
    number  BIGINT  NOT NULL,
    path    VARCHAR NOT NULL,
    size    BIGINT  NOT NULL,
    sha256  VARCHAR NOT NULL,
    format  VARCHAR NOT NULL DEFAULT '',
    flags   JSON    NOT NULL DEFAULT '[]'
);

-- Every observation, scalar (step NULL) or per-step.
CREATE TABLE metrics (
    model   VARCHAR NOT NULL,
    number  BIGINT  NOT NULL,
    key     VARCHAR NOT NULL,
    split   VARCHAR NOT NULL DEFAULT '',
    step    BIGINT,
    value   DOUBLE  NOT NULL,
    time    TIMESTAMP NOT NULL
);

-- The latest value of each (version, key, split): what filters, sorting and diffs read.
CREATE TABLE metric_summary (
    model   VARCHAR NOT NULL,
    number  BIGINT  NOT NULL,
    key     VARCHAR NOT NULL,
    split   VARCHAR NOT NULL DEFAULT '',
    value   DOUBLE  NOT NULL,
    step    BIGINT,
    time    TIMESTAMP NOT NULL
);

-- Lineage nodes other than versions (datasets, runs) and the typed edges between any nodes.
CREATE TABLE lineage_nodes (
    name    VARCHAR PRIMARY KEY,   -- datasets/{name}@{version}, runs/{run_id}
    kind    VARCHAR NOT NULL,      -- dataset, run
    label   VARCHAR NOT NULL DEFAULT '',
    attrs   JSON    NOT NULL DEFAULT '{}'
);

CREATE TABLE lineage_edges (
    source  VARCHAR NOT NULL,      -- upstream node name
    target  VARCHAR NOT NULL,      -- downstream node name
    kind    VARCHAR NOT NULL
);

-- Current holder of each stage and alias.
CREATE TABLE stage_holders (
    model     VARCHAR NOT NULL,
    label     VARCHAR NOT NULL,
    is_alias  BOOLEAN NOT NULL,
    number    BIGINT  NOT NULL
);

-- Every change of a stage or alias holder; the answer to "who held production at T".
CREATE TABLE stage_history (
    revision          BIGINT  NOT NULL,
    model             VARCHAR NOT NULL,
    label             VARCHAR NOT NULL,
    is_alias          BOOLEAN NOT NULL,
    number            BIGINT,           -- NULL when an alias was removed
    previous_number   BIGINT,
    actor             VARCHAR NOT NULL,
    reason            VARCHAR NOT NULL DEFAULT '',
    time              TIMESTAMP NOT NULL,
    promotion_id      BIGINT,
    rollback          BOOLEAN NOT NULL DEFAULT false
);

CREATE TABLE promotions (
    id                BIGINT  PRIMARY KEY,
    model             VARCHAR NOT NULL,
    number            BIGINT  NOT NULL,
    target            VARCHAR NOT NULL,
    is_alias          BOOLEAN NOT NULL,
    state             VARCHAR NOT NULL,
    previous_number   BIGINT,
    reason            VARCHAR NOT NULL DEFAULT '',
    actor             VARCHAR NOT NULL DEFAULT '',
    gate_results      JSON    NOT NULL DEFAULT '[]',
    approvals         JSON    NOT NULL DEFAULT '[]',
    rollback          BOOLEAN NOT NULL DEFAULT false,
    request_id        VARCHAR NOT NULL DEFAULT '',
    create_time       TIMESTAMP NOT NULL,
    update_time       TIMESTAMP NOT NULL
);

-- The append-only event log behind Watch and the audit trail.
CREATE TABLE events (
    revision  BIGINT  PRIMARY KEY,
    time      TIMESTAMP NOT NULL,
    type      VARCHAR NOT NULL,
    subject   VARCHAR NOT NULL,
    model     VARCHAR NOT NULL DEFAULT '',
    actor     VARCHAR NOT NULL DEFAULT '',
    payload   BLOB
);

-- Drop-in folders: one row per unit the watcher gave a verdict on, keyed by (root, path).
CREATE TABLE drops (
    root            VARCHAR NOT NULL,
    path            VARCHAR NOT NULL,            -- below the root: model/entry
    model           VARCHAR NOT NULL,
    number          BIGINT,                      -- the version it registered (or collided with)
    state           VARCHAR NOT NULL,            -- registered, modified, missing, quarantined
    content_digest  VARCHAR NOT NULL DEFAULT '', -- of the files as last seen
    reason          VARCHAR NOT NULL DEFAULT '',
    message         VARCHAR NOT NULL DEFAULT '',
    details         JSON    NOT NULL DEFAULT '{}',
    fingerprint     VARCHAR NOT NULL DEFAULT '', -- the unit's stat picture at the verdict
    unit_device     BIGINT  NOT NULL DEFAULT 0,
    unit_inode      BIGINT  NOT NULL DEFAULT 0,
    update_time     TIMESTAMP NOT NULL
);

-- Each drop's files as last seen, so a restart re-hashes only files that changed.
CREATE TABLE drop_files (
    root      VARCHAR NOT NULL,
    path      VARCHAR NOT NULL,
    file      VARCHAR NOT NULL,
    size      BIGINT  NOT NULL,
    sha256    VARCHAR NOT NULL,
    mtime_ns  BIGINT  NOT NULL,
    inode     BIGINT  NOT NULL,
    device    BIGINT  NOT NULL
);
