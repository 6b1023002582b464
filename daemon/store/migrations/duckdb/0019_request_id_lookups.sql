-- PostgreSQL only (its migration 19 indexes request ids for the writer's look-ups). DuckDB scans
-- the column in about a millisecond at 100,000 models, and an index would cost every write of
-- those tables. Kept as a migration that changes nothing so that both backends carry the same
-- numbers.
SELECT 1;
