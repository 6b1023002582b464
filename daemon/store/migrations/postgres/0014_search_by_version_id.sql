-- A search by tag and metric keyed by the integer version id, and a metric's range naming each
-- version once. PostgreSQL only (see the DuckDB migration 14).
--
-- `metrics.auc > 0.9 AND tags.team = "risk"` at 1M versions took ~150 ms of backend CPU from the
-- indexes of migrations 7 and 8 (store/keyed.py): a third of it grouping the metric's range by
-- version (a version has a metric_summary row per split), another third intersecting the metric's
-- versions with the tag's by text (model, number) keys. Here both sides name a version by its
-- `vid` (a bigint, which merges and hashes far faster than text plus number), and the metric's
-- side reads a table of each version's largest value per key, so its range needs no grouping.
-- Each side still carries (model, number), the key the page's sort breaks ties by.
--
-- Both tables are derived, like indexes: kept by the triggers below in the transaction that
-- changes their sources, written by no code, left out of a catalog copy (the destination's
-- own triggers derive them).

-- version_tags: the version id beside (model, number). Its search index now ends in vid.
ALTER TABLE version_tags ADD COLUMN vid bigint;
UPDATE version_tags t SET vid = v.vid FROM versions v WHERE v.model = t.model AND v.number = t.number;
-- A row whose version is gone cannot be searched for; none should exist, since the triggers of
-- migration 8 delete a version's rows with it.
DELETE FROM version_tags WHERE vid IS NULL;
ALTER TABLE version_tags ALTER COLUMN vid SET NOT NULL;
DROP INDEX version_tags_key_value;
CREATE INDEX version_tags_key_value ON version_tags (key, value, vid) INCLUDE (model, number);

-- The archived versions, by vid as well as by (model, number): a search leaves them out by id.
DROP INDEX versions_archived;
CREATE INDEX versions_archived ON versions (model, number, vid) WHERE status = 'archived';

CREATE OR REPLACE FUNCTION version_tags_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO version_tags (model, number, key, value, vid)
    SELECT n.model, n.number, t.key, t.value, n.vid FROM new_rows n, jsonb_each_text(n.tags) t(key, value)
    WHERE t.value IS NOT NULL AND octet_length(t.key) + octet_length(t.value) <= 2000;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION version_tags_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM version_tags WHERE model = OLD.model AND number = OLD.number;
    INSERT INTO version_tags (model, number, key, value, vid)
    SELECT NEW.model, NEW.number, t.key, t.value, NEW.vid FROM jsonb_each_text(NEW.tags) t(key, value)
    WHERE t.value IS NOT NULL AND octet_length(t.key) + octet_length(t.value) <= 2000;
    RETURN NULL;
END $$;

DROP TRIGGER version_tags_update ON versions;
CREATE TRIGGER version_tags_update AFTER UPDATE ON versions FOR EACH ROW
    WHEN (OLD.tags IS DISTINCT FROM NEW.tags OR OLD.model IS DISTINCT FROM NEW.model
          OR OLD.number IS DISTINCT FROM NEW.number OR OLD.vid IS DISTINCT FROM NEW.vid)
    EXECUTE FUNCTION version_tags_updated();

-- One row per version and metric key: the largest value of that key over the version's
-- metric_summary rows (one per split), the value a search sorts by and a lower bound tests.
CREATE TABLE version_metric_peaks (
    vid     bigint NOT NULL,
    key     text   NOT NULL,
    value   double precision NOT NULL,
    model   text   NOT NULL,
    number  bigint NOT NULL
);
-- The peaks of the metrics the catalog holds already, before the indexes: building an index over
-- the filled table packs its pages; filling an indexed one left its index ~1.3x larger at 1M versions.
INSERT INTO version_metric_peaks (vid, key, value, model, number)
SELECT v.vid, ms.key, max(ms.value), v.model, v.number
FROM metric_summary ms JOIN versions v ON v.model = ms.model AND v.number = ms.number
GROUP BY v.vid, ms.key, v.model, v.number;
-- A version's own rows, found when its metrics change; the key a write's upsert conflicts on.
CREATE UNIQUE INDEX version_metric_peaks_version ON version_metric_peaks (vid, key) INCLUDE (value);
-- A metric's range, answered from the index alone, with what the page sorts and breaks ties by.
CREATE INDEX version_metric_peaks_key_value ON version_metric_peaks (key, value, vid) INCLUDE (model, number);

-- New rows can only raise a peak: an upsert, the cost a registration's metrics add.
CREATE FUNCTION version_metric_peaks_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO version_metric_peaks (vid, key, value, model, number)
    SELECT v.vid, n.key, max(n.value), v.model, v.number
    FROM new_rows n JOIN versions v ON v.model = n.model AND v.number = n.number
    GROUP BY v.vid, n.key, v.model, v.number
    ON CONFLICT (vid, key) DO UPDATE SET value = greatest(version_metric_peaks.value, excluded.value);
    RETURN NULL;
END $$;

-- Rows gone or changed: the peaks of the (version, key) pairs they name are recomputed from
-- metric_summary as it is now. A pair whose rows are all gone loses its peak, and a peak can go
-- down (a split's latest value replaced by a lower one). A pair whose (model, number) no version
-- has now is skipped: that version's own triggers keep its peaks (below).
CREATE FUNCTION version_metric_peaks_recompute(models text[], numbers bigint[], keys text[])
RETURNS void LANGUAGE sql AS $$
    DELETE FROM version_metric_peaks k
    USING unnest(models, numbers, keys) a(model, number, key) JOIN versions v ON v.model = a.model AND v.number = a.number
    WHERE k.vid = v.vid AND k.key = a.key;
    INSERT INTO version_metric_peaks (vid, key, value, model, number)
    SELECT v.vid, a.key, max(ms.value), v.model, v.number
    FROM (SELECT DISTINCT * FROM unnest(models, numbers, keys) u(model, number, key)) a
    JOIN versions v ON v.model = a.model AND v.number = a.number
    JOIN metric_summary ms ON ms.model = a.model AND ms.number = a.number AND ms.key = a.key
    GROUP BY v.vid, a.key, v.model, v.number;
$$;

CREATE FUNCTION version_metric_peaks_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM version_metric_peaks_recompute(array_agg(o.model), array_agg(o.number), array_agg(o.key)) FROM old_rows o;
    RETURN NULL;
END $$;

-- Both the pairs a row left and those it moved to (a rename changes the key of a version's rows).
CREATE FUNCTION version_metric_peaks_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM version_metric_peaks_recompute(array_agg(c.model), array_agg(c.number), array_agg(c.key))
    FROM (SELECT o.model, o.number, o.key FROM old_rows o UNION SELECT n.model, n.number, n.key FROM new_rows n) c;
    RETURN NULL;
END $$;

CREATE FUNCTION version_metric_peaks_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE version_metric_peaks;
    RETURN NULL;
END $$;

CREATE TRIGGER version_metric_peaks_insert AFTER INSERT ON metric_summary
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION version_metric_peaks_inserted();
CREATE TRIGGER version_metric_peaks_delete AFTER DELETE ON metric_summary
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION version_metric_peaks_deleted();
CREATE TRIGGER version_metric_peaks_update AFTER UPDATE ON metric_summary
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION version_metric_peaks_updated();
CREATE TRIGGER version_metric_peaks_truncate AFTER TRUNCATE ON metric_summary
    FOR EACH STATEMENT EXECUTE FUNCTION version_metric_peaks_truncated();

-- The versions' side. A version inserted after its metric rows (a catalog copy may write the
-- tables in any order) takes its peaks from them; a deleted one loses its peaks; a version whose
-- key changes (a model's rename) carries them over, recomputed from metric_summary under its new
-- key, whichever of the two tables the rename updates first.
CREATE FUNCTION version_metric_peaks_versions_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO version_metric_peaks (vid, key, value, model, number)
    SELECT n.vid, ms.key, max(ms.value), n.model, n.number
    FROM new_rows n JOIN metric_summary ms ON ms.model = n.model AND ms.number = n.number
    GROUP BY n.vid, ms.key, n.model, n.number
    ON CONFLICT (vid, key) DO UPDATE SET value = excluded.value, model = excluded.model, number = excluded.number;
    RETURN NULL;
END $$;

CREATE FUNCTION version_metric_peaks_versions_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM version_metric_peaks k USING old_rows o WHERE k.vid = o.vid;
    RETURN NULL;
END $$;

CREATE FUNCTION version_metric_peaks_versions_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM version_metric_peaks WHERE vid = OLD.vid;
    INSERT INTO version_metric_peaks (vid, key, value, model, number)
    SELECT NEW.vid, ms.key, max(ms.value), NEW.model, NEW.number
    FROM metric_summary ms WHERE ms.model = NEW.model AND ms.number = NEW.number
    GROUP BY ms.key;
    RETURN NULL;
END $$;

CREATE TRIGGER version_metric_peaks_versions_insert AFTER INSERT ON versions
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION version_metric_peaks_versions_inserted();
CREATE TRIGGER version_metric_peaks_versions_delete AFTER DELETE ON versions
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION version_metric_peaks_versions_deleted();
-- A row trigger whose WHEN the server tests without calling a function: the updates of a status
-- or of the metrics column (most of them) cost nothing here.
CREATE TRIGGER version_metric_peaks_versions_update AFTER UPDATE ON versions FOR EACH ROW
    WHEN (OLD.model IS DISTINCT FROM NEW.model OR OLD.number IS DISTINCT FROM NEW.number OR OLD.vid IS DISTINCT FROM NEW.vid)
    EXECUTE FUNCTION version_metric_peaks_versions_updated();
CREATE TRIGGER version_metric_peaks_versions_truncate AFTER TRUNCATE ON versions
    FOR EACH STATEMENT EXECUTE FUNCTION version_metric_peaks_truncated();
