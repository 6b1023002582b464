"""Moving a whole catalog between backends, table by table and set-wise: the SQL of `catalog copy`.

Each side of a copy is a `CopySide`: a DuckDB file or a PostgreSQL database. A table travels
as one CSV file written by the source's own engine (DuckDB's COPY TO, PostgreSQL's COPY TO
STDOUT) and read by the destination's (PostgreSQL's COPY FROM STDIN, DuckDB's read_csv inside
an INSERT ... SELECT): no row crosses into Python, so a million versions cost what the two
engines' bulk paths cost, not a round trip each.

The CSV is an interchange form both engines read and write alike: NULL is an unquoted empty
field and an empty string a quoted one; times are naive UTC text; binary values are `\\x` and
lowercase hex (PostgreSQL's bytea text); JSON is its text; booleans and numbers are each
engine's own text, which the other parses (checked by the round-trip tests).

The destination's rows are written inside one transaction, left open until the caller has
verified them (`counts`, `reads`), and then committed or rolled back.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import duckdb
from studbook.daemon.store import cluster, engine, staging
from studbook.daemon.store.catalog import fetched, to_db
from studbook.daemon.store.dialect import DUCKDB, Dialect
from studbook.daemon.store.postgres.migrate import POSTGRES_ONLY_TABLES
from studbook.daemon.store.reads import CatalogReads
from studbook.daemon.store.records import StoreError, first_line

Kind = Literal["text", "json", "int", "float", "bool", "time", "blob"]

# information_schema's data_type of each backend's columns, as the interchange knows them.
_KINDS: dict[str, Kind] = {
    "VARCHAR": "text", "JSON": "json", "BIGINT": "int", "DOUBLE": "float", "BOOLEAN": "bool",
    "TIMESTAMP": "time", "BLOB": "blob",
    "text": "text", "jsonb": "json", "bigint": "int", "double precision": "float", "boolean": "bool",
    "timestamp with time zone": "time", "bytea": "blob",
}  # fmt: skip

SEQUENCE = "version_ids"
# meta's own row that each side keeps: the destination's migrations wrote it.
SCHEMA_KEY = "schema_version"
# A model card or a drop's details may be long; DuckDB's CSV reader refuses longer lines.
_MAX_LINE = 1 << 30
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _kind(table: str, column: str, data_type: str) -> Kind:
    kind = _KINDS.get(data_type)
    if kind is None:
        raise StoreError(f"the column {table}.{column} has the type {data_type}, which a catalog copy does not "
                         "know; copy with the studbook that made this catalog", reason="COPY_UNKNOWN_TYPE")  # fmt: skip
    return kind


class CopySide:
    """One end of a copy. Subclasses speak their backend's SQL."""

    dialect: Dialect
    location: str

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    # Which schema's tables are the catalog's, in each backend's terms.
    catalog_schema: str

    def tables(self) -> dict[str, list[Column]]:
        """Each base table of the catalog and its columns in their order."""
        found: dict[str, list[Column]] = {}
        for table, column, data_type in self.query(
            "SELECT c.table_name, c.column_name, c.data_type FROM information_schema.columns c "
            "JOIN information_schema.tables t USING (table_catalog, table_schema, table_name) "
            f"WHERE {self.catalog_schema} AND t.table_type = 'BASE TABLE' "
            "ORDER BY c.table_name, c.ordinal_position"
        ):
            # A re-clustering's scratch copy, dropped at the next open; DuckDB's staged rows,
            # settled before a copy reads the file; a table PostgreSQL's triggers derive, which
            # the destination derives for itself.
            if table not in (cluster.BUILDING, staging.TABLE) and table not in POSTGRES_ONLY_TABLES:
                found.setdefault(table, []).append(Column(column, _kind(table, column, data_type)))
        return found

    def schema_version(self) -> int:
        """The catalog's schema version; 0 where there is no catalog (no meta table)."""
        if "meta" not in self.tables():
            return 0
        found = self.query("SELECT value FROM meta WHERE key = ?", [SCHEMA_KEY])
        return int(found[0][0]) if found else 0

    def count(self, table: str) -> int:
        return int(self.query(f"SELECT count(*) FROM {_quoted(table)}")[0][0])

    def sequence_used(self) -> int:
        """The highest version handle the sequence gave out (0: none)."""
        raise NotImplementedError

    def reads(self) -> CatalogReads:
        """The shared read queries on this side's connection (inside its open transaction)."""
        return _Reads(self.dialect, self.query)

    def export(self, table: str, columns: Sequence[Column], path: Path, where: str = "") -> None:
        raise NotImplementedError

    def load(self, table: str, columns: Sequence[Column], path: Path) -> None:
        raise NotImplementedError

    def set_sequence_at_least(self, used: int) -> None:
        raise NotImplementedError

    def begin_write(self) -> None:
        raise NotImplementedError

    def commit(self) -> None:
        raise NotImplementedError

    def rollback(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class _Reads(CatalogReads):
    def __init__(self, dialect: Dialect, run: Any) -> None:
        self.dialect = dialect
        self._run = run

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        result: list[tuple[Any, ...]] = self._run(sql, params)
        return result


class DuckDBSide(CopySide):
    """A DuckDB catalog file, read in one snapshot or written in one transaction."""

    dialect = DUCKDB
    catalog_schema = "c.table_catalog = current_database() AND c.table_schema = 'main'"

    def __init__(self, path: Path, *, read_only: bool) -> None:
        self.location = str(path)
        try:
            # Written as the daemon writes it, in row groups of its size (store/engine.py).
            self._conn = duckdb.connect(str(path), read_only=True) if read_only else engine.connect(path)
        except duckdb.Error as exc:
            raise StoreError(f"cannot open the catalog {path}: {first_line(exc)}") from exc
        if read_only:
            # One snapshot for every table read, so counts and rows agree.
            self._conn.execute("BEGIN TRANSACTION")

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            return fetched(self._conn.execute(sql, to_db(params)))
        except duckdb.Error as exc:
            raise StoreError(f"reading {self.location} failed: {first_line(exc)}") from exc

    def sequence_used(self) -> int:
        found = self.query(
            "SELECT last_value FROM duckdb_sequences() WHERE database_name = current_database() AND sequence_name = ?",
            [SEQUENCE],
        )
        return int(found[0][0]) if found and found[0][0] is not None else 0

    def export(self, table: str, columns: Sequence[Column], path: Path, where: str = "") -> None:
        select = ", ".join(_duckdb_text(column) for column in columns)
        self._run(f"COPY (SELECT {select} FROM {_quoted(table)} {where}) TO {engine.sql_text(str(path))} "
                  "(FORMAT csv, HEADER false)")  # fmt: skip

    def load(self, table: str, columns: Sequence[Column], path: Path) -> None:
        if path.stat().st_size == 0:
            return  # read_csv wants at least one line
        names = ", ".join(_quoted(column.name) for column in columns)
        fields = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(columns))) + "}"
        values = ", ".join(_duckdb_value(f"c{i}", column.kind) for i, column in enumerate(columns))
        self._run(
            f"INSERT INTO {_quoted(table)} ({names}) SELECT {values} FROM read_csv({engine.sql_text(str(path))}, "
            f"columns = {fields}, header = false, delim = ',', quote = '\"', escape = '\"', "
            f"allow_quoted_nulls = false, auto_detect = false, new_line = '\\n', max_line_size = {_MAX_LINE})"
        )

    def set_sequence_at_least(self, used: int) -> None:
        # DuckDB has no setval: the sequence is walked forward, set-wise, to where the source's stood.
        missing = used - self.sequence_used()
        if missing > 0:
            self._run(f"SELECT count(nextval('{SEQUENCE}')) FROM range({int(missing)})")

    def begin_write(self) -> None:
        self._run("BEGIN TRANSACTION")

    def commit(self) -> None:
        self._run("COMMIT")
        # Into the file now rather than the log, as the migrations do (see Catalog._migrate).
        self._run("CHECKPOINT")

    def rollback(self) -> None:
        try:
            self._conn.execute("ROLLBACK")
        except duckdb.Error:
            pass  # nothing open

    def close(self) -> None:
        try:
            self._conn.close()
        except duckdb.Error:
            pass

    def _run(self, sql: str) -> None:
        try:
            self._conn.execute(sql)
        except duckdb.Error as exc:
            raise StoreError(f"copying to or from {self.location} failed: {first_line(exc)}",
                             reason="COPY_FAILED") from exc  # fmt: skip


def _duckdb_text(column: Column) -> str:
    name = _quoted(column.name)
    if column.kind == "time":
        return f"strftime({name}, '%Y-%m-%d %H:%M:%S.%f')"
    if column.kind == "blob":
        return f"'\\x' || lower(hex({name}))"
    return name


def _duckdb_value(field: str, kind: Kind) -> str:
    return {
        "text": field,
        "json": f"{field}::JSON",
        "int": f"{field}::BIGINT",
        "float": f"{field}::DOUBLE",
        "bool": f"{field}::BOOLEAN",
        "time": f"{field}::TIMESTAMP",
        "blob": f"unhex(substr({field}, 3))",
    }[kind]


def copy_table(source: CopySide, destination: CopySide, table: str, columns: Sequence[Column], folder: Path,
               where: str = "") -> None:  # fmt: skip
    """One table from `source` into `destination`, through a CSV file in `folder` removed after."""
    path = folder / f"{table}.csv"
    try:
        source.export(table, columns, path, where)
        destination.load(table, columns, path)
    finally:
        path.unlink(missing_ok=True)


def remove_catalog_files(path: Path) -> None:
    """A DuckDB catalog the copy created, with its log, when the copy did not finish."""
    for leftover in (path, path.with_name(path.name + ".wal")):
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)
