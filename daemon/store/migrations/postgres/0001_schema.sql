-- studbook catalog, schema version 1 (PostgreSQL): the same tables, columns, keys and indexes as
-- the DuckDB catalog's migration 1, in PostgreSQL's types. Nested values are jsonb, so that
-- filters can reach into them and indexes can cover them; columns that filters and sorting touch
-- are plain columns. Times are timestamptz: an instant, whatever the session's TimeZone.

CREATE TABLE meta (
    key   text PRIMARY KEY,
    value text NOT NULL
);

CREATE TABLE models (
    name          text PRIMARY KEY,
    description   text    NOT NULL DEFAULT '',
    owner         text    NOT NULL DEFAULT '',
    tags          jsonb   NOT NULL DEFAULT '{}',
    stages        jsonb   NOT NULL,            -- ordered list of stage names
    state         text    NOT NULL DEFAULT 'active',
    create_time   timestamptz NOT NULL,
    update_time   timestamptz NOT NULL,
    revision      bigint  NOT NULL,            -- last change to the model, its stages or aliases
    request_id    text    NOT NULL DEFAULT ''
);

-- Row handles for fetching a page of versions by index once its keys are known.
CREATE SEQUENCE version_ids;

CREATE TABLE versions (
    model          text    NOT NULL,
    number         bigint  NOT NULL,
    semver         text    NOT NULL,
    semver_key     bigint  NOT NULL,           -- major*1e12 + minor*1e6 + patch, for sorting and comparing
    change_kind    text    NOT NULL,
    status         text    NOT NULL,
    status_reason  text    NOT NULL DEFAULT '',
    description    text    NOT NULL DEFAULT '',
    tags           jsonb   NOT NULL DEFAULT '{}',
    params         jsonb   NOT NULL DEFAULT '{}',
    metrics        jsonb   NOT NULL DEFAULT '[]', -- latest value per key and split (a copy of metric_summary)
    signature      jsonb   NOT NULL DEFAULT '{}',
    environment    jsonb   NOT NULL DEFAULT '{}',
    training       jsonb   NOT NULL DEFAULT '{}',
    model_card     text    NOT NULL DEFAULT '',
    datasets       jsonb   NOT NULL DEFAULT '[]',
    run            jsonb,
    parents        jsonb   NOT NULL DEFAULT '[]',
    storage_uri    text    NOT NULL DEFAULT '',
    content_digest text    NOT NULL DEFAULT '',
    total_size     bigint  NOT NULL DEFAULT 0,
    file_count     bigint  NOT NULL DEFAULT 0,
    format         text    NOT NULL DEFAULT '',  -- format of the main file, for tables
    created_by     text    NOT NULL DEFAULT '',
    created_from   text    NOT NULL DEFAULT '',
    request_id     text    NOT NULL DEFAULT '',
    create_time    timestamptz NOT NULL,
    update_time    timestamptz NOT NULL,
    revision       bigint  NOT NULL,
    vid            bigint  NOT NULL DEFAULT nextval('version_ids'),
    PRIMARY KEY (model, number)
);

-- The sequence belongs to the column, so that dropping or dumping the table takes it along.
ALTER SEQUENCE version_ids OWNED BY versions.vid;

CREATE UNIQUE INDEX versions_vid ON versions (vid);

CREATE TABLE files (
    model   text    NOT NULL,
    number  bigint  NOT NULL,
    path    text    NOT NULL,
    size    bigint  NOT NULL,
    sha256  text    NOT NULL,
    format  text    NOT NULL DEFAULT '',
    flags   jsonb   NOT NULL DEFAULT '[]'
);

-- Every observation, scalar (step NULL) or per-step.
CREATE TABLE metrics (
    model   text    NOT NULL,
    number  bigint  NOT NULL,
    key     text    NOT NULL,
    split   text    NOT NULL DEFAULT '',
    step    bigint,
    value   double precision NOT NULL,
    time    timestamptz NOT NULL
);

-- The latest value of each (version, key, split): what filters, sorting and diffs read.
CREATE TABLE metric_summary (
    model   text    NOT NULL,
    number  bigint  NOT NULL,
    key     text    NOT NULL,
    split   text    NOT NULL DEFAULT '',
    value   double precision NOT NULL,
    step    bigint,
    time    timestamptz NOT NULL
);

-- Lineage nodes other than versions (datasets, runs) and the typed edges between any nodes.
CREATE TABLE lineage_nodes (
    name    text PRIMARY KEY,      -- datasets/{name}@{version}, runs/{run_id}
    kind    text    NOT NULL,      -- dataset, run
    label   text    NOT NULL DEFAULT '',
    attrs   jsonb   NOT NULL DEFAULT '{}'
);

CREATE TABLE lineage_edges (
    source  text    NOT NULL,      -- upstream node name
    target  text    NOT NULL,      -- downstream node name
    kind    text    NOT NULL
);

-- Current holder of each stage and alias.
CREATE TABLE stage_holders (
    model     text    NOT NULL,
    label     text    NOT NULL,
    is_alias  boolean NOT NULL,
    number    bigint  NOT NULL
);

-- Every change of a stage or alias holder; the answer to "who held production at T".
CREATE TABLE stage_history (
    revision          bigint  NOT NULL,
    model             text    NOT NULL,
    label             text    NOT NULL,
    is_alias          boolean NOT NULL,
    number            bigint,           -- NULL when an alias was removed
    previous_number   bigint,
    actor             text    NOT NULL,
    reason            text    NOT NULL DEFAULT '',
    time              timestamptz NOT NULL,
    promotion_id      bigint,
    rollback          boolean NOT NULL DEFAULT false
);

CREATE TABLE promotions (
    id                bigint  PRIMARY KEY,
    model             text    NOT NULL,
    number            bigint  NOT NULL,
    target            text    NOT NULL,
    is_alias          boolean NOT NULL,
    state             text    NOT NULL,
    previous_number   bigint,
    reason            text    NOT NULL DEFAULT '',
    actor             text    NOT NULL DEFAULT '',
    gate_results      jsonb   NOT NULL DEFAULT '[]',
    approvals         jsonb   NOT NULL DEFAULT '[]',
    rollback          boolean NOT NULL DEFAULT false,
    request_id        text    NOT NULL DEFAULT '',
    create_time       timestamptz NOT NULL,
    update_time       timestamptz NOT NULL
);

-- The append-only event log behind Watch and the audit trail.
CREATE TABLE events (
    revision  bigint  PRIMARY KEY,
    time      timestamptz NOT NULL,
    type      text    NOT NULL,
    subject   text    NOT NULL,
    model     text    NOT NULL DEFAULT '',
    actor     text    NOT NULL DEFAULT '',
    payload   bytea
);

-- Drop-in folders: one row per unit the watcher gave a verdict on, keyed by (root, path).
CREATE TABLE drops (
    root            text    NOT NULL,
    path            text    NOT NULL,            -- below the root: model/entry
    model           text    NOT NULL,
    number          bigint,                      -- the version it registered (or collided with)
    state           text    NOT NULL,            -- registered, modified, missing, quarantined
    content_digest  text    NOT NULL DEFAULT '', -- of the files as last seen
    reason          text    NOT NULL DEFAULT '',
    message         text    NOT NULL DEFAULT '',
    details         jsonb   NOT NULL DEFAULT '{}',
    fingerprint     text    NOT NULL DEFAULT '', -- the unit's stat picture at the verdict
    unit_device     bigint  NOT NULL DEFAULT 0,
    unit_inode      bigint  NOT NULL DEFAULT 0,
    update_time     timestamptz NOT NULL
);

-- Each drop's files as last seen, so a restart re-hashes only files that changed.
CREATE TABLE drop_files (
    root      text    NOT NULL,
    path      text    NOT NULL,
    file      text    NOT NULL,
    size      bigint  NOT NULL,
    sha256    text    NOT NULL,
    mtime_ns  bigint  NOT NULL,
    inode     bigint  NOT NULL,
    device    bigint  NOT NULL
);
