"""The PostgreSQL catalog. Everything here imports psycopg, so nothing on the daemon's default
path (a DuckDB file) imports this package: only a `postgresql://` catalog brings it in."""
