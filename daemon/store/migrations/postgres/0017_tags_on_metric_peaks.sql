-- A search by metric and tag read from one index range. PostgreSQL only (see the DuckDB migration 17).
--
-- `metrics.auc > 0.9 AND tags.team = "risk"` at 1M versions joined the metric's range (103k rows
-- of version_metric_peaks) to the tag's (333k rows of version_tags) by version id: 143 ms of one
-- backend, 84 ms across two parallel workers, the probes of the join most of it, and the figure
-- rose whenever another process held a core. Each row of version_metric_peaks now also carries
-- the codes of its version's tags, so the metric's range is read once and each of its entries
-- tested for the tag: 36 ms on one backend, the same plan at any load (store/keyed.py).
--
-- A tag's code numbers its (key, value) pair in tag_codes, as a dictionary encodes: a version may
-- hold 64 tags of up to 1 KB each, more than an index entry holds, while its codes take 8 bytes
-- each, and a code names exactly one pair (a hash would not). The pairs are those version_tags
-- holds (key and value within 2000 bytes together); a pair keeps its code once given, as a
-- dictionary does, so a code is never reused for another pair.
--
-- Like version_tags and version_metric_peaks, tag_codes is derived by triggers, written by no
-- code and left out of a catalog copy. At 1M versions of two tags each, the codes add ~390 MB to
-- version_metric_peaks and ~240 MB to its range index (a row per version and metric key).

CREATE SEQUENCE tag_codes_code;
CREATE TABLE tag_codes (
    code  bigint NOT NULL DEFAULT nextval('tag_codes_code'),
    key   text   NOT NULL,
    value text   NOT NULL
);
ALTER SEQUENCE tag_codes_code OWNED BY tag_codes.code;
INSERT INTO tag_codes (key, value) SELECT DISTINCT key, value FROM version_tags;
CREATE UNIQUE INDEX tag_codes_pair ON tag_codes (key, value) INCLUDE (code);

-- The codes of a version's tags, from `tags` as versions.tags holds them. A pair without a code
-- (too long for the tag index, or a JSON null) has none. Each pair is looked up by the index:
-- written as a join, the planner hashed all of tag_codes for every version (~85 us against ~8).
CREATE FUNCTION tag_codes_of(tags jsonb) RETURNS bigint[] LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT ARRAY(SELECT found.code FROM (SELECT (SELECT c.code FROM tag_codes c WHERE c.key = t.key AND c.value = t.value) AS code
                                         FROM jsonb_each_text(tags) t(key, value)) found
                 WHERE found.code IS NOT NULL)
$$;

-- version_metric_peaks again, with the codes, built whole before its indexes (as migration 14
-- built it): adding a column and updating every row would leave a dead copy of each behind.
DROP INDEX version_metric_peaks_key_value;
DROP INDEX version_metric_peaks_version;
ALTER TABLE version_metric_peaks RENAME TO version_metric_peaks_before;
CREATE TABLE version_metric_peaks (
    vid       bigint NOT NULL,
    key       text   NOT NULL,
    value     double precision NOT NULL,
    model     text   NOT NULL,
    number    bigint NOT NULL,
    tag_codes bigint[] NOT NULL
);
-- MATERIALIZED: each version's codes are looked up once, not once for each of its metric keys.
WITH codes AS MATERIALIZED (
    SELECT v.vid, tag_codes_of(v.tags) AS codes FROM versions v WHERE v.tags <> '{}'::jsonb
)
INSERT INTO version_metric_peaks (vid, key, value, model, number, tag_codes)
SELECT p.vid, p.key, p.value, p.model, p.number, coalesce(c.codes, '{}')
FROM version_metric_peaks_before p LEFT JOIN codes c ON c.vid = p.vid;
DROP TABLE version_metric_peaks_before;
CREATE UNIQUE INDEX version_metric_peaks_version ON version_metric_peaks (vid, key) INCLUDE (value);
-- A metric's range, with what the page sorts and breaks ties by, and the tags it is tested for.
CREATE INDEX version_metric_peaks_key_value ON version_metric_peaks (key, value, vid) INCLUDE (model, number, tag_codes);

-- Codes for the pairs of `tags` (each a versions.tags) that have none yet, within the tag
-- index's bound. Each pair is looked up by the index, as in tag_codes_of.
CREATE FUNCTION tag_codes_add(tags jsonb[]) RETURNS void LANGUAGE sql AS $$
    INSERT INTO tag_codes (key, value)
    SELECT DISTINCT t.key, t.value FROM unnest(tags) a(tags), jsonb_each_text(a.tags) t(key, value)
    WHERE t.value IS NOT NULL AND octet_length(t.key) + octet_length(t.value) <= 2000
      AND (SELECT c.code FROM tag_codes c WHERE c.key = t.key AND c.value = t.value) IS NULL
    ON CONFLICT (key, value) DO NOTHING;
$$;

-- New versions' pairs get their codes before any peak is written. Statement triggers of one
-- event fire in the order of their names: `tag_codes_insert` before `version_metric_peaks_...`.
CREATE FUNCTION tag_codes_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM tag_codes_add(array_agg(n.tags)) FROM new_rows n;
    RETURN NULL;
END $$;

CREATE TRIGGER tag_codes_insert AFTER INSERT ON versions
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION tag_codes_inserted();

-- A version's tags changed: their pairs get codes, and its peaks the new codes. This row trigger
-- fires after version_metric_peaks_versions_update (names again), which moves a version's peaks
-- to its new key, so the peaks it updates are the version's as they are now.
CREATE OR REPLACE FUNCTION version_tags_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM version_tags WHERE model = OLD.model AND number = OLD.number;
    INSERT INTO version_tags (model, number, key, value, vid)
    SELECT NEW.model, NEW.number, t.key, t.value, NEW.vid FROM jsonb_each_text(NEW.tags) t(key, value)
    WHERE t.value IS NOT NULL AND octet_length(t.key) + octet_length(t.value) <= 2000;
    PERFORM tag_codes_add(ARRAY[NEW.tags]);
    UPDATE version_metric_peaks SET tag_codes = tag_codes_of(NEW.tags) WHERE vid = NEW.vid;
    RETURN NULL;
END $$;

-- The peaks' writers of migration 14, each now writing the version's codes beside its peaks.
CREATE OR REPLACE FUNCTION version_metric_peaks_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- (model, number) is versions' primary key, so v.tags is one value in each group.
    WITH peaks AS (
        SELECT v.vid, n.key, max(n.value) AS value, v.model, v.number, v.tags
        FROM new_rows n JOIN versions v ON v.model = n.model AND v.number = n.number
        GROUP BY v.vid, n.key, v.model, v.number
    ), codes AS MATERIALIZED (
        SELECT p.vid, tag_codes_of(p.tags) AS codes FROM (SELECT DISTINCT ON (vid) vid, tags FROM peaks) p
    )
    INSERT INTO version_metric_peaks (vid, key, value, model, number, tag_codes)
    SELECT p.vid, p.key, p.value, p.model, p.number, c.codes FROM peaks p JOIN codes c ON c.vid = p.vid
    ON CONFLICT (vid, key) DO UPDATE SET value = greatest(version_metric_peaks.value, excluded.value);
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION version_metric_peaks_recompute(models text[], numbers bigint[], keys text[])
RETURNS void LANGUAGE sql AS $$
    DELETE FROM version_metric_peaks k
    USING unnest(models, numbers, keys) a(model, number, key) JOIN versions v ON v.model = a.model AND v.number = a.number
    WHERE k.vid = v.vid AND k.key = a.key;
    -- (model, number) is versions' primary key, so v.tags is one value in each group.
    INSERT INTO version_metric_peaks (vid, key, value, model, number, tag_codes)
    SELECT v.vid, a.key, max(ms.value), v.model, v.number, tag_codes_of(v.tags)
    FROM (SELECT DISTINCT * FROM unnest(models, numbers, keys) u(model, number, key)) a
    JOIN versions v ON v.model = a.model AND v.number = a.number
    JOIN metric_summary ms ON ms.model = a.model AND ms.number = a.number AND ms.key = a.key
    GROUP BY v.vid, a.key, v.model, v.number;
$$;

CREATE OR REPLACE FUNCTION version_metric_peaks_versions_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- A registration's versions come before their metric rows: no peaks, and no codes looked up.
    WITH peaks AS (
        SELECT n.vid, ms.key, max(ms.value) AS value, n.model, n.number
        FROM new_rows n JOIN metric_summary ms ON ms.model = n.model AND ms.number = n.number
        GROUP BY n.vid, ms.key, n.model, n.number
    ), codes AS MATERIALIZED (
        SELECT n.vid, tag_codes_of(n.tags) AS codes FROM new_rows n WHERE n.vid IN (SELECT vid FROM peaks)
    )
    INSERT INTO version_metric_peaks (vid, key, value, model, number, tag_codes)
    SELECT p.vid, p.key, p.value, p.model, p.number, c.codes FROM peaks p JOIN codes c ON c.vid = p.vid
    ON CONFLICT (vid, key) DO UPDATE
    SET value = excluded.value, model = excluded.model, number = excluded.number, tag_codes = excluded.tag_codes;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION version_metric_peaks_versions_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM version_metric_peaks WHERE vid = OLD.vid;
    INSERT INTO version_metric_peaks (vid, key, value, model, number, tag_codes)
    SELECT NEW.vid, ms.key, max(ms.value), NEW.model, NEW.number, tag_codes_of(NEW.tags)
    FROM metric_summary ms WHERE ms.model = NEW.model AND ms.number = NEW.number
    GROUP BY ms.key;
    RETURN NULL;
END $$;
