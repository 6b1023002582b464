-- Each model's version count and newest version number, kept on its row by the writer in the
-- transaction that changes its versions, so start-up reads one row per model instead of
-- grouping every version. Filled here from the versions a catalog already holds.
ALTER TABLE models ADD COLUMN IF NOT EXISTS version_count bigint DEFAULT 0;
ALTER TABLE models ADD COLUMN IF NOT EXISTS latest_version bigint DEFAULT 0;
UPDATE models SET version_count = v.n, latest_version = v.top
FROM (SELECT model, count(*) AS n, max(number) AS top FROM versions GROUP BY model) v
WHERE models.name = v.model;
