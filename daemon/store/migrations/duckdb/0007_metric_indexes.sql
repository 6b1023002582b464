-- Indexes for searches by metric: PostgreSQL only (see the PostgreSQL migration 7). DuckDB
-- answers a metric filter or sort with hash joins over its columns, not through an index, and the
-- two indexes grew a catalog's file ~4x (measured at 100k versions). Kept as a migration that
-- changes nothing so that both backends carry the same numbers.
SELECT 1;
