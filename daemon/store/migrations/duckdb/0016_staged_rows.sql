-- Rows a commit stages rather than writes into their tables, one row per table and commit, and
-- settles into them before anything reads the catalog (store/staging.py): on DuckDB each table
-- a commit writes costs about the same whatever its number of rows, and a registration writes
-- four. `columns` names the document's columns by their index in the table, `doc` holds the
-- rows as one JSON array, `ids` the version handles drawn for them (versions only).
CREATE TABLE IF NOT EXISTS staged_rows (
    seq     BIGINT  NOT NULL,
    tbl     VARCHAR NOT NULL,
    columns VARCHAR NOT NULL,
    doc     VARCHAR NOT NULL,
    ids     BIGINT[]
);
