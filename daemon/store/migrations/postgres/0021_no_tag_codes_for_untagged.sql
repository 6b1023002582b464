-- The triggers that keep tag codes (migration 17) do nothing for a version without tags, but did
-- it at a cost on every registration: tag_codes_add planned and ran its insert for every
-- statement that inserts versions, and tag_codes_of was called (and its body planned) for each
-- new version's peaks. Measured with pg_stat_statements, two daemons registering untagged
-- versions side by side: ~85 us of the server's time a version, a fifth of all it spent, every
-- microsecond of it inside the write lock that every daemon's writes wait for. Now a version
-- without tags takes the empty codes it would have got, with no call.

CREATE OR REPLACE FUNCTION tag_codes_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT FROM new_rows n WHERE n.tags <> '{}'::jsonb) THEN
        PERFORM tag_codes_add(array_agg(n.tags)) FROM new_rows n WHERE n.tags <> '{}'::jsonb;
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION version_metric_peaks_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- (model, number) is versions' primary key, so v.tags is one value in each group.
    WITH peaks AS (
        SELECT v.vid, n.key, max(n.value) AS value, v.model, v.number, v.tags
        FROM new_rows n JOIN versions v ON v.model = n.model AND v.number = n.number
        GROUP BY v.vid, n.key, v.model, v.number
    ), codes AS MATERIALIZED (
        SELECT p.vid, CASE WHEN p.tags = '{}'::jsonb THEN '{}'::bigint[] ELSE tag_codes_of(p.tags) END AS codes
        FROM (SELECT DISTINCT ON (vid) vid, tags FROM peaks) p
    )
    INSERT INTO version_metric_peaks (vid, key, value, model, number, tag_codes)
    SELECT p.vid, p.key, p.value, p.model, p.number, c.codes FROM peaks p JOIN codes c ON c.vid = p.vid
    ON CONFLICT (vid, key) DO UPDATE SET value = greatest(version_metric_peaks.value, excluded.value);
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION version_metric_peaks_versions_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- A registration's versions come before their metric rows: no peaks, and no codes looked up.
    WITH peaks AS (
        SELECT n.vid, ms.key, max(ms.value) AS value, n.model, n.number
        FROM new_rows n JOIN metric_summary ms ON ms.model = n.model AND ms.number = n.number
        GROUP BY n.vid, ms.key, n.model, n.number
    ), codes AS MATERIALIZED (
        SELECT n.vid, CASE WHEN n.tags = '{}'::jsonb THEN '{}'::bigint[] ELSE tag_codes_of(n.tags) END AS codes
        FROM new_rows n WHERE n.vid IN (SELECT vid FROM peaks)
    )
    INSERT INTO version_metric_peaks (vid, key, value, model, number, tag_codes)
    SELECT p.vid, p.key, p.value, p.model, p.number, c.codes FROM peaks p JOIN codes c ON c.vid = p.vid
    ON CONFLICT (vid, key) DO UPDATE
    SET value = excluded.value, model = excluded.model, number = excluded.number, tag_codes = excluded.tag_codes;
    RETURN NULL;
END $$;
