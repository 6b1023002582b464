"""How the daemon opens its DuckDB file: the engine's settings and the size of the row groups
it writes.

At a checkpoint, DuckDB 1.5 writes the last row group of a table that has an index (versions,
events) anew, every row of it, however few rows were added since; and while it does, nothing
can append to that table. With DuckDB's default of 122,880 rows a group, one version added to a
catalog of 100k versions made a checkpoint of 0.5 s, during which every registration waited (one
row added to a copy of the versions table: 515 ms, measured here). A catalog checkpoints every
16 MiB of its log, about every 5,000 registrations.

Smaller groups bound that, and cost scans a little: at 1M versions the raw search of the scale
bench took 72-81 ms with DuckDB's groups, 77-86 ms with groups of 16,384 rows and 73-76 ms with
32,768; one row added to a full last group of versions made a checkpoint of 87 ms with 16,384 and
150-162 ms with 32,768 (measured here). Hence 32,768.

DuckDB takes a row group size only where a database is attached, so the file is attached to an
in-memory database and made the default one; a cursor starts on the in-memory database, so
cursors are taken through `cursor`. Groups already in a file keep the size they were written
with; new rows go into groups of the new size.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

# The daemon's DuckDB, set for a process that lives long and idles between queries.
ENGINE_SETTINGS: dict[str, str | bool | int | float | list[str]] = {
    # A query frees what it allocated (hash tables, sorts: ~40 MiB for a metric search at 1M
    # versions), but the allocator returns freed pages to the system only when it next
    # allocates in that arena, so an idle daemon kept them: 150-190 MiB after searches at 1M
    # versions. Background threads return them about a second after the query instead
    # (~130 MiB), without slowing the query itself (the same CPU per search measured here,
    # unlike flushing on the query's own thread, which made searches about twice as slow).
    "allocator_background_threads": True,
}

# Rows in each row group the catalog writes (see the module's docstring). A multiple of DuckDB's
# vector size (2,048), as it requires.
ROW_GROUP_ROWS = 32_768
# What ATTACH is given for a file the catalog writes.
ATTACH_OPTIONS = f"(ROW_GROUP_SIZE {ROW_GROUP_ROWS})"
# The name the catalog file is attached under, and every connection's default database.
DATABASE = "studbook"


def sql_text(value: str) -> str:
    """A SQL string literal, for the statements that take no parameters (ATTACH, COPY, read_csv)."""
    return "'" + value.replace("'", "''") + "'"


def connect(path: Path) -> duckdb.DuckDBPyConnection:
    """A connection whose default database is the catalog file at `path` (created if missing),
    attached so that it writes row groups of ROW_GROUP_ROWS."""
    # Where a query that outgrows memory spills: beside the file, as DuckDB puts it for a file it
    # opens itself (for an in-memory database it would be `.tmp` in the working directory).
    conn = duckdb.connect(":memory:", config={**ENGINE_SETTINGS, "temp_directory": f"{path}.tmp"})
    try:
        conn.execute(f"ATTACH {sql_text(str(path))} AS {DATABASE} {ATTACH_OPTIONS}")
        conn.execute(f"USE {DATABASE}")
    except BaseException:
        conn.close()
        raise
    return conn


def cursor(conn: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """A cursor of `conn` on the catalog file, as `conn` itself is."""
    taken = conn.cursor()
    try:
        taken.execute(f"USE {DATABASE}")
    except BaseException:
        taken.close()
        raise
    return taken


def invalidated(error: duckdb.IOException) -> bool:
    """Whether `error` says DuckDB gave up on the catalog file (a checkpoint that met a full disk
    invalidates the attached database; only a new attachment reads it again)."""
    return "has been invalidated" in str(error)
