"""Rows a DuckDB commit stages, durable in one table, and settles into their own tables later.

On DuckDB a statement costs about as much for one row as for sixteen, and so does each table's
share of the COMMIT (0.7-1.8 ms each, measured on a catalog of 100k versions). A registration
writes four tables and its model's figures, about 8.5 ms of the 20 a group of 16 registrations
took, while every client waited. So a commit writes the rows of the tables below, whatever
their number, as one row per table into `staged_rows`: one statement, durable with the commit
like any other. They are settled (inserted into their own tables, one statement per table
for all the commits staged, and the models' figures brought up to date) before anything
else reads or writes the catalog:
- in a write transaction, before its first statement other than buffered inserts (the same
  transaction: it sees and changes the catalog as if nothing had been staged);
- before a reader's query, in a transaction of the reader's own while no write transaction is
  open (`Staging.lock`): a read never misses a write that was answered before it began;
- in a write transaction that finds `MOST_STAGED_COMMITS` commits staged already;
- on a thread of its own (`BackgroundSettle`) once the journal holds that many, while the writer
  journals on: a journaled commit runs no statement in the catalog, so it needs no lock;
- when the catalog opens (what a daemon killed mid-way left staged) and when it closes.

A commit of registrations and nothing else is not even committed into DuckDB: its staged rows
are appended to the journal beside the catalog (store/journal.py) and count as staged commits;
whatever settles inserts the journal's records into `staged_rows` first, in the same transaction.

Events are staged too: the writer keeps the revision and the audit chain's head in memory, and
every read of the events table settles first like any other. The one look that cannot settle,
start-up's read-only check that the catalog holds every revision its mark says was acknowledged
(store/opening.py), reads the staged events beside the table (`staged_event_tail`).
Only tables whose rows the writer decides whole are staged: their numbers come from its own
count and each value is typed by store/rows.py, so no constraint can refuse them later. Were
one to (a defect), nothing is deleted: settling fails loudly, as the statement would have.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import duckdb
from studbook.daemon.store.journal import Journal, StagedRows
from studbook.daemon.store.literals import literal
from studbook.daemon.store.writes import version_figures_join

if TYPE_CHECKING:
    from studbook.daemon.store.catalog import TableShapes


class StagingTransaction(Protocol):
    def query_unflushed(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...


log = logging.getLogger(__name__)
T = TypeVar("T")

TABLE = "staged_rows"
# What registrations write, the hot path: versions, their files, metrics and lineage, and the
# events that record them. The events' own statement was a fifth of a group of 16's time in the
# writer (1.8 of 9.5 ms, measured): staged with the rest, single registrations from 16 clients
# went from 885 to 1,016/s (6 alternating runs, faster in each pair).
STAGED_TABLES = frozenset({"versions", "files", "metrics", "metric_summary", "lineage_edges", "events"})
# A staged table's column its sequence fills, and the sequence: drawn when the rows are staged, not
# when they are settled, so that a read that settles them in a transaction it cannot commit (a
# full disk) sees the same handles each time; a search finds its page's rows by them.
NUMBERED = {"versions": ("vid", "version_ids")}
# Handles drawn at a time (see Staging.ids). A journaled commit that finds too few in hand runs
# in the catalog to draw more, and so waits for a settle under way in the background: at 256 a
# block, one group in sixteen did (with 16 clients registering), and waited 20 ms on average.
ID_BLOCK = 4096
# Past this many commits staged, the next write settles them: a burst of registrations nobody
# reads keeps the table small, and the reader that comes after it waits for little. Settling
# sixteen commits costs about what writing two did (each statement costs nearly the same for
# 16 rows as for 256).
MOST_STAGED_COMMITS = 16
# Past MOST_STAGED_COMMITS journaled, a settle runs in the background (BackgroundSettle) while the
# writer journals on; past this many, or this many bytes of journal, the writer settles in its
# own transaction, as when the background settle fails or falls behind. The bytes bound the
# file, which keeps the records taken in until it is emptied (Journal.drop), and so what the next
# open reads after a crash.
MOST_JOURNALED = 4 * MOST_STAGED_COMMITS
MOST_JOURNAL_BYTES = 4 * 1024 * 1024
# A commit with more rows than this for one table writes them where they belong: its statements
# cost little beside its rows, and staging would write the rows twice (measured: batches of 50
# from 16 clients, 3,070 versions/s written directly, 2,269 staged).
MOST_STAGED_ROWS = 64


class Staging:
    """What is staged in one catalog, and the lock that keeps anyone from settling while a write
    transaction is open in the catalog (the writer holds it from its first statement to commit
    or rollback) and two settles apart."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        # Commits staged in `staged_rows` and not settled, as of the last commit or settle:
        # changed only under the lock.
        self.table_commits = 0
        self._seq = 0
        # Version handles drawn from their sequence ahead, in blocks (see `ids`).
        self._ids: list[int] = []
        # The write transaction that holds `lock`, and its thread.
        self._open: StagingTransaction | None = None
        self._writer: int | None = None
        # Commits staged in the journal beside the catalog rather than in `staged_rows`, counted
        # in `commits` all the same (store/journal.py).
        self.journal: Journal | None = None
        # Called once the journal holds enough records to settle (see `journaled`).
        self.settle_soon: Callable[[], None] | None = None

    @property
    def journaled_commits(self) -> int:
        """Commits in the journal and not yet in the catalog."""
        return len(self.journal.records) if self.journal is not None else 0

    @property
    def commits(self) -> int:
        """Commits staged and not settled, in `staged_rows` and in the journal: read without the
        lock as a hint (a commit counts before its writers are answered, so a read that follows
        an answer sees it)."""
        return self.table_commits + self.journaled_commits

    def journaled(self) -> None:
        """After a commit went to the journal: past MOST_STAGED_COMMITS, settling is due."""
        if self.settle_soon is not None and self.journaled_commits >= MOST_STAGED_COMMITS:
            self.settle_soon()

    def has_ids(self, count: int) -> bool:
        """Whether `count` version handles are drawn already: a commit that needs more must
        draw them in a transaction of the catalog (see `ids`)."""
        return len(self._ids) >= count

    def top_up_ids(self, conn: duckdb.DuckDBPyConnection, sequence: str) -> None:
        """In the open write transaction: draws a block when fewer than a quarter block are in
        hand, so that the journaled commits until the next transaction find theirs drawn."""
        if len(self._ids) < ID_BLOCK // 4:
            self._draw(conn, sequence, ID_BLOCK)

    def open_for_write(self, transaction: StagingTransaction) -> None:
        """`transaction` is open on the calling thread (see `open_here`); it takes the lock only
        once it runs a statement in the catalog (a commit of staged rows alone goes to the
        journal without one, and needs no lock: see `absorb`)."""
        self._open, self._writer = transaction, threading.get_ident()

    def closed_for_write(self) -> None:
        self._open, self._writer = None, None

    def open_here(self) -> StagingTransaction | None:
        """The write transaction the calling thread has open, if any."""
        return self._open if self._writer == threading.get_ident() else None

    def count(self, conn: duckdb.DuckDBPyConnection) -> None:
        """Reads how many commits are staged: at open, and after the connection was replaced."""
        with self.lock:
            commits, top = conn.execute(f"SELECT count(DISTINCT seq), coalesce(max(seq), 0) FROM {TABLE}").fetchall()[0]
            self.table_commits, self._seq, self._ids = int(commits), int(top), []

    def next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def ids(self, conn: duckdb.DuckDBPyConnection, sequence: str, count: int) -> list[int]:
        """`count` handles from `sequence`, in the open write transaction on `conn`: drawn a block
        at a time, since a statement costs as much for one as for a block (a draw inside the
        staging statement cost it 1.2 ms more, measured). DuckDB's sequences do not roll back;
        a block is durable once the transaction that drew it commits (see `forget_ids`)."""
        if len(self._ids) < count:
            self._draw(conn, sequence, max(count, ID_BLOCK))
        taken, self._ids = self._ids[:count], self._ids[count:]
        return taken

    def _draw(self, conn: duckdb.DuckDBPyConnection, sequence: str, count: int) -> None:
        found = conn.execute(f"SELECT nextval('{sequence}') FROM range({count})").fetchall()
        self._ids += sorted(n for (n,) in found)

    def forget_ids(self) -> None:
        """After a rollback: a block drawn in that transaction may not be in the log, and after a
        crash the sequence could hand its handles out again."""
        self._ids = []

    def read(self, cursor: duckdb.DuckDBPyConnection, shapes: TableShapes, read: Callable[[], T]) -> T:
        """`read()` on `cursor`, seeing what is staged: settled first, in a transaction of its own
        once no write transaction is open. Not on a thread that has one open: see `open_here`.

        Where the settling cannot be committed (a full disk: reads go on when writes cannot),
        `read()` runs inside it before it is rolled back: the answer holds every write answered
        before it all the same, and the rows stay staged for the next reader to try again.
        """
        if self.commits:
            with self.lock:
                if self.commits:  # else settled by whoever held the lock before
                    try:
                        self._settle_on(cursor, shapes)
                    except duckdb.Error as exc:
                        log.warning("staged rows could not be settled, a read sees them uncommitted: %s", exc)
                        return self._read_unsettled(cursor, shapes, read)
        return read()

    def _read_unsettled(self, cursor: duckdb.DuckDBPyConnection, shapes: TableShapes, read: Callable[[], T]) -> T:
        cursor.execute("BEGIN TRANSACTION")
        try:
            self.absorb(cursor)
            settle_staged(cursor, shapes)
            return read()
        finally:
            roll_back(cursor)

    def settle(self, cursor: duckdb.DuckDBPyConnection, shapes: TableShapes) -> None:
        """Settles what is staged, as a reader would (see `read`), and fails if it cannot."""
        with self.lock:
            if self.commits:
                self._settle_on(cursor, shapes)

    def begin_settled(self, cursor: duckdb.DuckDBPyConnection, shapes: TableShapes) -> None:
        """Opens on `cursor` a read transaction that sees nothing staged: settles, then begins and
        reads once while no write transaction is open (DuckDB takes a transaction's snapshot at
        its first read), so every commit it misses is one made after it."""
        with self.lock:
            if self.commits:
                self._settle_on(cursor, shapes)
            cursor.execute("BEGIN TRANSACTION")
            cursor.execute(f"SELECT count(*) FROM {TABLE}").fetchall()

    def _settle_on(self, cursor: duckdb.DuckDBPyConnection, shapes: TableShapes) -> None:
        settle_committed(cursor, shapes, self)
        self.table_commits = 0

    def absorb(self, conn: duckdb.DuckDBPyConnection) -> int:
        """Inside a transaction open on `conn`, under the lock: inserts the journal's records
        into `staged_rows` as the commits they are (store/journal.py); how many. The writer may
        journal more meanwhile: they follow these, and stay for the next settle. The caller
        drops these from the journal once that transaction has committed (`absorbed_committed`)."""
        records = self.journal.pending() if self.journal is not None else []
        if records:
            insert_staged(conn, [record.rows for record in records], self)
        return len(records)

    def absorbed_committed(self, count: int) -> None:
        """The transaction that absorbed the journal's first `count` records has committed:
        they are in the catalog now, and out of the journal."""
        if self.journal is not None and count:
            self.journal.drop(count)


class BackgroundSettle:
    """Settles what the journal holds on a thread of its own, once `wake` says enough is there.

    Settling in the writer's transaction held every client of that group: 16 journaled commits
    of registrations took ~40 ms to settle, 6% of the groups and over a third of the writer's
    time (measured with 16 clients). Here the writer goes on journaling meanwhile, and DuckDB
    releases the GIL while it runs the statements. `settle` takes the staging lock as a
    reader's settle does, so a write transaction that runs a statement waits for it.

    A settle that fails is tried again after RETRY_AFTER_S, not at every commit; until one
    succeeds, the writer settles in its own transactions once the journal is full (see
    MOST_JOURNALED), and a failure there refuses its group with its reason as before.
    """

    RETRY_AFTER_S = 1.0

    def __init__(self, settle: Callable[[], None]) -> None:
        self._settle = settle
        self._due = threading.Event()
        self._stopped = threading.Event()
        self._failing = False
        self._thread = threading.Thread(target=self._run, name="studbook-settler", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._due.set()

    def stop(self) -> None:
        """Waits for a settle under way to end (it commits or rolls back), then stops the thread."""
        self._stopped.set()
        self._due.set()
        self._thread.join()

    def _run(self) -> None:
        while True:
            self._due.wait()
            self._due.clear()
            if self._stopped.is_set():
                return
            try:
                self._settle()
            except Exception as exc:  # noqa: BLE001 - the thread must outlive a bad disk
                if not self._failing:
                    log.warning("journaled registrations could not be settled in the background (%s); "
                                "trying again every %.0f s", exc, self.RETRY_AFTER_S)  # fmt: skip
                self._failing = True
                if self._stopped.wait(self.RETRY_AFTER_S):
                    return
                self._due.set()
                continue
            if self._failing:
                log.info("journaled registrations settle in the background again")
                self._failing = False


def settle_committed(conn: duckdb.DuckDBPyConnection, shapes: TableShapes, staging: Staging | None = None) -> None:
    """`settle_staged` in a transaction of its own on `conn`, committed, or rolled back if it
    fails; with `staging`, the journal's records are settled too, and dropped from it once
    committed (Journal.drop)."""
    conn.execute("BEGIN TRANSACTION")
    try:
        absorbed = staging.absorb(conn) if staging is not None else 0
        settle_staged(conn, shapes)
        conn.execute("COMMIT")
    except BaseException:
        roll_back(conn)
        raise
    if staging is not None:
        staging.absorbed_committed(absorbed)


def roll_back(cursor: duckdb.DuckDBPyConnection) -> None:
    try:
        cursor.execute("ROLLBACK")
    except duckdb.Error:
        pass  # DuckDB already rolled back the transaction a failed statement aborted


def worth_staging(pending: dict[str, list[tuple[Any, ...]]]) -> bool:
    """Whether a commit's buffered rows are few enough to stage (see MOST_STAGED_ROWS)."""
    return all(len(pending.get(table, ())) <= MOST_STAGED_ROWS for table in STAGED_TABLES)


def stage_rows(
    conn: duckdb.DuckDBPyConnection, shapes: TableShapes, pending: dict[str, list[tuple[Any, ...]]], staging: Staging
) -> bool:
    """Writes the rows of `pending`'s staged tables into `staged_rows` as the next commit, in one
    statement, and takes them out of `pending`; whether there were any."""
    staged = staged_values(conn, shapes, pending, staging)
    insert_staged(conn, [staged] if staged else [], staging)
    return bool(staged)


def staged_values(
    conn: duckdb.DuckDBPyConnection, shapes: TableShapes, pending: dict[str, list[tuple[Any, ...]]], staging: Staging
) -> list[StagedRows]:
    """The rows of `pending`'s staged tables as `staged_rows` holds them, taken out of `pending`."""
    staged = []
    for table in STAGED_TABLES.intersection(pending):
        rows_ = pending.pop(table)
        if rows_:
            shape = shapes.of(conn, table, rows_)
            numbered = NUMBERED.get(table)
            # The handles the rows will have, drawn now (see NUMBERED).
            ids = None if numbered is None else staging.ids(conn, numbered[1], len(rows_))
            staged.append((table, ",".join(map(str, shape.columns)), shape.document(rows_), ids))
    return staged


def insert_staged(conn: duckdb.DuckDBPyConnection, commits: list[list[StagedRows]], staging: Staging) -> None:
    """Inserts each commit's staged rows into `staged_rows` as the next commits, in one statement."""
    values = [
        # JSON text holds no NUL, so every document is a literal DuckDB reads back exactly.
        f"({seq}, '{table}', '{columns}', {literal(doc)}, {'NULL' if ids is None else ids})"
        for seq, rows_ in ((staging.next_seq(), rows_) for rows_ in commits)
        for table, columns, doc, ids in rows_
    ]
    if values:
        conn.execute(f"INSERT INTO {TABLE} (seq, tbl, columns, doc, ids) VALUES {', '.join(values)}")


def settle_staged(conn: duckdb.DuckDBPyConnection, shapes: TableShapes) -> None:
    """Inside a transaction open on `conn`: inserts every staged row into its table, oldest
    commit first, one statement for each table and set of columns, adds the staged versions to
    their models' figures, and empties `staged_rows`."""
    staged = conn.execute(f"SELECT tbl, columns FROM {TABLE} GROUP BY tbl, columns ORDER BY min(seq)").fetchall()
    for table, columns in staged:
        shape = shapes.shape(conn, table, tuple(int(column) for column in columns.split(",")))
        names, select, ids = shape.names, shape.select, ""
        if (numbered := NUMBERED.get(table)) is not None:
            # Unnested side by side, the n-th handle goes with the n-th row.
            names, select, ids = f"{names}, {numbered[0]}", f"{select}, n", ", unnest(ids) AS n"
        conn.execute(
            f"INSERT INTO {table} ({names}) SELECT {select} FROM (SELECT unnest(from_json(doc, '{shape.layout}')) AS r"
            f"{ids} FROM {TABLE} WHERE tbl = '{table}' AND columns = '{columns}' ORDER BY seq)"
        )
    if any(table == "versions" for table, _ in staged):
        conn.execute(version_figures_join(_staged_figures(conn, shapes)))
    conn.execute(f"DELETE FROM {TABLE}")


def staged_event_tail(conn: duckdb.DuckDBPyConnection, shapes: TableShapes, at_revision: int) -> tuple[int, str | None]:
    """The newest revision among the staged events (0 if none) and the chain hash of the one at
    `at_revision` (None if it is not staged), read without settling: a read-only connection
    cannot."""
    # Asked first, so that a catalog closed cleanly (nothing staged) costs no look at its columns.
    if not conn.execute(f"SELECT count(*) FROM {TABLE} WHERE tbl = 'events'").fetchall()[0][0]:
        return 0, None
    events = _staged_values(conn, shapes, "events", {"revision": "BIGINT", "chain_hash": "VARCHAR"})
    newest, found = conn.execute(
        f"SELECT coalesce(max(revision), 0), max(chain_hash) FILTER (WHERE revision = ?) FROM {events}", [at_revision]
    ).fetchall()[0]
    return int(newest), found


def _staged_figures(conn: duckdb.DuckDBPyConnection, shapes: TableShapes) -> str:
    """Each model's staged versions as (model, added, top), named u."""
    versions = _staged_values(conn, shapes, "versions", {"model": "VARCHAR", "number": "BIGINT"})
    return f"(SELECT model, count(*) AS added, max(number) AS top FROM {versions} GROUP BY model) u"


def _staged_values(conn: duckdb.DuckDBPyConnection, shapes: TableShapes, table: str, kinds: dict[str, str]) -> str:
    """A subquery of `table`'s staged rows with the columns of `kinds` (name: type) by their
    names: read from the staged documents, whose keys name the table's columns by index."""
    names = shapes.columns(conn, table).names
    keys = {name: f"c{names.index(name)}" for name in kinds}
    layout = json.dumps([{keys[name]: kind for name, kind in kinds.items()}])
    picked = ", ".join(f"r.{keys[name]} AS {name}" for name in kinds)
    return f"(SELECT {picked} FROM (SELECT unnest(from_json(doc, '{layout}')) AS r FROM {TABLE} WHERE tbl = '{table}'))"
