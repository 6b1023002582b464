"""The PostgreSQL catalog: the store interface over psycopg 3 and a connection pool.

Reads take a pooled connection each (autocommit: every statement sees what was committed
before it); the writer holds one connection of its own for its transactions. The queries are
the DuckDB catalog's (`store.reads`, `store.writes`), in PostgreSQL's spelling where the
dialect says so. Times are timestamptz, read and written in UTC (each connection sets its
TimeZone); JSON columns are jsonb and come back as their text, as DuckDB's JSON does, so the
row conversions in `store.rows` serve both backends.

Several daemons may share one catalog. Each write transaction begins by taking a
transaction-scoped advisory lock, so transactions of all daemons commit one after another,
and re-reads the newest revision under it: when another daemon committed since this one last
looked, `begin` raises `CatalogMovedOn` before anything is written, keeping the transaction and
its lock, and the writer reloads its state under that lock and runs the group in the same
transaction: revisions stay gapless and in order, and a busy daemon cannot be starved by
another one committing between its reload and its next try.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg.types.string import TextLoader
from psycopg_pool import ConnectionPool, PoolTimeout
from studbook.daemon.domain.errors import RegistryError
from studbook.daemon.domain.model import Event
from studbook.daemon.store.dialect import POSTGRES
from studbook.daemon.store.postgres.inserts import TableShapes, document
from studbook.daemon.store.postgres.leadership import AdvisoryLeadership
from studbook.daemon.store.postgres.listener import CHANNEL, Listener
from studbook.daemon.store.postgres.migrate import describe, migrate
from studbook.daemon.store.reads import CatalogReads
from studbook.daemon.store.records import (
    CatalogMovedOn,
    CatalogSnapshot,
    ChangesSince,
    DurableCommit,
    StoreError,
    StoreFull,
    first_line,
)
from studbook.daemon.store.rows import EVENT_COLUMNS
from studbook.daemon.store.writes import TransactionWrites, is_query

if TYPE_CHECKING:
    from studbook.daemon.store.interface import Store, StoreTransaction

# The advisory lock every write transaction takes: "sbwrite" in ASCII, apart from the
# migrations' lock so that a daemon migrating never waits for its own writer.
WRITE_LOCK = int.from_bytes(b"sbwrite", "big")
# Begins a write transaction: takes the write lock, then reads the newest revision.
_BEGIN = f"BEGIN; SELECT pg_advisory_xact_lock({WRITE_LOCK}); SELECT coalesce(max(revision), 0) FROM events"
# Up to how many events and version facts committed by other daemons since this one's last
# look are read in the same round trip, under the lock: more than that, and the writer reads
# them itself (or loads its state again).
CHANGES_READ_WITH_LOCK = 256
# The two reads, after `known`; each one row more than it takes, to tell when there are more.
_CHANGES_SINCE = (
    f"; SELECT {EVENT_COLUMNS}, chain_hash FROM events WHERE revision > {{known}} ORDER BY revision "
    f"LIMIT {CHANGES_READ_WITH_LOCK + 1}"
    "; SELECT model, number, status, semver, request_id, content_digest FROM versions "
    f"WHERE revision > {{known}} ORDER BY model, number LIMIT {CHANGES_READ_WITH_LOCK + 1}"
)
CONNECT_TIMEOUT = 10
# How long a read waits for a pooled connection before it reports the catalog unreachable.
POOL_TIMEOUT = 10.0
POOL_SIZE = 8
# SQLSTATE of "disk full" (class 53: insufficient resources).
_DISK_FULL = "53100"
# What libpq says when the server refuses the login itself.
_LOGIN_REFUSED = ("password authentication failed", "no pg_hba.conf entry", 'role "', "authentication failed")
# SQLSTATEs that mean the server is gone or going: admin, crash and starting-up shutdowns.
_SERVER_GONE = ("57P01", "57P02", "57P03")


def _configure(conn: psycopg.Connection[Any]) -> None:
    """What every connection needs: JSON as its text (as DuckDB gives it), times in UTC. Set
    here rather than in the URL's `options`, which stay the user's (a search_path, say)."""
    for name in ("json", "jsonb"):
        conn.adapters.register_loader(name, TextLoader)
    conn.execute("SET TimeZone TO 'UTC'")
    # The catalog's statements are short; a filtered search over many versions is estimated
    # costly enough for PostgreSQL to compile it to machine code first, which made it slower:
    # ~1.6 s against ~1.15 s without, for a metric and tag search at 1M versions.
    conn.execute("SET jit TO off")


def _connect_options() -> dict[str, Any]:
    return {"connect_timeout": CONNECT_TIMEOUT}


class PostgresCatalog(CatalogReads):
    """A catalog in a PostgreSQL database, given as a `postgresql://` URL (or libpq conninfo)."""

    dialect = POSTGRES

    def __init__(self, dsn: str, *, pool_size: int = POOL_SIZE) -> None:
        self._dsn = dsn
        self._location = _redacted(dsn)
        self._conn = self._connect()
        self._conn_lock = threading.Lock()
        # The newest revision this daemon has seen: read at start-up and reload, moved by
        # each of its commits. None until first read.
        self._known_revision: int | None = None
        self._shapes = TableShapes()
        try:
            self._location = describe(self._conn)
            migrate(self._conn)
            self._pool: ConnectionPool[psycopg.Connection[Any]] = ConnectionPool(
                dsn, min_size=1, max_size=pool_size, kwargs={"autocommit": True, **_connect_options()},
                configure=_configure, timeout=POOL_TIMEOUT, name="studbook-reads", open=True,
            )  # fmt: skip
        except BaseException:
            self._conn.close()
            raise

    def _connect(self) -> psycopg.Connection[Any]:
        try:
            conn = psycopg.connect(self._dsn, autocommit=True, **_connect_options())
            _configure(conn)
        except psycopg.Error as exc:
            raise refused_connection(self._location, exc) from exc
        return conn

    @property
    def location(self) -> str:
        return self._location

    def close(self) -> None:
        self._pool.close()
        self._conn.close()

    def reopen_if_invalidated(self) -> bool:
        """Connects the writer again when its connection was lost (the server restarted, the
        network dropped it); True when it did. Reads reconnect through the pool by themselves."""
        if not (self._conn.closed or self._conn.broken):
            return False
        connection = self._connect()
        with self._conn_lock:
            self._conn.close()
            self._conn = connection
        return True

    def transaction(self) -> PostgresTransaction:
        return PostgresTransaction(self._conn, self, self._shapes)

    def leadership(self, role: str) -> AdvisoryLeadership:
        return AdvisoryLeadership(self._dsn, role, _connect_options())

    def listen(self, wake: Callable[[int | None], None]) -> Listener:
        """A listener that calls `wake` (on its own thread) when any daemon commits, and now
        and then without: see `listener`. Not started."""
        return Listener(self._dsn, wake, _connect_options())

    # -- reading --------------------------------------------------------------------------

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        statement = self.dialect.placeholders(sql)
        for attempt in range(2):
            conn: psycopg.Connection[Any] | None = None
            try:
                with self._pool.connection() as conn:
                    cursor = conn.execute(statement, list(params))
                    return cursor.fetchall() if cursor.description is not None else []
            except (psycopg.Error, PoolTimeout) as exc:
                # A pooled connection the server ended since its last use (a restart, an idle
                # timeout) fails its next statement; the pool drops it, and a read may run again.
                if attempt == 0 and conn is not None and conn.broken:
                    continue
                raise store_error(exc, self._location, "catalog read failed") from exc
        raise AssertionError("unreachable")

    def max_revision(self) -> int:
        """The newest revision committed; the writer's state is as of this revision from now on."""
        revision = int(self.query("SELECT coalesce(max(revision), 0) FROM events")[0][0])
        self._known_revision = revision
        return revision

    def meta(self, key: str) -> str | None:
        found = self.query("SELECT value FROM meta WHERE key = ?", [key])
        return found[0][0] if found else None

    def identity(self) -> str:
        found = self.meta("catalog_id")
        if found is None:
            # ON CONFLICT: another daemon starting on the same catalog may have made it first.
            self.query("INSERT INTO meta VALUES ('catalog_id', ?) ON CONFLICT DO NOTHING", [uuid.uuid4().hex])
            found = self.meta("catalog_id")
        assert found is not None
        return found

    def holds(self, revision: int, chain_hash: str) -> bool:
        """Whether the catalog holds `revision` with that chain hash, asked on a new connection
        (the writer's failed); False when the server cannot be asked either."""
        try:
            with psycopg.connect(self._dsn, autocommit=True, **_connect_options()) as conn:
                found = conn.execute("SELECT chain_hash FROM events WHERE revision = %s", [revision]).fetchone()
        except psycopg.Error:
            return False
        return found is not None and found[0] == chain_hash

    def snapshot_into(self, target: Path) -> CatalogSnapshot:
        raise StoreError(
            f"online backups copy a DuckDB catalog; the catalog {self._location} is in PostgreSQL: back it up "
            "with pg_dump (or the server's own backups), and the artifact store beside it",
            reason="BACKUP_UNSUPPORTED",
        )


@dataclass
class PostgresTransaction(TransactionWrites):
    """One write transaction on the writer's connection. Inserts are buffered per table and
    sent together, with the COMMIT (see `inserts`); any other statement sends them first, so
    statements apply in order."""

    conn: psycopg.Connection[Any]
    catalog: PostgresCatalog
    shapes: TableShapes
    _pending: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)
    writes: int = 0
    # The newest revision when the transaction began, under the write lock.
    _begun_at: int = 0
    # The newest event this transaction inserted (revision, chain hash), and whether a statement
    # may have written events otherwise.
    _head: tuple[int, str] | None = None
    _rewrote_events: bool = False
    dialect = POSTGRES

    def begin(self) -> None:
        try:
            # One round trip: every daemon's writes wait while this transaction holds the lock,
            # so what it sends under the lock is sent together. The lock (held to the transaction's
            # end) makes every daemon's write transactions run one at a time.
            # With the revision last seen, what was committed since comes back in it too: two
            # daemons writing side by side find each other's commits at nearly every group.
            known = self.catalog._known_revision
            cursor = self.conn.execute(_BEGIN if known is None else _BEGIN + _CHANGES_SINCE.format(known=int(known)))
            results = [cursor.fetchall() if cursor.description is not None else []]
            while cursor.nextset():
                results.append(cursor.fetchall() if cursor.description is not None else [])
        except psycopg.Error as exc:
            raise store_error(exc, self.catalog.location, "catalog write failed") from exc
        # BEGIN, the lock, the revision, then (with `known`) the changes since.
        found, since = results[2], results[3:]
        revision = int(found[0][0]) if found else 0
        self._begun_at = revision
        self._head = None
        self._rewrote_events = False
        if known is not None and revision != known:
            changes = None
            if since and all(len(rows) <= CHANGES_READ_WITH_LOCK for rows in since):
                events, facts = since
                changes = ChangesSince(known, [(Event(*r[:-1]), r[-1]) for r in events], facts)
            raise CatalogMovedOn(
                f"the catalog {self.catalog.location} is at revision {revision}, this daemon last saw {known}",
                changes,
            )

    def insert_event(self, event: Event, chain_hash: str) -> None:
        super().insert_event(event, chain_hash)
        self._head = (event.revision, chain_hash)

    def commit(self) -> None:
        written = self._flush()
        if self._rewrote_events:
            if written:
                self.conn.execute(written)
                written = ""
            found = self.conn.execute(
                "SELECT revision, chain_hash FROM events ORDER BY revision DESC LIMIT 1"
            ).fetchone()
            self._head = (int(found[0]), str(found[1])) if found else None
        # The newest event is the last this transaction inserted, if it inserted any.
        revision, head = self._head or (self._begun_at, "")
        try:
            # Delivered when the transaction commits, and only if it does: the NOTIFY wakes the other
            # daemons' followers (see `listener`). Sent with the figures and the COMMIT, in one round trip.
            notify = (
                f"SELECT pg_notify('{CHANNEL}', '{int(revision)}'); "
                if revision != self.catalog._known_revision
                else ""
            )
            self.conn.execute(written + notify + "COMMIT")
        except psycopg.OperationalError as exc:
            # The connection failed with COMMIT sent: it may have landed. A group that wrote
            # events says so by its newest one, looked up on a new connection.
            if revision > self._begun_at and self.catalog.holds(revision, head):
                self.catalog._known_revision = revision
                raise DurableCommit(
                    f"the connection to {self.catalog.location} failed as revision {revision} was committed, "
                    "and the revision is there"
                ) from exc
            raise store_error(exc, self.catalog.location, "catalog write failed") from exc
        self.catalog._known_revision = revision

    def rollback(self) -> None:
        self._pending.clear()
        try:
            self.conn.execute("ROLLBACK")
        except psycopg.Error:
            pass  # nothing was open, or the connection is gone (and with it the transaction)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        if not is_query(sql):
            self.writes += 1
            # A statement may rewrite events (chain hashes): the newest is then read at commit.
            self._rewrote_events = self._rewrote_events or "events" in sql
        self.flush()
        cursor = self.conn.execute(self.dialect.placeholders(sql), list(params))
        return cursor.fetchall() if cursor.description is not None else []

    def query_unflushed(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        if not is_query(sql):
            raise ValueError("query_unflushed runs queries only")
        return self.conn.execute(self.dialect.placeholders(sql), list(params)).fetchall()

    def flush(self) -> None:
        written = self._flush()
        if written:
            self.conn.execute(written)

    def _flush(self) -> str:
        """The statements that write the buffered rows, one a table (see `inserts`), and the one
        that adds the versions to their models' figures (its values written in by psycopg): for
        the caller to send together, at commit with the COMMIT, in one round trip under the write
        lock. Rows no document carries exactly are written by COPY now instead, after the tables
        before them, so that the tables are written in the order their rows were buffered."""
        pending = {table: rows for table, rows in self._pending.items() if rows}
        self._pending = {}
        written: list[str] = []
        for table, rows in pending.items():
            shape = self.shapes.of(self.conn, table)
            rows_document = document(rows)
            if rows_document is None:
                if written:
                    self.conn.execute("".join(written))
                    written.clear()
                shape.copy(self.conn, rows)
            else:
                written.append(shape.insert(rows_document, self.conn))
        if pending.get("versions"):
            statement, params = self.version_figures_update(pending["versions"])
            written.append(psycopg.ClientCursor(self.conn).mogrify(self.dialect.placeholders(statement), params) + "; ")
        return "".join(written)


def _redacted(dsn: str) -> str:
    """The URL or conninfo as given, without a password, for messages before a connection exists."""
    try:
        parts = psycopg.conninfo.conninfo_to_dict(dsn)
    except psycopg.Error:
        return "the PostgreSQL catalog (its address does not parse)"
    host, port, user, dbname = (parts.get(k, "") for k in ("host", "port", "user", "dbname"))
    return f"postgresql://{f'{user}@' if user else ''}{host or 'localhost'}{f':{port}' if port else ''}/{dbname}"


def refused_connection(location: str, exc: psycopg.Error) -> StoreError:
    """Why a connection could not be made, and what to do about it."""
    # libpq reports a failed connection by its message alone, without a SQLSTATE.
    state, message = exc.sqlstate or "", str(exc)
    if state.startswith("28") or any(words in message for words in _LOGIN_REFUSED):
        return StoreError(
            f"PostgreSQL at {location} refused the login ({first_line(exc)}); check the user in --catalog and "
            "its password (in ~/.pgpass or PGPASSWORD)",
            reason="POSTGRES_LOGIN_REFUSED",
        )
    if state == "3D000" or re.search(r'database "[^"]*" does not exist', message):
        return StoreError(
            f"PostgreSQL at {location} has no such database ({first_line(exc)}); create it first "
            "(`createdb`, or CREATE DATABASE), empty: studbook creates its tables in it",
            reason="POSTGRES_NO_DATABASE",
        )
    return unreachable(location, exc)


def unreachable(location: str, exc: BaseException) -> StoreError:
    return StoreError(
        f"PostgreSQL is unreachable at {location} ({first_line(exc)}); check that the server is running and "
        "accepts connections from this host, and the address given to --catalog",
        reason="POSTGRES_UNREACHABLE",
    )


def _connection_lost(exc: BaseException) -> bool:
    if not isinstance(exc, psycopg.OperationalError):
        return False
    state = exc.sqlstate
    # No SQLSTATE: libpq's own failure to reach or keep the server; class 08: connection exceptions.
    return state is None or state.startswith("08") or state in _SERVER_GONE


def store_error(exc: BaseException, location: str, what: str) -> RegistryError:
    """The store's own error for a failure of PostgreSQL or of the way to it."""
    if isinstance(exc, RegistryError):
        return exc
    if isinstance(exc, PoolTimeout) or _connection_lost(exc):
        return unreachable(location, exc)
    if isinstance(exc, psycopg.Error) and exc.sqlstate == _DISK_FULL:
        return StoreFull(
            f"the disk that holds the PostgreSQL catalog {location} is full ({first_line(exc)}); nothing "
            "acknowledged was lost and reads still work"
        )
    return StoreError(f"{what}: {first_line(exc)}")


if TYPE_CHECKING:
    # mypy holds the PostgreSQL catalog to the store interface.
    _CATALOG_IS_A_STORE: type[Store] = PostgresCatalog
    _TRANSACTION_IS_A_STORE_TRANSACTION: type[StoreTransaction] = PostgresTransaction
