-- A search by tag and metric at scale: the rows a filter's `tags.K = "v"` and `status <> 'archived'`
-- select, readable from indexes alone. PostgreSQL only (see the DuckDB migration 8).
--
-- A version's tags live in versions.tags, a jsonb in a row as wide as everything else a version
-- holds (~1.6 KB, 1.5 GB at 1M versions). Testing a tag meant reading that row: for
-- `metrics.auc > 0.9 AND tags.team = "risk"` at 1M versions, either a scan of the whole table or
-- one row fetched for each of the 100k versions the metric selects, ~0.5-1 s either way. The
-- search now intersects index ranges instead: the metric's in metric_summary_key_value, the
-- tag's in version_tags_key_value, and reads versions only for the page it returns.
--
-- version_tags is derived, like an index: one row per (version, tag key), kept equal to
-- versions.tags by the triggers below in the transaction that changes versions, so every
-- snapshot sees the two agree. No code writes it; a catalog copy leaves it out (the
-- destination's own triggers fill it). A value too long for a btree entry (values may hold up
-- to 4 KB of UTF-8) has no row: the store tests such a value on versions.tags itself
-- (`query.TAG_INDEX_MAX_BYTES`, the same bound as below).

CREATE TABLE version_tags (
    model   text   NOT NULL,
    number  bigint NOT NULL,
    key     text   NOT NULL,
    value   text   NOT NULL
);

CREATE INDEX version_tags_key_value ON version_tags (key, value, model, number);
-- What a version's own rows are found by when its tags change or it is deleted.
CREATE INDEX version_tags_version ON version_tags (model, number);

-- Archived versions are few; a search leaves them out by this index, not by reading each row.
CREATE INDEX versions_archived ON versions (model, number) WHERE status = 'archived';

-- Statement-level with transition tables: a bulk insert (a registration group, a catalog copy)
-- costs one INSERT ... SELECT here, not one call per row.
CREATE FUNCTION version_tags_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO version_tags (model, number, key, value)
    SELECT n.model, n.number, t.key, t.value FROM new_rows n, jsonb_each_text(n.tags) t(key, value)
    WHERE t.value IS NOT NULL AND octet_length(t.key) + octet_length(t.value) <= 2000;
    RETURN NULL;
END $$;

-- Most updates (a status, an update_time) leave the tags as they were: a row trigger whose WHEN
-- the server tests without calling any function, so that only a change of a version's tags (or
-- its key) replaces its tag rows. A statement trigger here cost every update of versions ~2x.
CREATE FUNCTION version_tags_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM version_tags WHERE model = OLD.model AND number = OLD.number;
    INSERT INTO version_tags (model, number, key, value)
    SELECT NEW.model, NEW.number, t.key, t.value FROM jsonb_each_text(NEW.tags) t(key, value)
    WHERE t.value IS NOT NULL AND octet_length(t.key) + octet_length(t.value) <= 2000;
    RETURN NULL;
END $$;

CREATE FUNCTION version_tags_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM version_tags t USING old_rows o WHERE t.model = o.model AND t.number = o.number;
    RETURN NULL;
END $$;

CREATE FUNCTION version_tags_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE version_tags;
    RETURN NULL;
END $$;

CREATE TRIGGER version_tags_insert AFTER INSERT ON versions
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION version_tags_inserted();
CREATE TRIGGER version_tags_update AFTER UPDATE ON versions FOR EACH ROW
    WHEN (OLD.tags IS DISTINCT FROM NEW.tags OR OLD.model IS DISTINCT FROM NEW.model OR OLD.number IS DISTINCT FROM NEW.number)
    EXECUTE FUNCTION version_tags_updated();
CREATE TRIGGER version_tags_delete AFTER DELETE ON versions
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION version_tags_deleted();
CREATE TRIGGER version_tags_truncate AFTER TRUNCATE ON versions
    FOR EACH STATEMENT EXECUTE FUNCTION version_tags_truncated();

-- The tags of the versions the catalog holds already.
INSERT INTO version_tags (model, number, key, value)
SELECT v.model, v.number, t.key, t.value FROM versions v, jsonb_each_text(v.tags) t(key, value)
WHERE t.value IS NOT NULL AND octet_length(t.key) + octet_length(t.value) <= 2000;
