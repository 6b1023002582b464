-- PostgreSQL only (its migration 21 spares untagged versions the tag-code triggers, which DuckDB
-- has not). Kept as a migration that changes nothing so that both backends carry the same numbers.
SELECT 1;
