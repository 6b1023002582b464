-- The tag index of a search: PostgreSQL only (see the PostgreSQL migration 8, a table derived
-- from versions.tags by triggers, and a partial index of archived versions). DuckDB tests a tag
-- on the versions.tags column it scans anyway, at a cost measured in tens of milliseconds at 1M
-- versions, and has neither triggers nor partial indexes. Kept as a migration that changes
-- nothing so that both backends carry the same numbers.
SELECT 1;
