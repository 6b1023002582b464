"""The DuckDB catalog: schema migrations, the write transaction and every read query."""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
import uuid
import weakref
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
from studbook.daemon.domain.audit import GENESIS, ChainCheck
from studbook.daemon.domain.model import Event
from studbook.daemon.store import cluster, engine, migrations, staging
from studbook.daemon.store.dialect import DUCKDB
from studbook.daemon.store.eviction import EVICT_AFTER_S, IdleEviction
from studbook.daemon.store.interface import Store, StoreTransaction
from studbook.daemon.store.journal import Journal, JournalDamaged, JournalRecord, journal_path, unabsorbed
from studbook.daemon.store.literals import MOST_LITERAL_ROWS, inlined, values_list
from studbook.daemon.store.pandas_probes import make_pandas_probes_cheap  # noqa: F401  (re-exported)
from studbook.daemon.store.reads import (  # noqa: F401  (read_version: re-exported)
    CatalogReads,
    _stored_blobs,
    read_version,
    read_versions,
)
from studbook.daemon.store.records import (  # noqa: F401  (re-exported: their home before the store interface)
    CatalogSnapshot,
    DropFileRow,
    DropRow,
    DurableCommit,
    KeptScope,
    Page,
    StoredBlob,
    StoreError,
    StoreFull,
    first_line,
    is_disk_full,
    store_error,
    wrap_store_errors,
)
from studbook.daemon.store.rows import EVENT_COLUMNS
from studbook.daemon.store.staging import (
    MOST_JOURNAL_BYTES,
    MOST_JOURNALED,
    MOST_STAGED_COMMITS,
    NUMBERED,
    STAGED_TABLES,
    BackgroundSettle,
    Staging,
    insert_staged,
    settle_staged,
    stage_rows,
    staged_values,
    worth_staging,
)
from studbook.daemon.store.writes import TransactionWrites, is_query, version_figures_join

# Each migration takes the catalog from version N-1 to N; the first creates it. They live in
# migrations/duckdb/ as numbered SQL files, beside the same numbers for PostgreSQL.
_MIGRATIONS = migrations.load("duckdb")
MIGRATIONS: tuple[str, ...] = tuple(migration.sql for migration in _MIGRATIONS)
SCHEMA_VERSION = len(MIGRATIONS)
# The schema versions from which commits stage rows (store/staging.py) and registrations may be
# journaled beside the file (store/journal.py).
STAGED_SINCE = next(migration.number for migration in _MIGRATIONS if migration.name == "staged_rows")
JOURNAL_SINCE = next(migration.number for migration in _MIGRATIONS if migration.name == "journal")

log = logging.getLogger(__name__)


def to_db(params: Sequence[Any]) -> list[Any]:
    """Aware datetimes become naive UTC: the catalog stores TIMESTAMP in UTC."""
    return [p.astimezone(UTC).replace(tzinfo=None) if isinstance(p, datetime) and p.tzinfo else p for p in params]


def run_on(conn: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """`sql`'s rows, its parameters written in where they can be (see literals): DuckDB's
    binding costs more than the statement (an UPDATE of a model row 1.1 ms bound, 0.35 ms inlined)."""
    if params and (written := inlined(sql, params)) is not None:
        return fetched(conn.execute(written))
    return fetched(conn.execute(sql, to_db(params)))


# The column types DuckDB answers with naive datetimes (TIMESTAMP WITH TIME ZONE comes aware).
_NAIVE_TIMES = frozenset({"TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS"})


def fetched(result: duckdb.DuckDBPyConnection) -> list[tuple[Any, ...]]:
    """The rows of an executed statement, its naive datetimes made aware: the catalog stores
    TIMESTAMP in UTC, so no caller has to remember. Only the columns typed TIMESTAMP are
    looked at, not every value of every row."""
    rows: list[tuple[Any, ...]] = result.fetchall()
    times = [i for i, column in enumerate(result.description or ()) if str(column[1]) in _NAIVE_TIMES]
    if not times or not rows:
        return rows
    aware = []
    for row in rows:
        cells = list(row)
        for at in times:
            cells[at] = _aware(cells[at])
        aware.append(tuple(cells))
    return aware


def _aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


# DuckDB 1.5's words when an autocheckpoint fails after a commit that did land.
_DURABLE_COMMIT = "COMMIT succeeded and is durable"


class Catalog(CatalogReads):
    """Owns the DuckDB connection. Writes go through `transaction()` on the writer thread;
    reads use a cursor per thread, which sees only committed data."""

    dialect = DUCKDB

    def __init__(self, path: Path, evict_after_s: float | None = EVICT_AFTER_S) -> None:
        """`evict_after_s`: idle seconds after which DuckDB's cached table blocks are handed
        back (store/eviction.py); None keeps them."""
        self.path = path
        self._eviction: IdleEviction | None = None
        self._conn = self._connect()
        # Bumped when the connection is replaced, so each thread knows its cursor is stale.
        self._generation = 0
        self._conn_lock = threading.Lock()
        # Times the connection was reopened after DuckDB invalidated it.
        self.reopens = 0
        self._local = threading.local()
        self._staging = Staging()
        self._staging.journal = Journal(journal_path(path))
        try:
            self._migrate()
        except duckdb.Error as exc:
            self._conn.close()
            raise StoreError(f"cannot upgrade the catalog {path}: {first_line(exc)}") from exc
        except StoreError:
            self._conn.close()
            raise
        # Made after the migrations: the columns it reads once are the schema's as it is now.
        self._shapes = TableShapes()
        self._staging.count(self._conn)
        # Left by a daemon stopped between the two steps of a re-cluster: never half a table.
        self._conn.execute(f"DROP TABLE IF EXISTS {cluster.BUILDING}")
        if evict_after_s is not None:
            # Through a weak reference: the eviction's thread must not keep a catalog nobody closed alive.
            owner = weakref.ref(self)

            def connection() -> duckdb.DuckDBPyConnection:
                catalog = owner()
                if catalog is None:
                    raise duckdb.ConnectionException("the catalog was closed")
                return catalog._current_connection()

            self._eviction = IdleEviction(connection, evict_after_s)
        self._settler = BackgroundSettle(self._settle_in_background)
        self._staging.settle_soon = self._settler.wake

    def _settle_in_background(self) -> None:
        with self._busy():
            self._staging.settle(self._cursor(), self._shapes)

    def _current_connection(self) -> duckdb.DuckDBPyConnection:
        with self._conn_lock:
            return self._conn

    def _busy(self) -> AbstractContextManager[None]:
        """Around every use of the connection: the idle eviction waits until none is in flight."""
        return self._eviction.busy() if self._eviction is not None else nullcontext()

    def _connect(self) -> duckdb.DuckDBPyConnection:
        try:
            return engine.connect(self.path)
        except duckdb.Error as exc:
            raise StoreError(f"cannot open the catalog {self.path}: {first_line(exc)}") from exc

    @property
    def location(self) -> str:
        return str(self.path)

    def close(self) -> None:
        self._settler.stop()
        if self._eviction is not None:
            self._eviction.stop()
        try:
            # The file at rest holds every row in its table, for whatever opens it next.
            self._staging.settle(engine.cursor(self._conn), self._shapes)
        except duckdb.Error as exc:
            log.warning("staged rows were left to settle at the next open: %s", first_line(exc))
        if self._staging.journal is not None:
            self._staging.journal.close()
        try:
            self._conn.close()
        except duckdb.Error:
            pass  # the checkpoint on close failed (a full disk): the log keeps every write

    def reopen_if_invalidated(self) -> bool:
        """Reopens the catalog when DuckDB invalidated it after a fatal error (a checkpoint that
        met a full disk); True when it did. On the writer thread only.

        Closing the connection closes every reader's cursor with it; each reader takes a new
        cursor on its next query. Reopening replays the write-ahead log, so nothing committed
        is lost, and it needs no free space.
        """
        with self._busy():
            return self._reopen_if_invalidated()

    def _reopen_if_invalidated(self) -> bool:
        try:
            self._conn.execute("SELECT count(*) FROM meta").fetchall()
            return False
        except duckdb.FatalException:
            pass  # DuckDB gave up on the whole database instance
        except duckdb.IOException as exc:
            if not engine.invalidated(exc):
                raise
        except duckdb.ConnectionException:
            pass  # already closed by an earlier attempt that failed to reconnect
        try:
            self._conn.close()
        except duckdb.Error:
            pass
        connection = self._connect()
        self._staging.count(connection)
        with self._conn_lock:
            self._conn, self._generation = connection, self._generation + 1
        self.reopens += 1
        return True

    # -- schema ---------------------------------------------------------------------------

    def _settle_at_open(self, schema: int) -> None:
        journal = self._staging.journal
        assert journal is not None
        if not settle_left_over(self._conn, journal, schema):
            return  # stopped cleanly: nothing to write at start-up
        try:
            settle_with_journal(self._conn, journal)
        except duckdb.Error as exc:
            raise StoreError(
                f"cannot settle the rows the catalog {self.path} staged into their tables: {first_line(exc)}; "
                "nothing was changed",
                reason="CATALOG_UNSETTLED",
            ) from exc

    def _migrate(self) -> None:
        conn = self._conn
        current = schema_version(conn)
        if current > SCHEMA_VERSION:
            raise StoreError(
                f"the catalog {self.path} has schema version {current}, newer than this studbook "
                f"({SCHEMA_VERSION}); upgrade studbook",
                reason="SCHEMA_TOO_NEW",
            )
        # What a daemon stopped abruptly left staged or journaled, settled into the tables the
        # schema had when it was staged, before any migration changes them.
        self._settle_at_open(current)
        # An existing catalog is upgraded one whole step at a time. A new one is made in a single
        # transaction that writes its schema version once: 18 steps committed apart took 68-76 ms
        # of a new catalog's open, one 32-36 ms (measured here).
        pending = range(current + 1, SCHEMA_VERSION + 1)
        for step in [pending] if current == 0 else [[target] for target in pending]:
            conn.execute("BEGIN")
            for target in step:
                conn.execute(MIGRATIONS[target - 1])
            conn.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(step[-1])])
            conn.execute("COMMIT")
        if current < SCHEMA_VERSION:
            # Schema changes go into the file now, not the WAL: DuckDB 1.5.5 cannot replay an
            # ALTER TABLE ... ADD COLUMN on a table with a nextval() default ("GetDefaultDatabase
            # with no default database set"), so a kill -9 before the next checkpoint would leave
            # a catalog that no longer opens.
            conn.execute("CHECKPOINT")

    # -- writing --------------------------------------------------------------------------

    def listen(self, wake: Callable[[int | None], None]) -> None:
        """Nothing to follow: a DuckDB file has one daemon, whose commits are all its own."""
        return None

    def transaction(self) -> Transaction:
        return Transaction(self._conn, self._shapes, eviction=self._eviction, staging=self._staging)

    def leadership(self, role: str) -> SoleDaemon:
        return SoleDaemon()

    # -- reading --------------------------------------------------------------------------

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        cached: tuple[int, duckdb.DuckDBPyConnection] | None = getattr(self._local, "cursor", None)
        with self._conn_lock:
            generation, conn = self._generation, self._conn
        if cached is None or cached[0] != generation:
            cached = (generation, engine.cursor(conn))
            self._local.cursor = cached
        return cached[1]

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            if (writing := self._staging.open_here()) is not None:
                # An operation on the writer's thread reading through the catalog: a reader
                # cursor would miss what is staged, and cannot settle it while this thread's
                # transaction is open. That transaction sees it (the group's own buffered
                # rows aside, as a reader would).
                return writing.query_unflushed(sql, params)
            with self._busy():
                cursor = self._cursor()
                return self._staging.read(cursor, self._shapes, lambda: run_on(cursor, sql, params))
        except duckdb.Error as exc:
            raise store_error(exc, "catalog read failed") from exc

    def max_revision(self) -> int:
        return int(self.query("SELECT coalesce(max(revision), 0) FROM events")[0][0])

    def meta(self, key: str) -> str | None:
        rows_ = self.query("SELECT value FROM meta WHERE key = ?", [key])
        return rows_[0][0] if rows_ else None

    def identity(self) -> str:
        """This catalog's id, made once: an artifact store records which catalogs keep files in it.

        Call it before the writer starts: it may write the id.
        """
        found = self.meta("catalog_id")
        if found is None:
            with self._busy():
                self._conn.execute(
                    "INSERT INTO meta VALUES ('catalog_id', ?) ON CONFLICT DO NOTHING", [uuid.uuid4().hex]
                )
            found = self.meta("catalog_id")
        assert found is not None
        return found

    def metric_tail(self) -> tuple[int, int]:
        """(rows now, rows when last clustered) of metric_summary: see store/cluster.py."""
        try:
            with self._busy():
                cursor = self._cursor()
                return self._staging.read(cursor, self._shapes, lambda: cluster.tail(cursor))
        except duckdb.Error as exc:
            raise store_error(exc, "catalog read failed") from exc

    def build_clustered_metrics(self, stopping: Callable[[], bool] = lambda: False) -> cluster.Built:
        """Blocking, off the writer thread: step one of re-clustering (store/cluster.py); the
        writer then runs `cluster.swap`. `cluster.Abandoned` once `stopping()` says so."""
        cursor = engine.cursor(self._conn)
        try:
            with self._busy():
                return cluster.build(cursor, begin=lambda: self._staging.begin_settled(cursor, self._shapes),
                                     stopping=stopping)  # fmt: skip
        except duckdb.Error as exc:
            raise store_error(exc, "clustering metric_summary failed") from exc
        finally:
            cursor.close()

    def snapshot_into(self, target: Path) -> CatalogSnapshot:
        """Blocking: copies the whole catalog as of one revision into a new DuckDB file `target`,
        while the writer goes on committing.

        A read transaction on a cursor of its own sees one snapshot from its first read to its
        end, so the revision, the blobs and every table copied belong to the same state; it
        takes no lock, so no write waits for it (DuckDB's MVCC), they only share the cores.
        COPY FROM DATABASE copies tables, indexes and the sequence of version handles (at its
        current value, never behind the rows copied). The attachment is visible to every
        connection of this database until it is detached, hence a unique alias, the detach in
        any case, and table lookups elsewhere limited to `current_database()`.
        """
        with self._busy():
            return self._snapshot_into(target)

    def _snapshot_into(self, target: Path) -> CatalogSnapshot:
        alias = f"studbook_snapshot_{uuid.uuid4().hex[:12]}"
        cursor = engine.cursor(self._conn)
        attached = False
        try:
            self._staging.begin_settled(cursor, self._shapes)
            run = _runner(cursor)
            revision, head = run("SELECT coalesce(max(revision), 0), coalesce(arg_max(chain_hash, revision), '') "
                                 "FROM events")[0]  # fmt: skip
            schema = int(run("SELECT value FROM meta WHERE key = 'schema_version'")[0][0])
            versions = int(run("SELECT count(*) FROM versions")[0][0])
            blobs = _stored_blobs(run)
            source = run("SELECT current_database()")[0][0]
            cursor.execute(f"ATTACH {engine.sql_text(str(target))} AS {alias} {engine.ATTACH_OPTIONS}")
            attached = True
            cursor.execute(f"COPY FROM DATABASE {_sql_name(source)} TO {alias}")
            cursor.execute("COMMIT")
            cursor.execute(f"CHECKPOINT {alias}")  # the copy whole in its file, no WAL beside it
        except duckdb.Error as exc:
            raise StoreError(f"copying the catalog to {target} failed: {exc}") from exc
        finally:
            try:
                cursor.execute("ROLLBACK")
            except duckdb.Error:
                pass  # committed, or never begun
            try:
                if attached:
                    cursor.execute(f"DETACH {alias}")
            finally:
                cursor.close()
        return CatalogSnapshot(int(revision), str(head), schema, versions, blobs)


def schema_version(conn: duckdb.DuckDBPyConnection) -> int:
    """The schema version of the catalog open on `conn` (0 for a file without one)."""
    has_meta = conn.execute(  # duckdb_tables(): information_schema costs ~10 ms at every start
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'meta' AND database_name = current_database()"
    ).fetchone()
    if not (has_meta and has_meta[0]):
        return 0
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return int(row[0]) if row else 0


def settle_left_over(conn: duckdb.DuckDBPyConnection, journal: Journal, schema: int) -> bool:
    """Reads what a daemon stopped abruptly left in the catalog open on `conn` (at `schema`) and
    in its journal; whether anything is to settle."""
    journal.load()
    if (journal.records or journal.left_out) and schema < JOURNAL_SINCE:
        raise JournalDamaged(f"the journal {journal.path} is newer than its catalog (schema {schema}): it was left "
                             "beside another catalog; nothing was changed: move it aside")  # fmt: skip
    staged = schema >= STAGED_SINCE and conn.execute(f"SELECT count(*) FROM {staging.TABLE}").fetchall()[0][0]
    return bool(staged or journal.records or journal.left_out)


def settle_with_journal(conn: duckdb.DuckDBPyConnection, journal: Journal) -> None:
    """Settles the staged rows, then the journal's records the catalog does not hold yet, in one
    transaction on `conn`; empties the journal once it committed."""
    conn.execute("BEGIN TRANSACTION")
    try:
        shapes = TableShapes()
        settle_staged(conn, shapes)
        head = int(conn.execute("SELECT coalesce(max(revision), 0) FROM events").fetchall()[0][0])
        fresh = unabsorbed(journal.records, head, journal.path)
        if fresh:
            # Numbered from 1 by a staging of their own: `staged_rows` is empty once settled.
            insert_staged(conn, [record.rows for record in fresh], Staging())
            settle_staged(conn, shapes)
            _check_chained(conn, head, journal)
        conn.execute("COMMIT")
    except BaseException:
        staging.roll_back(conn)
        raise
    journal.clear()


def _check_chained(conn: duckdb.DuckDBPyConnection, head: int, journal: Journal) -> None:
    """Inside the transaction that took the journal in: its events must chain onto the catalog's
    newest one, as the audit trail's check would find them. A journal left beside another
    registry's catalog at the same revision would not."""
    found = run_on(conn, f"SELECT {EVENT_COLUMNS}, chain_hash FROM events WHERE revision >= ? ORDER BY revision",
                   [head])  # fmt: skip
    previous = found.pop(0)[-1] if head else GENESIS
    check = ChainCheck(head, previous)
    if not check.feed((Event(*row[:-1]), row[-1]) for row in found):
        raise JournalDamaged(
            f"the journal {journal.path} does not continue its catalog's audit trail ({check.verdict().problem}): "
            "it was left beside another registry's catalog; nothing was changed: put the catalog it belongs to "
            "back, or move the journal aside to go on without it"
        )


def settle_file(path: Path) -> None:
    """Settles what a daemon stopped abruptly left staged in the catalog file at `path` and in its
    journal, for what reads the file directly (a catalog copy), as the daemon's next start would;
    a file with nothing staged is only read."""
    journal = Journal(journal_path(path))
    try:
        with duckdb.connect(str(path), read_only=True) as conn:
            left_over = settle_left_over(conn, journal, schema_version(conn))
        if left_over:
            with engine.connect(path) as conn:
                settle_with_journal(conn, journal)
    except duckdb.Error as exc:
        raise StoreError(f"cannot settle the rows the catalog {path} staged: {first_line(exc)}",
                         reason="CATALOG_UNSETTLED") from exc  # fmt: skip


Run = Callable[..., list[tuple[Any, ...]]]


def _runner(cursor: duckdb.DuckDBPyConnection) -> Run:
    def run(sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return run_on(cursor, sql, params)

    return run


def _sql_name(value: str) -> str:
    """A quoted SQL identifier."""
    return '"' + value.replace('"', '""') + '"'


# A column's default as information_schema spells it, for the literals the migrations use:
# a quoted string (JSON documents too), an integer, or a cast boolean.
_STRING_DEFAULT = re.compile(r"'((?:[^']|'')*)'")
_INTEGER_DEFAULT = re.compile(r"-?[0-9]+")
_BOOLEAN_DEFAULTS = {"true": True, "false": False, "CAST('t' AS BOOLEAN)": True, "CAST('f' AS BOOLEAN)": False}
# No default this module can compare a value with: the column is always written.
NO_DEFAULT = object()


def parse_default(text: str | None) -> Any:
    """The Python value a column's default stands for, as rows hold it; `NO_DEFAULT` unless it
    is one of the plain literals above (an expression such as now() is never taken for one)."""
    if text is None:
        return NO_DEFAULT
    if (string := _STRING_DEFAULT.fullmatch(text)) is not None:
        return string.group(1).replace("''", "'")
    if _INTEGER_DEFAULT.fullmatch(text):
        return int(text)
    return _BOOLEAN_DEFAULTS.get(text, NO_DEFAULT)


@dataclass(frozen=True)
class TableShape:
    """How rows of one table are packed into JSON and unpacked by DuckDB, for the columns a
    group of rows writes (`columns`, indices into the table's own list)."""

    insert_sql: str
    columns: tuple[int, ...]
    # The pieces of `insert_sql`: the columns' names, and their values taken from a row `r`
    # of the document as unpacked by `layout`.
    names: str
    select: str
    layout: str
    blob_columns: frozenset[int]
    # The columns whose values the document converts: bytes (to base64) and times.
    converted_columns: frozenset[int]
    # `INSERT INTO table (columns) VALUES `, for a few rows written as literals.
    values_prefix: str

    def statement(self, rows_: list[tuple[Any, ...]]) -> tuple[str, list[Any]]:
        """The insert of `rows_`: a few with their values in the statement, more as one document."""
        if len(rows_) <= MOST_LITERAL_ROWS and (values := values_list(rows_, self.columns)) is not None:
            return self.values_prefix + values, []
        return self.insert_sql, [self.document(rows_)]

    def document(self, rows_: list[tuple[Any, ...]]) -> str:
        """The rows as one JSON document; only times and bytes need converting, so the other
        columns are copied as they are (a call per cell was a tenth of a group's CPU)."""
        keys = [(f"c{i}", i) for i in self.columns]
        converted = [(f"c{i}", i, i in self.blob_columns) for i in self.columns if i in self.converted_columns]
        unpacked = []
        for row in rows_:
            cells = {key: row[i] for key, i in keys}
            for key, i, blob in converted:
                value = row[i]
                if value is not None:
                    cells[key] = base64.b64encode(value).decode() if blob else _document_time(value)
            unpacked.append(cells)
        return json.dumps(unpacked)


def _document_time(value: Any) -> Any:
    """A time as from_json reads a TIMESTAMP: naive UTC in ISO form."""
    if isinstance(value, datetime):
        return (value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value).isoformat()
    return value


@dataclass(frozen=True)
class TableColumns:
    """A table's columns as inserts fill them, in order, with their types and defaults."""

    table: str
    names: tuple[str, ...]
    kinds: tuple[str, ...]
    defaults: tuple[Any, ...]

    def written(self, rows_: list[tuple[Any, ...]]) -> tuple[int, ...]:
        """The columns some row sets to other than their default: the others are left out of the
        statement, and DuckDB fills in the same default. Each column left out is one less to
        unpack, cast and bind (a version row of a metadata-only registration leaves out about
        half of its columns, and its insert costs about a third less CPU: measured here). A
        value is its column's default only when of the very same type (0 is not False)."""
        written = []
        for index, default in enumerate(self.defaults):
            if default is NO_DEFAULT or any(
                type(row[index]) is not type(default) or row[index] != default for row in rows_
            ):
                written.append(index)
        # A statement names one column at least: rows of nothing but defaults write them all.
        return tuple(written) or tuple(range(len(self.names)))

    def shape(self, columns: tuple[int, ...]) -> TableShape:
        structure = {f"c{i}": ("VARCHAR" if self.kinds[i] in ("JSON", "BLOB") else self.kinds[i]) for i in columns}
        blobs = frozenset(i for i in columns if self.kinds[i] == "BLOB")
        select = ", ".join(f"from_base64(r.c{i})" if i in blobs else f"r.c{i}" for i in columns)
        names = ", ".join(self.names[i] for i in columns)
        # The document is read from a one-row VALUES list, not unpacked as a constant: DuckDB
        # folds a constant expression while it plans, row by row through its slow generic
        # values (measured: ~10% of an insert's CPU). The structure is written into the
        # statement: it is of our own making (the names c0, c1, ... and the columns' types).
        layout = json.dumps([structure]).replace("'", "''")
        return TableShape(
            insert_sql=f"INSERT INTO {self.table} ({names}) SELECT {select} FROM (SELECT unnest(from_json(t.d, "
            f"'{layout}')) AS r FROM (VALUES (?::JSON)) t(d))",
            columns=columns,
            names=names,
            select=select,
            layout=layout,
            blob_columns=blobs,
            converted_columns=blobs | {i for i in columns if self.kinds[i] == "TIMESTAMP"},
            values_prefix=f"INSERT INTO {self.table} ({names}) VALUES ",
        )


class TableShapes:
    """Column lists read once from the catalog itself, so the schema file stays the one truth."""

    def __init__(self) -> None:
        self._columns: dict[str, TableColumns] = {}
        # Per table and set of columns written: a registry's groups mostly write a few such sets.
        self._shapes: dict[tuple[str, tuple[int, ...]], TableShape] = {}

    def of(self, conn: duckdb.DuckDBPyConnection, table: str, rows_: list[tuple[Any, ...]]) -> TableShape:
        """The shape of an insert of `rows_` into `table`: their columns whose value is not the default."""
        return self.shape(conn, table, self.columns(conn, table).written(rows_))

    def shape(self, conn: duckdb.DuckDBPyConnection, table: str, written: tuple[int, ...]) -> TableShape:
        """The shape of an insert into `table` of the columns at `written`."""
        shape = self._shapes.get((table, written))
        if shape is None:
            shape = self._shapes[(table, written)] = self.columns(conn, table).shape(written)
        return shape

    def columns(self, conn: duckdb.DuckDBPyConnection, table: str) -> TableColumns:
        columns = self._columns.get(table)
        if columns is None:
            # Columns filled by a sequence are left to their default.
            found = conn.execute(
                # Only this database's table: a catalog copy being written is attached beside it.
                "SELECT column_name, data_type, column_default FROM information_schema.columns WHERE table_name = ? "
                "AND table_catalog = current_database() "
                "AND coalesce(column_default, '') NOT LIKE 'nextval(%' ORDER BY ordinal_position",
                [table],
            ).fetchall()
            columns = self._columns[table] = TableColumns(
                table,
                tuple(name for name, _, _ in found),
                tuple(kind for _, kind, _ in found),
                tuple(parse_default(default) for _, _, default in found),
            )
        return columns


@dataclass
class Transaction(TransactionWrites):
    """One write transaction. Inserts are buffered per table and flushed as one statement
    per table; any other statement flushes first so statements apply in order. At commit, the
    rows of the tables registrations write are staged rather than written (store/staging.py):
    any other statement settles what is staged first, so it sees the catalog whole."""

    conn: duckdb.DuckDBPyConnection
    shapes: TableShapes
    _pending: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)
    writes: int = 0
    # Held from begin until commit or rollback: no idle eviction while the transaction is open.
    eviction: IdleEviction | None = None
    _holding: bool = False
    # Its lock held from the first statement until commit or rollback, so that nothing else
    # settles staged rows while this transaction is open in the catalog.
    staging: Staging | None = None
    _staging_open: bool = False
    _staging_locked: bool = False
    # Whether this transaction settled what earlier commits staged.
    _settled: bool = False
    # Whether BEGIN has run: the transaction begins in DuckDB at its first statement, so that a
    # commit of staged rows alone can go to the journal without one (store/journal.py).
    _begun: bool = False
    # How many of the journal's records it took into `staged_rows`: dropped from the journal once
    # it commits.
    _absorbed: int = 0
    dialect = DUCKDB

    def begin(self) -> None:
        if self.eviction is not None and not self._holding:
            self.eviction.enter()
            self._holding = True
        try:
            if self.staging is not None and not self._staging_open:
                self.staging.open_for_write(self)
                self._staging_open = True
        except BaseException:
            self._release()
            raise

    def _begin_here(self) -> None:
        """Begins the transaction in DuckDB, before its first statement: what the journal holds
        joins the catalog first, as the older commits it is."""
        if self._begun:
            return
        if self.staging is not None and not self._staging_locked:
            # Waits for a settle under way (a reader's, or the background one), so that BEGIN
            # sees what it committed.
            self.staging.lock.acquire()
            self._staging_locked = True
        self.conn.execute("BEGIN")
        self._begun = True
        if self.staging is not None:
            self._absorbed = self.staging.absorb(self.conn)

    def _release(self) -> None:
        if self.staging is not None and self._staging_open:
            self._staging_open = False
            self.staging.closed_for_write()
        if self.staging is not None and self._staging_locked:
            self._staging_locked = False
            self.staging.lock.release()
        if self.eviction is not None and self._holding:
            self._holding = False
            self.eviction.leave()

    def commit(self) -> None:
        try:
            if self._journal_takes_it():
                self._journal()
                return
            if not self._begun and not any(self._pending.values()):
                return  # nothing was written
            self._begin_here()
            staged = self._stage()
            self.flush()
            if self._journal_usable():
                # Handles for the journaled commits until the next transaction (see Staging.ids).
                self.staging.top_up_ids(self.conn, NUMBERED["versions"][1])  # type: ignore[union-attr]
            try:
                self.conn.execute("COMMIT")
            except (duckdb.IOException, duckdb.FatalException) as exc:
                if _DURABLE_COMMIT in str(exc):
                    self._committed(staged)
                    raise DurableCommit(first_line(exc)) from exc
                raise
            self._committed(staged)
        finally:
            self._release()

    def _stage(self) -> bool:
        """Stages the buffered rows of the staged tables, unless enough commits are staged
        already, in which case this one settles them and writes its rows as they are, or unless
        they are too many to gain from it (their inserts and the staged ones add up the same in
        either order)."""
        if self.staging is None or not worth_staging(self._pending):
            return False
        if self.staging.commits >= MOST_STAGED_COMMITS:
            self._settle()
            return False
        return stage_rows(self.conn, self.shapes, self._pending, self.staging)

    def _settle(self) -> None:
        self._begin_here()
        if self.staging is not None and self.staging.commits and not self._settled:
            settle_staged(self.conn, self.shapes)
            self._settled = True

    def _committed(self, staged: bool) -> None:
        if self.staging is not None:
            # What it took from the journal is staged in `staged_rows` now, unless it settled.
            kept = 0 if self._settled else self.staging.table_commits + self._absorbed
            self.staging.table_commits = kept + staged
            self.staging.absorbed_committed(self._absorbed)

    def _journal_usable(self) -> bool:
        return self.staging is not None and self.staging.journal is not None and not self.staging.journal.broken

    def _journal_takes_it(self) -> bool:
        """Whether this commit goes to the journal: it ran no statement, it wrote staged rows
        and the events that record them, their version handles are drawn, and the journal is
        not full (a settle due in the background has not come: see MOST_JOURNALED)."""
        if self._begun or not self._journal_usable():
            return False
        assert self.staging is not None and self.staging.journal is not None
        written = {table for table, rows_ in self._pending.items() if rows_}
        return (
            "events" in written
            and written <= STAGED_TABLES
            and worth_staging(self._pending)
            and self.staging.journaled_commits < MOST_JOURNALED
            and self.staging.journal.size < MOST_JOURNAL_BYTES
            and self.staging.has_ids(len(self._pending.get("versions", ())))
        )

    def _journal(self) -> None:
        assert self.staging is not None and self.staging.journal is not None
        names = self.shapes.columns(self.conn, "events").names
        revision, chain_hash = names.index("revision"), names.index("chain_hash")
        events = [(row[revision], row[chain_hash]) for row in self._pending["events"]]
        rows_ = staged_values(self.conn, self.shapes, self._pending, self.staging)
        self._pending.clear()
        self.staging.journal.append(JournalRecord(rows_, events))
        self.staging.journaled()

    def rollback(self) -> None:
        self._pending.clear()
        if self.staging is not None:
            self.staging.forget_ids()
        try:
            if self._begun:
                self.conn.execute("ROLLBACK")
        except duckdb.Error:
            pass  # the connection already aborted it
        finally:
            self._release()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        if not is_query(sql):
            self.writes += 1
        self._settle()
        self.flush()
        return run_on(self.conn, sql, params)

    def query_unflushed(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        if not is_query(sql):
            raise ValueError("query_unflushed runs queries only")
        self._settle()
        return run_on(self.conn, sql, params)

    def flush(self) -> None:
        """Writes buffered rows, one statement per table.

        Rows travel as one JSON document that DuckDB unpacks itself: binding parameters
        costs about as much per value as the statement does, so a batch of 64 rows binds
        in ~2 ms this way against ~17 ms as a multi-row VALUES list (measured here).
        """
        if any(self._pending.values()):
            self._begin_here()
        for table, pending in self._pending.items():
            if not pending:
                continue
            shape = self.shapes.of(self.conn, table, pending)
            self.conn.execute(*shape.statement(pending))
        if self._pending.get("versions"):
            run_on(self.conn, *self.version_figures_update(self._pending["versions"]))
        self._pending.clear()

    def models_figures_update(self, added: list[tuple[str, int, int]]) -> tuple[str, list[Any]]:
        """Several models' figures written into the statement as a VALUES list: its join plans in
        about 0.8 ms against 1.2 ms for the unpacked document (8 models, measured here)."""
        values = values_list(added, (0, 1, 2))
        if values is None:
            return super().models_figures_update(added)
        return version_figures_join(f"(VALUES {values}) u(model, added, top)"), []


if TYPE_CHECKING:
    # mypy holds the DuckDB catalog to the store interface here, not only where one is passed.
    _CATALOG_IS_A_STORE: type[Store] = Catalog
    _TRANSACTION_IS_A_STORE_TRANSACTION: type[StoreTransaction] = Transaction


class SoleDaemon:
    """The leadership of a DuckDB catalog: one daemon opens the file, so it does every job."""

    def try_lead(self) -> bool:
        return True

    def release(self) -> None:
        pass
