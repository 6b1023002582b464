-- DuckDB only (its migration 20 marks catalogs whose registrations may be journaled beside the
-- file). Kept as a migration that changes nothing so that both backends carry the same numbers.
SELECT 1;
