"""Drop-in folders: watchdog events become debounced, idempotent scans and register calls."""
