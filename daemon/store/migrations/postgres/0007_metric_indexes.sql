-- Indexes for searches by metric. A filter on a metric (`metrics.auc > 0.9`) reads the matching
-- (key, value) range; a sort by a metric looks each matched version's value up by (model, number,
-- key). Without them PostgreSQL scanned and sorted every metric row of the catalog for each such
-- search (~0.6 s at 100k versions). Both carry every column the search reads, so they are
-- answered from the index alone.
--
-- PostgreSQL only: DuckDB answers these searches with hash joins over its columns and does not
-- use an index for a range or a join; the same two indexes there grew a catalog file ~4x and
-- every metric write would maintain them for nothing (see the DuckDB migration 7).
CREATE INDEX metric_summary_key_value ON metric_summary (key, value, model, number);
CREATE INDEX metric_summary_version ON metric_summary (model, number, key, value);
