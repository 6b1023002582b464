-- An index of versions by revision: PostgreSQL only (see the PostgreSQL migration 15), for the
-- daemons that share its catalog. A DuckDB file has one daemon, which never reads what others
-- changed. Kept as a migration that changes nothing so that both backends carry the same numbers.
SELECT 1;
