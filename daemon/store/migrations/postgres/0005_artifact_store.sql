-- The artifact store. Versions from before it are referenced, not kept.
ALTER TABLE versions ADD COLUMN IF NOT EXISTS kept boolean DEFAULT false;
