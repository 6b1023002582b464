-- PostgreSQL only (its migration 18 rewrites a function of its migration 17). Kept as a
-- migration that changes nothing so that both backends carry the same numbers.
SELECT 1;
