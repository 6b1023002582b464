-- The codes of a version's tags beside its metric peaks: PostgreSQL only (see the PostgreSQL
-- migration 17, which extends the derived tables of its migrations 8 and 14). DuckDB tests a tag
-- on the versions.tags column it scans. Kept as a migration that changes nothing so that both
-- backends carry the same numbers.
SELECT 1;
