-- The audit chain. Existing events get their hashes when the daemon next starts.
ALTER TABLE events ADD COLUMN chain_hash text DEFAULT '';
