-- A search keyed by version id over derived tag and metric-peak tables: PostgreSQL only (see the
-- PostgreSQL migration 14, tables derived by triggers). DuckDB answers the same searches by
-- scanning its columns and has no triggers. Kept as a migration that changes nothing so that
-- both backends carry the same numbers.
SELECT 1;
