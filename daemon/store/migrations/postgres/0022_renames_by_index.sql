-- The renames among the events: every daemon reads them at start (which name a drop or a
-- registration under a name given up should be told to use), and PostgreSQL found them by reading
-- the whole events table, one row a change: 16 ms at 100,000 versions, growing with the catalog
-- (measured). A partial index holds only the rename events, so the read costs what they number.
CREATE INDEX IF NOT EXISTS events_renames ON events (revision) WHERE type = 'model.renamed';
