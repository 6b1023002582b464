"""The DuckDB catalog: schema migrations, the write transaction and every read query."""

# ruff: noqa: E402  (pandas is hidden from DuckDB before the imports below)

from __future__ import annotations

import base64
import errno
import importlib.util
import json
import sys
import threading
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import duckdb


def make_pandas_probes_cheap() -> None:
    """DuckDB probes for pandas on every bound parameter; without pandas each probe is a
    full import-path scan. A None entry makes the miss instant (measured: ~2x per insert).

    For the daemon process only: other code in a shared process may look pandas up too.
    """
    if importlib.util.find_spec("pandas") is None:
        sys.modules["pandas"] = None  # type: ignore[assignment]


from studbook.daemon.domain.access import Token
from studbook.daemon.domain.errors import RegistryError
from studbook.daemon.domain.filter import Expr
from studbook.daemon.domain.model import (
    Event,
    Metric,
    Model,
    ModelVersion,
    Promotion,
    StageChange,
)
from studbook.daemon.domain.ordering import OrderTerm
from studbook.daemon.store import migrations, retention, rows
from studbook.daemon.store import query as sql
from studbook.daemon.store.interface import Store, StoreTransaction
from studbook.daemon.store.records import (  # noqa: F401  (re-exported: their home before the store interface)
    CatalogSnapshot,
    DropFileRow,
    DropRow,
    KeptScope,
    Page,
    StoredBlob,
    StoreError,
    StoreFull,
    first_line,
)
from studbook.daemon.store.rows import (
    EVENT_COLUMNS,
    MODEL_COLUMNS,
    PROMOTION_COLUMNS,
    STAGE_HISTORY_COLUMNS,
    VERSION_COLUMNS,
    VERSION_SUMMARY_COLUMNS,
)

# Each migration takes the catalog from version N-1 to N; the first creates it. They live in
# migrations/duckdb/ as numbered SQL files, beside the same numbers for PostgreSQL.
MIGRATIONS: tuple[str, ...] = tuple(migration.sql for migration in migrations.load("duckdb"))
SCHEMA_VERSION = len(MIGRATIONS)


def to_db(params: Sequence[Any]) -> list[Any]:
    """Aware datetimes become naive UTC: the catalog stores TIMESTAMP in UTC."""
    return [p.astimezone(UTC).replace(tzinfo=None) if isinstance(p, datetime) and p.tzinfo else p for p in params]


def from_db(found: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Naive datetimes read back are UTC; make them aware so no caller has to remember."""
    return [
        tuple(v.replace(tzinfo=UTC) if isinstance(v, datetime) and v.tzinfo is None else v for v in row)
        for row in found
    ]


class DurableCommit(Exception):
    """DuckDB committed the transaction, then failed the checkpoint that followed it and
    invalidated its connection: the writes are durable, the connection must be reopened."""


# DuckDB 1.5's words when an autocheckpoint fails after a commit that did land.
_DURABLE_COMMIT = "COMMIT succeeded and is durable"
# strerror of ENOSPC and EDQUOT, as DuckDB quotes them in its I/O errors.
_NO_ROOM = ("No space left on device", "Disk quota exceeded")


def is_disk_full(exc: BaseException) -> bool:
    if isinstance(exc, OSError):
        return exc.errno in (errno.ENOSPC, errno.EDQUOT)
    return any(words in str(exc) for words in _NO_ROOM)


class Catalog:
    """Owns the DuckDB connection. Writes go through `transaction()` on the writer thread;
    reads use a cursor per thread, which sees only committed data."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn = self._connect()
        # Bumped when the connection is replaced, so each thread knows its cursor is stale.
        self._generation = 0
        self._conn_lock = threading.Lock()
        # Times the connection was reopened after DuckDB invalidated it.
        self.reopens = 0
        self._local = threading.local()
        self._shapes = TableShapes()
        try:
            self._migrate()
        except duckdb.Error as exc:
            self._conn.close()
            raise StoreError(f"cannot upgrade the catalog {path}: {first_line(exc)}") from exc
        except StoreError:
            self._conn.close()
            raise

    def _connect(self) -> duckdb.DuckDBPyConnection:
        try:
            return duckdb.connect(str(self.path))
        except duckdb.Error as exc:
            raise StoreError(f"cannot open the catalog {self.path}: {first_line(exc)}") from exc

    @property
    def location(self) -> str:
        return str(self.path)

    def close(self) -> None:
        try:
            self._conn.close()
        except duckdb.Error:
            pass  # the checkpoint on close failed (a full disk): the log keeps every write

    def reopen_if_invalidated(self) -> bool:
        """Reopens the catalog when DuckDB invalidated the connection after a fatal error (a
        checkpoint that met a full disk); True when it did. On the writer thread only.

        Closing the connection closes every reader's cursor with it; each reader takes a new
        cursor on its next query. Reopening replays the write-ahead log, so nothing committed
        is lost, and it needs no free space.
        """
        try:
            self._conn.execute("SELECT count(*) FROM meta").fetchall()
            return False
        except duckdb.FatalException:
            pass
        except duckdb.ConnectionException:
            pass  # already closed by an earlier attempt that failed to reconnect
        try:
            self._conn.close()
        except duckdb.Error:
            pass
        connection = self._connect()
        with self._conn_lock:
            self._conn, self._generation = connection, self._generation + 1
        self.reopens += 1
        return True

    # -- schema ---------------------------------------------------------------------------

    def _migrate(self) -> None:
        conn = self._conn
        has_meta = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'meta' "
            "AND table_catalog = current_database()"
        ).fetchone()
        current = 0
        if has_meta and has_meta[0]:
            row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            current = int(row[0]) if row else 0
        if current > SCHEMA_VERSION:
            raise StoreError(
                f"the catalog {self.path} has schema version {current}, newer than this studbook "
                f"({SCHEMA_VERSION}); upgrade studbook",
                reason="SCHEMA_TOO_NEW",
            )
        for target in range(current + 1, SCHEMA_VERSION + 1):
            conn.execute("BEGIN")
            conn.execute(MIGRATIONS[target - 1])
            conn.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(target)])
            conn.execute("COMMIT")
        if current < SCHEMA_VERSION:
            # Schema changes go into the file now, not the WAL: DuckDB 1.5.5 cannot replay an
            # ALTER TABLE ... ADD COLUMN on a table with a nextval() default ("GetDefaultDatabase
            # with no default database set"), so a kill -9 before the next checkpoint would leave
            # a catalog that no longer opens.
            conn.execute("CHECKPOINT")

    # -- writing --------------------------------------------------------------------------

    def transaction(self) -> Transaction:
        return Transaction(self._conn, self._shapes)

    # -- reading --------------------------------------------------------------------------

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        cached: tuple[int, duckdb.DuckDBPyConnection] | None = getattr(self._local, "cursor", None)
        with self._conn_lock:
            generation, conn = self._generation, self._conn
        if cached is None or cached[0] != generation:
            cached = (generation, conn.cursor())
            self._local.cursor = cached
        return cached[1]

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            found = self._cursor().execute(sql, to_db(params)).fetchall()
        except duckdb.Error as exc:
            raise store_error(exc, "catalog read failed") from exc
        return from_db(found)

    def load_tokens(self) -> list[Token]:
        return [rows.token_from_row(r) for r in self.query(f"SELECT {rows.TOKEN_COLUMNS} FROM tokens")]

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
            self._conn.execute("INSERT INTO meta VALUES ('catalog_id', ?) ON CONFLICT DO NOTHING", [uuid.uuid4().hex])
            found = self.meta("catalog_id")
        assert found is not None
        return found

    def load_models(self) -> list[Model]:
        models = {
            m.name: m for m in map(rows.model_from_row, self.query(f"SELECT {', '.join(MODEL_COLUMNS)} FROM models"))
        }
        for name, count, latest in self.query("SELECT model, count(*), max(number) FROM versions GROUP BY model"):
            models[name].version_count = count
            models[name].latest_version = latest
        for model, label, is_alias, number in self.query("SELECT model, label, is_alias, number FROM stage_holders"):
            (models[model].aliases if is_alias else models[model].stage_holders)[label] = number
        return list(models.values())

    def load_version_index(self) -> list[tuple[str, int, str, str, str, str]]:
        """(model, number, status, semver, request_id, content_digest) of every version."""
        return self.query("SELECT model, number, status, semver, request_id, content_digest FROM versions")

    def load_promotion_index(self) -> tuple[int, dict[str, int]]:
        """The highest promotion id and request_id -> promotion id."""
        top = self.query("SELECT coalesce(max(id), 0) FROM promotions")[0][0]
        ids = dict(self.query("SELECT request_id, id FROM promotions WHERE request_id <> ''"))
        return int(top), ids

    def model_request_ids(self) -> dict[str, str]:
        return dict(self.query("SELECT request_id, name FROM models WHERE request_id <> ''"))

    def get_version(self, model: str, number: int) -> ModelVersion | None:
        return read_version(self.query, model, number)

    def list_versions(
        self,
        expr: Expr | None,
        order: Sequence[OrderTerm],
        *,
        model: str | None,
        show_archived: bool,
        limit: int,
        offset: int = 0,
        after: Sequence[object] | None = None,
        summary_only: bool,
    ) -> Page:
        """One page of versions matching a parsed filter, and how many match in all.

        The page starts after the row whose sort keys are `after` (a previous page's
        `next_after`; None for the start), then `offset` rows further (AIP-158 skip).
        Two steps: the filter and sort run over narrow key columns only, then the page's
        rows are fetched whole through the `vid` index. Reading every column of every
        matching row before the sort cuts the page was measured ~2x slower at 100k versions.
        """
        where = [sql.compile_version_filter(expr)]
        if model is not None:
            where.append(sql.Fragment("v.model = ?", [model]))
        if not show_archived:
            where.append(sql.Fragment("v.status <> 'archived'", []))
        found, total, next_after = self._page_keys("v.vid", "versions", where, order, limit, offset, after)
        versions = self._versions_by_vid(found, summary_only)
        if not summary_only:
            self._attach_files(versions)
        return Page(versions, total, next_after)

    def _page_keys(
        self, row_id: str, resource: Literal["versions", "models"], where: list[sql.Fragment],
        order: Sequence[OrderTerm], limit: int, offset: int, after: Sequence[object] | None,
    ) -> tuple[list[Any], int, tuple[object, ...] | None]:  # fmt: skip
        """Row ids of one page, the total, and the sort keys to continue after (None at the end).

        One row more than the page is read: whether it exists says if another page
        follows, without trusting a total that later writes may already have changed.
        """
        statement = sql.page_statement(
            row_id, resource, where, sql.compile_order(order, resource), limit=limit + 1, offset=offset, after=after
        )
        found = self.query(statement.sql, statement.params)
        total = int(found[0][1]) if found else self._count(resource, where)
        page = found[:limit]
        next_after = tuple(page[-1][2:]) if len(found) > limit and page else None
        return [row[0] for row in page], total, next_after

    def _versions_by_vid(self, vids: list[int], summary_only: bool) -> list[ModelVersion]:
        if not vids:
            return []
        columns = VERSION_SUMMARY_COLUMNS if summary_only else VERSION_COLUMNS
        # Integers this query just read, written as literals: DuckDB uses the index for a
        # constant IN list, not for a list parameter.
        listed = ", ".join(str(int(vid)) for vid in vids)
        found = self.query(f"SELECT vid, {', '.join(columns)} FROM versions WHERE vid IN ({listed})")
        by_vid = {row[0]: rows.version_from_row(row[1:], columns) for row in found}
        return [by_vid[vid] for vid in vids if vid in by_vid]

    def _count(self, resource: Literal["versions", "models"], where: list[sql.Fragment]) -> int:
        statement = sql.select_statement("count(*)", resource, where, sql.NO_ORDER)
        return int(self.query(statement.sql, statement.params)[0][0])

    def _attach_files(self, versions: list[ModelVersion]) -> None:
        if not versions:
            return
        keys = {(v.model, v.number): v for v in versions}
        for model, number, *file in self.query(
            "SELECT f.model, f.number, f.path, f.size, f.sha256, f.format, f.flags, f.format_info "
            "FROM files f JOIN (SELECT unnest(?) AS model, unnest(?) AS number) k "
            "USING (model, number) ORDER BY f.path",
            [[k[0] for k in keys], [k[1] for k in keys]],
        ):
            keys[(model, number)].files.append(rows.file_from_row(tuple(file)))

    def list_models(
        self,
        expr: Expr | None,
        order: Sequence[OrderTerm],
        *,
        show_archived: bool,
        limit: int,
        offset: int = 0,
        after: Sequence[object] | None = None,
    ) -> Page:
        """One page of model names matching a parsed filter, and how many match in all.

        The page starts after the row whose sort keys are `after`, as in `list_versions`.
        """
        where = [sql.compile_model_filter(expr)]
        if not show_archived:
            where.append(sql.Fragment("m.state = 'active'", []))
        names, total, next_after = self._page_keys("m.name", "models", where, order, limit, offset, after)
        return Page(names, total, next_after)

    def metric_series(self, model: str, number: int, key: str, split: str) -> list[Metric]:
        where, params = _conditions(
            ("model = ?", model), ("number = ?", number), ("key = ?", key or None), ("split = ?", split or None)
        )
        return [
            rows.metric_from_row(r)
            for r in self.query(
                f"SELECT key, split, step, value, time FROM metrics WHERE {where} "
                "ORDER BY key, split, step NULLS FIRST, time",
                params,
            )
        ]

    def stage_history(self, model: str, label: str, limit: int, before_revision: int | None) -> list[StageChange]:
        where, params = _conditions(
            ("model = ?", model), ("label = ?", label or None), ("revision < ?", before_revision)
        )
        return [
            rows.stage_change_from_row(r)
            for r in self.query(
                f"SELECT {', '.join(STAGE_HISTORY_COLUMNS)} FROM stage_history WHERE {where} "
                "ORDER BY revision DESC LIMIT ?",
                [*params, limit],
            )
        ]

    def holders_at(self, model: str, at: datetime) -> dict[str, int]:
        """Who held each stage and alias at `at`: the last change at or before it, if any."""
        return {
            label: number
            for label, number in self.query(
                "SELECT label, arg_max_null(number, revision) FROM stage_history "
                "WHERE model = ? AND time <= ? GROUP BY label",
                [model, at],
            )
            if number is not None
        }

    def get_promotion(self, model: str, promotion_id: int) -> Promotion | None:
        found = self.query(
            f"SELECT {', '.join(PROMOTION_COLUMNS)} FROM promotions WHERE model = ? AND id = ?",
            [model, promotion_id],
        )
        return rows.promotion_from_row(found[0]) if found else None

    def list_promotions(
        self, model: str | None, state: str | None, limit: int, before_id: int | None
    ) -> list[Promotion]:
        where, params = _conditions(("model = ?", model), ("state = ?", state), ("id < ?", before_id))
        return [
            rows.promotion_from_row(r)
            for r in self.query(
                f"SELECT {', '.join(PROMOTION_COLUMNS)} FROM promotions WHERE {where} ORDER BY id DESC LIMIT ?",
                [*params, limit],
            )
        ]

    def chained_events_after(self, revision: int, limit: int) -> list[tuple[Event, str]]:
        """Events with their stored chain hash, in revision order."""
        return [
            (Event(*r[:-1]), r[-1])
            for r in self.query(
                f"SELECT {EVENT_COLUMNS}, chain_hash FROM events WHERE revision > ? ORDER BY revision LIMIT ?",
                [revision, limit],
            )
        ]

    def audit_records_after(self, revision: int, limit: int) -> list[tuple[Event, str, Event | None]]:
        """Like `chained_events_after`, each with the previous event on the same subject (its before)."""
        width = len(rows.EVENT_FIELDS)
        found = self.query(
            f"SELECT {rows.event_columns('e')}, e.chain_hash, {rows.event_columns('p')} "
            "FROM (SELECT * FROM events WHERE revision > ? ORDER BY revision LIMIT ?) e "
            "ASOF LEFT JOIN events p ON e.subject = p.subject AND e.revision > p.revision ORDER BY e.revision",
            [revision, limit],
        )
        return [
            (Event(*r[:width]), r[width], Event(*r[width + 1 :]) if r[width + 1] is not None else None) for r in found
        ]

    def chain_head(self) -> str:
        found = self.query("SELECT chain_hash FROM events ORDER BY revision DESC LIMIT 1")
        return found[0][0] if found else ""

    def events_after(self, revision: int, limit: int) -> list[Event]:
        return [
            Event(*r)
            for r in self.query(
                f"SELECT {EVENT_COLUMNS} FROM events WHERE revision > ? ORDER BY revision LIMIT ?",
                [revision, limit],
            )
        ]

    def min_revision(self) -> int:
        return int(self.query("SELECT coalesce(min(revision), 0) FROM events")[0][0])

    def lineage_edges(self, nodes: Iterable[str], upstream: bool) -> list[tuple[str, str, str]]:
        """Edges touching `nodes`: those into them (upstream) or out of them (downstream)."""
        column = "target" if upstream else "source"
        return self.query(
            f"SELECT source, target, kind FROM lineage_edges WHERE {column} IN (SELECT unnest(?))",
            [list(nodes)],
        )

    def lineage_labels(self, names: Iterable[str]) -> dict[str, tuple[str, str]]:
        """name -> (kind, label) for dataset and run nodes."""
        return {
            name: (kind, label)
            for name, kind, label in self.query(
                "SELECT name, kind, label FROM lineage_nodes WHERE name IN (SELECT unnest(?))",
                [list(names)],
            )
        }

    def version_labels(self, keys: Iterable[tuple[str, int]]) -> dict[tuple[str, int], str]:
        keys = list(keys)
        if not keys:
            return {}
        return {
            (model, number): semver
            for model, number, semver in self.query(
                "SELECT v.model, v.number, v.semver FROM versions v "
                "JOIN (SELECT unnest(?) AS model, unnest(?) AS number) k USING (model, number)",
                [[k[0] for k in keys], [k[1] for k in keys]],
            )
        }

    def kept_scope(self, model: str | None, number: int | None, skipped_limit: int = 100) -> KeptScope:
        """The blobs of the kept versions of one version, one model (`number` None) or all (both None)."""
        where, params = _conditions(("v.model = ?", model), ("v.number = ?", number))
        blobs = self.query(
            f"SELECT f.sha256, max(f.size) FROM files f JOIN versions v USING (model, number) "
            f"WHERE v.kept AND {where} GROUP BY f.sha256 ORDER BY f.sha256",
            params,
        )
        kept = int(self.query(f"SELECT count(*) FROM versions v WHERE v.kept AND {where}", params)[0][0])
        corrupt = self.query(
            f"SELECT model, number FROM versions v WHERE v.kept AND v.status = 'corrupt' AND {where}", params
        )
        skipped_count = int(self.query(f"SELECT count(*) FROM versions v WHERE NOT v.kept AND {where}", params)[0][0])
        skipped = self.query(
            f"SELECT model, number FROM versions v WHERE NOT v.kept AND {where} ORDER BY model, number LIMIT ?",
            [*params, skipped_limit],
        )
        return KeptScope([(s, int(n)) for s, n in blobs], kept, [(m, int(n)) for m, n in corrupt],
                         [(m, int(n)) for m, n in skipped], skipped_count)  # fmt: skip

    def files_with_blobs(self, sha256s: Sequence[str]) -> list[tuple[str, int, str, str]]:
        """(model, number, path, sha256) of every file of a kept version stored as one of these blobs."""
        if not sha256s:
            return []
        return [
            (m, int(n), path, sha)
            for m, n, path, sha in self.query(
                "SELECT f.model, f.number, f.path, f.sha256 FROM files f JOIN versions v USING (model, number) "
                "WHERE v.kept AND f.sha256 IN (SELECT unnest(?)) ORDER BY f.model, f.number, f.path",
                [list(sha256s)],
            )
        ]

    def stored_blobs(self) -> list[StoredBlob]:
        """Every blob the kept versions refer to, each once."""
        return _stored_blobs(self.query)

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
        alias = f"studbook_snapshot_{uuid.uuid4().hex[:12]}"
        cursor = self._conn.cursor()
        attached = False
        try:
            cursor.execute("BEGIN TRANSACTION")
            run = _runner(cursor)
            revision, head = run("SELECT coalesce(max(revision), 0), coalesce(arg_max(chain_hash, revision), '') "
                                 "FROM events")[0]  # fmt: skip
            schema = int(run("SELECT value FROM meta WHERE key = 'schema_version'")[0][0])
            versions = int(run("SELECT count(*) FROM versions")[0][0])
            blobs = _stored_blobs(run)
            source = run("SELECT current_database()")[0][0]
            cursor.execute(f"ATTACH {_sql_text(str(target))} AS {alias}")
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

    def load_drops(self) -> tuple[list[DropRow], list[DropFileRow]]:
        """Every drop-in verdict and every drop's files as last seen."""
        drops = [DropRow(*r) for r in self.query(f"SELECT {', '.join(DropRow._fields)} FROM drops ORDER BY root, path")]
        files = [DropFileRow(*r) for r in self.query(
            f"SELECT {', '.join(DropFileRow._fields)} FROM drop_files ORDER BY root, path, file")]  # fmt: skip
        return drops, files

    def retention_facts(self, rules: Sequence[retention.RetentionRule]) -> list[retention.RetentionFacts]:
        """Every version beyond its rule's keep_last with what protects it (see store.retention)."""
        return retention.retention_facts(self.query, rules)

    def max_vid(self) -> int:
        return retention.max_vid(self.query)

    def unreferenced_blobs(self, stored: Sequence[tuple[str, int, float]],
                           purging: Sequence[tuple[str, int]] = ()) -> list[retention.UnreferencedBlob]:  # fmt: skip
        """The stored blobs no version refers to, `purging` left out (see store.retention)."""
        return retention.unreferenced_blobs(self.query, stored, purging)


Run = Callable[..., list[tuple[Any, ...]]]


def _stored_blobs(run: Run) -> list[StoredBlob]:
    return [
        StoredBlob(sha256, int(size), bool(known_bad))
        for sha256, size, known_bad in run(
            "SELECT f.sha256, max(f.size), bool_and(v.status = 'corrupt') FROM files f "
            "JOIN versions v USING (model, number) WHERE v.kept GROUP BY f.sha256 ORDER BY f.sha256"
        )
    ]


def _runner(cursor: duckdb.DuckDBPyConnection) -> Run:
    def run(sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return from_db(cursor.execute(sql, to_db(params)).fetchall())

    return run


def _sql_text(value: str) -> str:
    """A SQL string literal, for the statements that take no parameters (ATTACH)."""
    return "'" + value.replace("'", "''") + "'"


def _sql_name(value: str) -> str:
    """A quoted SQL identifier."""
    return '"' + value.replace('"', '""') + '"'


def read_version(
    run: Callable[[str, Sequence[Any]], list[tuple[Any, ...]]], model: str, number: int
) -> ModelVersion | None:
    """A whole version record, through a reader cursor or inside the write transaction."""
    found = run(f"SELECT {', '.join(VERSION_COLUMNS)} FROM versions WHERE model = ? AND number = ?", [model, number])
    if not found:
        return None
    version = rows.version_from_row(found[0])
    version.files = [
        rows.file_from_row(r)
        for r in run(
            "SELECT path, size, sha256, format, flags, format_info FROM files WHERE model = ? AND number = ? "
            "ORDER BY path",
            [model, number],
        )
    ]
    return version


def read_versions(
    run: Callable[[str, Sequence[Any]], list[tuple[Any, ...]]], keys: Sequence[tuple[str, int]]
) -> list[ModelVersion]:
    """Whole version records with their files, in two queries whatever their number."""
    if not keys:
        return []
    wanted, document = retention.rows_of(
        model=("VARCHAR", [k[0] for k in keys]), number=("BIGINT", [k[1] for k in keys])
    )
    versions = {
        (v.model, v.number): v
        for v in map(rows.version_from_row, run(
            f"SELECT {', '.join(f'v.{c}' for c in VERSION_COLUMNS)} FROM versions v SEMI JOIN {wanted} k "
            "USING (model, number)", [document]))
    }  # fmt: skip
    for model, number, *file in run(
        f"SELECT f.model, f.number, f.path, f.size, f.sha256, f.format, f.flags, f.format_info FROM files f "
        f"SEMI JOIN {wanted} k "
        "USING (model, number) ORDER BY f.model, f.number, f.path", [document],
    ):  # fmt: skip
        versions[(model, number)].files.append(rows.file_from_row(tuple(file)))
    return [versions[key] for key in keys if key in versions]


def _conditions(*pairs: tuple[str, Any]) -> tuple[str, list[Any]]:
    """ANDs the `column op ?` conditions whose value is not None."""
    kept = [(condition, value) for condition, value in pairs if value is not None]
    return " AND ".join(c for c, _ in kept) or "true", [v for _, v in kept]


@dataclass(frozen=True)
class TableShape:
    """How rows of one table are packed into JSON and unpacked by DuckDB."""

    insert_sql: str
    structure: str
    blob_columns: tuple[int, ...]

    def document(self, rows_: list[tuple[Any, ...]]) -> str:
        def cell(index: int, value: Any) -> Any:
            if isinstance(value, datetime):
                return (value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value).isoformat()
            if index in self.blob_columns and value is not None:
                return base64.b64encode(value).decode()
            return value

        return json.dumps([{f"c{i}": cell(i, v) for i, v in enumerate(row)} for row in rows_])


class TableShapes:
    """Column lists read once from the catalog itself, so the schema file stays the one truth."""

    def __init__(self) -> None:
        self._shapes: dict[str, TableShape] = {}

    def of(self, conn: duckdb.DuckDBPyConnection, table: str) -> TableShape:
        shape = self._shapes.get(table)
        if shape is None:
            # Columns filled by a sequence are left to their default.
            columns = conn.execute(
                # Only this database's table: a catalog copy being written is attached beside it.
                "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? "
                "AND table_catalog = current_database() "
                "AND coalesce(column_default, '') NOT LIKE 'nextval(%' ORDER BY ordinal_position",
                [table],
            ).fetchall()
            structure = {
                f"c{i}": ("VARCHAR" if kind in ("JSON", "BLOB") else kind) for i, (_, kind) in enumerate(columns)
            }
            blobs = tuple(i for i, (_, kind) in enumerate(columns) if kind == "BLOB")
            select = ", ".join(f"from_base64(r.c{i})" if i in blobs else f"r.c{i}" for i in range(len(columns)))
            names = ", ".join(name for name, _ in columns)
            shape = TableShape(
                insert_sql=f"INSERT INTO {table} ({names}) SELECT {select} FROM (SELECT unnest(from_json(?::JSON, ?)) AS r)",
                structure=json.dumps([structure]),
                blob_columns=blobs,
            )
            self._shapes[table] = shape
        return shape


@dataclass
class Transaction:
    """One write transaction. Inserts are buffered per table and flushed as one statement
    per table; any other statement flushes first so statements apply in order."""

    conn: duckdb.DuckDBPyConnection
    shapes: TableShapes
    _pending: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)

    def begin(self) -> None:
        self.conn.execute("BEGIN")

    def commit(self) -> None:
        self.flush()
        try:
            self.conn.execute("COMMIT")
        except duckdb.FatalException as exc:
            if _DURABLE_COMMIT in str(exc):
                raise DurableCommit(first_line(exc)) from exc
            raise

    def rollback(self) -> None:
        self._pending.clear()
        try:
            self.conn.execute("ROLLBACK")
        except duckdb.Error:
            pass  # nothing was open, or the connection already aborted it

    def insert(self, table: str, row: tuple[Any, ...]) -> None:
        self._pending.setdefault(table, []).append(row)

    def insert_many(self, table: str, rows_: Iterable[tuple[Any, ...]]) -> None:
        self._pending.setdefault(table, []).extend(rows_)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        self.flush()
        return from_db(self.conn.execute(sql, to_db(params)).fetchall())

    def flush(self) -> None:
        """Writes buffered rows, one statement per table.

        Rows travel as one JSON document that DuckDB unpacks itself: binding parameters
        costs about as much per value as the statement does, so a batch of 64 rows binds
        in ~2 ms this way against ~17 ms as a multi-row VALUES list (measured here).
        """
        for table, pending in self._pending.items():
            if not pending:
                continue
            shape = self.shapes.of(self.conn, table)
            self.conn.execute(shape.insert_sql, [shape.document(pending), shape.structure])
        self._pending.clear()

    # -- typed helpers, so callers never write SQL --------------------------------------

    def insert_model(self, model: Model, request_id: str) -> None:
        self.insert("models", rows.model_row(model, request_id))

    def update_model(self, model: Model) -> None:
        self.execute(
            "UPDATE models SET description = ?, owner = ?, tags = ?, stages = ?, state = ?, "
            "update_time = ?, revision = ? WHERE name = ?",
            [
                model.description,
                model.owner,
                rows.dumps(model.tags),
                rows.dumps(list(model.stages)),
                model.state.value,
                model.update_time,
                model.revision,
                model.name,
            ],  # fmt: skip
        )

    def delete_model(self, name: str) -> None:
        for table in ("files", "metrics", "metric_summary", "stage_holders", "versions", "promotions"):
            self.execute(f"DELETE FROM {table} WHERE model = ?", [name])
        self.execute("DELETE FROM lineage_edges WHERE starts_with(source, ?) OR starts_with(target, ?)",
                     [f"models/{name}/", f"models/{name}/"])  # fmt: skip
        self.execute("DELETE FROM models WHERE name = ?", [name])

    def insert_version(self, version: ModelVersion) -> None:
        self.insert("versions", rows.version_row(version))
        self.insert_many("files", (rows.file_row(version.model, version.number, f) for f in version.files))

    def update_version_fields(self, version: ModelVersion) -> None:
        self.execute(
            "UPDATE versions SET description = ?, tags = ?, status = ?, status_reason = ?, "
            "update_time = ?, revision = ? WHERE model = ? AND number = ?",
            [
                version.description,
                rows.dumps(version.tags),
                version.status.value,
                version.status_reason,
                version.update_time,
                version.revision,
                version.model,
                version.number,
            ],  # fmt: skip
        )

    def insert_metrics(
        self, model: str, number: int, series: Sequence[Metric], latest: Sequence[Metric], replace_summary: bool
    ) -> None:
        """Appends observations; `latest` (one per key and split) replaces the summary rows."""
        self.insert_many("metrics", (rows.metric_row(model, number, m) for m in series))
        if replace_summary and latest:
            self.execute(
                "DELETE FROM metric_summary WHERE model = ? AND number = ? AND "
                "(key, split) IN (SELECT (unnest(?), unnest(?)))",
                [model, number, [m.key for m in latest], [m.split for m in latest]],
            )
        self.insert_many("metric_summary", ((model, number, m.key, m.split, m.value, m.step, m.time) for m in latest))

    def set_version_metrics(self, model: str, number: int, latest: Sequence[Metric]) -> None:
        """The version row's own copy of its latest metrics, which reads and lists return."""
        self.execute(
            "UPDATE versions SET metrics = ? WHERE model = ? AND number = ?",
            [rows.metrics_json(latest), model, number],
        )

    def insert_lineage(self, nodes: Sequence[tuple[str, str, str, str]],
                       edges: Sequence[tuple[str, str, str]]) -> None:  # fmt: skip
        """nodes: (name, kind, label, attrs json); existing nodes are kept as they are."""
        for name, kind, label, attrs in nodes:
            self.execute(
                "INSERT INTO lineage_nodes VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                [name, kind, label, attrs],
            )
        self.insert_many("lineage_edges", edges)

    def set_holder(self, model: str, label: str, is_alias: bool, number: int | None) -> None:
        self.execute(
            "DELETE FROM stage_holders WHERE model = ? AND label = ? AND is_alias = ?",
            [model, label, is_alias],
        )
        if number is not None:
            self.insert("stage_holders", (model, label, is_alias, number))

    def insert_stage_change(self, change: StageChange) -> None:
        self.insert("stage_history", rows.stage_change_row(change))

    def get_version(self, model: str, number: int) -> ModelVersion | None:
        """The version as this transaction sees it, uncommitted changes included."""
        return read_version(self.execute, model, number)

    def get_versions(self, keys: Sequence[tuple[str, int]]) -> list[ModelVersion]:
        """Whole version records as this transaction sees them, in two queries."""
        return read_versions(self.execute, keys)

    def still_decided(self, purges: Sequence[tuple[str, int]], archives: Sequence[tuple[str, int]],
                      rules: Sequence[retention.RetentionRule], horizon: int) -> set[tuple[str, int]]:  # fmt: skip
        """Of a plan's purges and archives, those that still hold (see store.retention.still_decided)."""
        return retention.still_decided(self.execute, purges, archives, rules, horizon)

    def archive_versions(self, keys: Sequence[tuple[str, int]], revisions: Sequence[int], reasons: Sequence[str],
                         time: datetime) -> None:  # fmt: skip
        retention.archive_versions(self.execute, keys, revisions, reasons, time)

    def purge_versions(self, keys: Sequence[tuple[str, int]]) -> list[str]:
        """Deletes the versions' rows; returns the sha256 of their files (see store.retention)."""
        return retention.purge_versions(self.execute, keys)

    def set_version_statuses(self, versions: Sequence[ModelVersion]) -> None:
        """Status, reason, update time and revision of many versions, in one statement."""
        if not versions:
            return
        self.execute(
            "UPDATE versions SET status = u.status, status_reason = u.reason, update_time = u.update_time, "
            "revision = u.revision FROM (SELECT unnest(?) AS model, unnest(?) AS number, unnest(?) AS status, "
            "unnest(?) AS reason, unnest(?::TIMESTAMP[]) AS update_time, unnest(?) AS revision) u "
            "WHERE versions.model = u.model AND versions.number = u.number",
            [
                [v.model for v in versions],
                [v.number for v in versions],
                [v.status.value for v in versions],
                [v.status_reason for v in versions],
                to_db([v.update_time for v in versions]),
                [v.revision for v in versions],
            ],  # fmt: skip
        )

    def previous_holder(self, model: str, label: str, current: int) -> int | None:
        """The holder `current` replaced when it was last promoted (not rolled back) into `label`."""
        found = self.execute(
            "SELECT previous_number FROM stage_history WHERE model = ? AND label = ? AND number = ? "
            "AND NOT rollback ORDER BY revision DESC LIMIT 1",
            [model, label, current],
        )
        return found[0][0] if found else None

    def get_promotion(self, model: str, promotion_id: int) -> Promotion | None:
        found = self.execute(
            f"SELECT {', '.join(PROMOTION_COLUMNS)} FROM promotions WHERE model = ? AND id = ?",
            [model, promotion_id],
        )
        return rows.promotion_from_row(found[0]) if found else None

    def insert_promotion(self, promotion: Promotion) -> None:
        self.insert("promotions", rows.promotion_row(promotion))

    def update_promotion(self, promotion: Promotion) -> None:
        # An UPDATE of non-key columns; DuckDB rewrites key columns as delete + insert.
        row = dict(zip(PROMOTION_COLUMNS, rows.promotion_row(promotion)))
        changing = ("state", "previous_number", "reason", "gate_results", "approvals", "update_time")
        self.execute(
            f"UPDATE promotions SET {', '.join(f'{c} = ?' for c in changing)} WHERE id = ?",
            [*(row[c] for c in changing), promotion.id],
        )

    def insert_event(self, event: Event, chain_hash: str) -> None:
        self.insert(
            "events",
            (event.revision, event.time, event.type, event.subject, event.model, event.actor, event.payload,
             chain_hash, event.role),
        )  # fmt: skip

    def insert_token(self, token: Token) -> None:
        self.insert("tokens", rows.token_row(token))

    def token_name_taken(self, display_name: str) -> bool:
        return bool(self.execute("SELECT 1 FROM tokens WHERE display_name = ?", [display_name]))

    def revoke_token(self, token_id: str, time: datetime, revoker: str) -> None:
        self.execute("UPDATE tokens SET revoke_time = ?, revoker = ? WHERE id = ?", [time, revoker, token_id])

    def set_chain_hashes(self, hashes: Sequence[tuple[int, str]]) -> None:
        """Fills in the chain of events written before the chain existed (migration 2)."""
        self.execute(
            "UPDATE events SET chain_hash = h.hash FROM (SELECT unnest(?) AS revision, unnest(?) AS hash) h "
            "WHERE events.revision = h.revision",
            [[r for r, _ in hashes], [h for _, h in hashes]],
        )

    def put_drop(self, drop: DropRow, files: Sequence[DropFileRow] | None) -> None:
        """Replaces the drop at (root, path); `files` None keeps its files as they are."""
        self.execute("DELETE FROM drops WHERE root = ? AND path = ?", [drop.root, drop.path])
        self.insert("drops", tuple(drop))
        if files is not None:
            self.execute("DELETE FROM drop_files WHERE root = ? AND path = ?", [drop.root, drop.path])
            self.insert_many("drop_files", (tuple(f) for f in files))

    def delete_drop(self, root: str, path: str) -> None:
        for table in ("drops", "drop_files"):
            self.execute(f"DELETE FROM {table} WHERE root = ? AND path = ?", [root, path])

    def set_version_storage_uri(self, model: str, number: int, storage_uri: str) -> None:
        """Where a version's files now lie (a drop renamed inside its root); content is unchanged."""
        self.execute("UPDATE versions SET storage_uri = ? WHERE model = ? AND number = ?",
                     [storage_uri, model, number])  # fmt: skip


def store_error(exc: BaseException, what: str) -> RegistryError:
    """The store's own error for a failure of DuckDB or of the file system under it."""
    if is_disk_full(exc):
        return StoreFull(
            f"the disk that holds the catalog is full ({first_line(exc)}); nothing acknowledged was lost "
            "and reads still work"
        )
    return StoreError(f"{what}: {first_line(exc)}")


def wrap_store_errors(exc: BaseException) -> RegistryError:
    if isinstance(exc, RegistryError):
        return exc
    return store_error(exc, "catalog write failed")


if TYPE_CHECKING:
    # mypy holds the DuckDB catalog to the store interface here, not only where one is passed.
    _CATALOG_IS_A_STORE: type[Store] = Catalog
    _TRANSACTION_IS_A_STORE_TRANSACTION: type[StoreTransaction] = Transaction
