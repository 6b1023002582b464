-- The production metrics of migration 10 (built beside the input statistics of migration 11).
SELECT 1;
