-- Registrations may now be journaled beside the catalog file before they join it
-- (store/journal.py). A studbook from before this schema would not read the journal and would
-- serve the catalog without them; the version number makes it refuse the catalog instead.
SELECT 1;
