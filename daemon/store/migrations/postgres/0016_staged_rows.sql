-- Staged rows: DuckDB only (see the DuckDB migration 16). A PostgreSQL statement costs little
-- beside its rows, so its commits write every row into its table. Kept as a migration that
-- changes nothing so that both backends carry the same numbers.
SELECT 1;
