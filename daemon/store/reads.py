"""The catalog's reads, written once for both backends: each query asks the backend's dialect
(`store.dialect`) for the pieces DuckDB and PostgreSQL spell differently."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, Literal

from studbook.daemon.domain.access import Token
from studbook.daemon.domain.drift import Drift
from studbook.daemon.domain.filter import Expr
from studbook.daemon.domain.hooks import Delivery, Hook
from studbook.daemon.domain.model import Event, Metric, Model, ModelVersion, Promotion, StageChange
from studbook.daemon.domain.monitors import MonitorStatus
from studbook.daemon.domain.ordering import OrderTerm
from studbook.daemon.domain.production import RecordedPoint
from studbook.daemon.store import drift, monitors, production, retention, rows
from studbook.daemon.store import query as sql
from studbook.daemon.store.dialect import Dialect
from studbook.daemon.store.keyed import KeyedSearch, keyed_search
from studbook.daemon.store.records import DropFileRow, DropRow, KeptScope, Page, StoredBlob
from studbook.daemon.store.rows import (
    EVENT_COLUMNS,
    MODEL_COLUMNS,
    PROMOTION_COLUMNS,
    STAGE_HISTORY_COLUMNS,
    VERSION_COLUMNS,
    VERSION_SUMMARY_COLUMNS,
)


class CatalogReads:
    """The read queries every backend shares. A backend supplies `dialect` and `query` (run a
    statement with `?` placeholders on a connection that sees only committed data)."""

    dialect: Dialect

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def load_tokens(self) -> list[Token]:
        return [rows.token_from_row(r) for r in self.query(f"SELECT {rows.TOKEN_COLUMNS} FROM tokens")]

    def load_hooks(self) -> list[Hook]:
        return [
            rows.hook_from_row(r) for r in self.query(f"SELECT {rows.HOOK_COLUMNS} FROM hooks ORDER BY create_time, id")
        ]

    def hook_deliveries(self, hook_id: str, limit: int) -> list[Delivery]:
        """A hook's newest deliveries, newest first."""
        found = self.query(f"SELECT {rows.DELIVERY_COLUMNS} FROM hook_deliveries WHERE hook_id = ? "
                           "ORDER BY attempt_time DESC, revision DESC, attempt DESC LIMIT ?", [hook_id, limit])  # fmt: skip
        return [rows.delivery_from_row(r) for r in found]

    def input_windows(self, model: str, stage: str, *, number: int | None, since: datetime | None,
                      until: datetime | None, segment: str | None, limit: int) -> list[drift.StoredWindow]:  # fmt: skip
        return drift.stored_windows(self.query, self.dialect, model, stage, number=number, since=since, until=until,
                                    segment=segment, limit=limit)  # fmt: skip

    def compute_input_drift(self, window_ids: Sequence[int]) -> dict[int, dict[str, Drift]]:
        return drift.compute_drift(self.query, self.dialect, window_ids)

    def model_names(self) -> list[str]:
        """Every model's name."""
        return [name for (name,) in self.query("SELECT name FROM models")]

    def load_models(self, names: Sequence[str] | None = None) -> list[Model]:
        """Every model with its counts and holders; only those named, when `names` is given."""
        return read_models(self.query, names)

    def max_promotion_id(self) -> int:
        """The highest promotion id given so far (0 before the first)."""
        return int(self.query("SELECT coalesce(max(id), 0) FROM promotions")[0][0])

    def get_version(self, model: str, number: int) -> ModelVersion | None:
        return read_version(self.query, model, number)

    def get_versions(self, keys: Sequence[tuple[str, int]]) -> list[ModelVersion]:
        return read_versions(self.query, keys, self.dialect)

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
        # On PostgreSQL, a filter of metric ranges and tags is answered from their indexes alone.
        keyed = keyed_search(expr, order, model=model, show_archived=show_archived, limit=limit + 1, offset=offset,
                             after=after, dialect=self.dialect)  # fmt: skip
        if keyed is not None:
            found, total, next_after = self._keyed_page(keyed, limit)
            versions = self._versions_by_vid(found, summary_only)
            if not summary_only:
                self._attach_files(versions)
            return Page(versions, total, next_after)
        # A metric the filter and the sort both read is read once (on DuckDB, see `MetricRows`).
        shared = sql.shared_metric_rows(expr, sql.compile_order(order, "versions", dialect=self.dialect), self.dialect)
        where = [sql.compile_version_filter(expr, self.dialect, shared)]
        if model is not None:
            where.append(sql.Fragment("v.model = ?", [model]))
        if not show_archived:
            where.append(sql.Fragment("v.status <> 'archived'", []))
        # One model's versions, or a filter's matches, are usually few: `page_statement` finds them first.
        found, total, next_after = self._page_keys("v.vid", "versions", where, order, limit, offset, after,
                                                   filtered=expr is not None or model is not None,
                                                   metric_rows=shared)  # fmt: skip
        versions = self._versions_by_vid(found, summary_only)
        if not summary_only:
            self._attach_files(versions)
        return Page(versions, total, next_after)

    def _page_keys(
        self, row_id: str, resource: Literal["versions", "models"], where: list[sql.Fragment],
        order: Sequence[OrderTerm], limit: int, offset: int, after: Sequence[object] | None, filtered: bool = False,
        metric_rows: sql.MetricRows | None = None,
    ) -> tuple[list[Any], int, tuple[object, ...] | None]:  # fmt: skip
        """Row ids of one page, the total, and the sort keys to continue after (None at the end).

        One row more than the page is read: whether it exists says if another page
        follows, without trusting a total that later writes may already have changed.
        """
        statement = sql.page_statement(
            row_id, resource, where, sql.compile_order(order, resource, dialect=self.dialect),
            limit=limit + 1, offset=offset, after=after, filtered=filtered, metric_rows=metric_rows,
            dialect=self.dialect,
        )  # fmt: skip
        found = self.query(statement.sql, statement.params)
        total = int(found[0][1]) if found else self._count(resource, where, metric_rows)
        page = found[:limit]
        next_after = tuple(page[-1][2:]) if len(found) > limit and page else None
        return [row[0] for row in page], total, next_after

    def _keyed_page(self, keyed: KeyedSearch, limit: int) -> tuple[list[Any], int, tuple[object, ...] | None]:
        """`_page_keys` for a `KeyedSearch`: its statement reads one row more than the page."""
        found = self.query(keyed.page.sql, keyed.page.params)
        total = int(found[0][1]) if found else int(self.query(keyed.count.sql, keyed.count.params)[0][0])
        page = found[:limit]
        next_after = tuple(page[-1][2:]) if len(found) > limit and page else None
        return [row[0] for row in page], total, next_after

    def _versions_by_vid(self, vids: list[int], summary_only: bool) -> list[ModelVersion]:
        if not vids:
            return []
        columns = VERSION_SUMMARY_COLUMNS if summary_only else VERSION_COLUMNS
        # Integers this query just read, written as literals: DuckDB joins either kind of list
        # against a scan of the table rather than through the vid index (EXPLAIN), and the literal
        # list is the faster (50 ids at 1M versions: 3.5 ms, against 11 ms as a list parameter).
        listed = ", ".join(str(int(vid)) for vid in vids)
        found = self.query(f"SELECT vid, {', '.join(columns)} FROM versions WHERE vid IN ({listed})")
        by_vid = {row[0]: rows.version_from_row(row[1:], columns) for row in found}
        return [by_vid[vid] for vid in vids if vid in by_vid]

    def _count(self, resource: Literal["versions", "models"], where: list[sql.Fragment],
               metric_rows: sql.MetricRows | None = None) -> int:  # fmt: skip
        statement = sql.select_statement("count(*)", resource, where, sql.NO_ORDER, metric_rows=metric_rows)
        return int(self.query(statement.sql, statement.params)[0][0])

    def _attach_files(self, versions: list[ModelVersion]) -> None:
        if not versions:
            return
        keys = {(v.model, v.number): v for v in versions}
        for model, number, *file in self.query(
            "SELECT f.model, f.number, f.path, f.size, f.sha256, f.format, f.flags, f.format_info "
            "FROM files f JOIN (SELECT unnest(?::VARCHAR[]) AS model, unnest(?::BIGINT[]) AS number) k "
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
        where = [sql.compile_model_filter(expr, self.dialect)]
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

    def monitor_states(self, model: str, breached_only: bool) -> list[MonitorStatus]:
        """The stored monitor states, of one model when `model` is given, by model and stage."""
        return monitors.read_states(self.query, model, breached_only)

    def monitor_state(self, model: str, stage: str) -> MonitorStatus | None:
        return monitors.read_state(self.query, model, stage)

    def production_means(self, model: str, stage: str, key: str, segment: str,
                         numbers: Sequence[int]) -> dict[int, float]:  # fmt: skip
        """Each version's mean production figure for `key` while it held `stage`."""
        return monitors.production_means(self.query, model, stage, key, segment, numbers)

    def stage_changes(self, model: str, label: str) -> list[StageChange]:
        """Every change of one stage or alias, oldest first: what its tenures are built from."""
        return read_stage_changes(self.query, model, label)

    def production_points(self, model: str, stage: str, *, keys: Sequence[str] = (), segment: str | None = None,
                          since: datetime | None = None, until: datetime | None = None,
                          number: int | None = None, limit: int | None = None) -> list[RecordedPoint]:  # fmt: skip
        return production.points(self.query, self.dialect, model, stage, keys=keys, segment=segment, since=since, until=until,
                                 number=number, limit=limit)  # fmt: skip

    def evaluation_metrics(self, model: str, numbers: Sequence[int],
                           keys: Sequence[str] = ()) -> list[tuple[int, str, float]]:  # fmt: skip
        return production.evaluation_metrics(self.query, model, numbers, keys)

    def holders_at(self, model: str, at: datetime) -> dict[str, int]:
        """Who held each stage and alias at `at`: the last change at or before it, if any."""
        return {
            label: number
            for label, number in self.query(
                f"SELECT label, {self.dialect.arg_max_null('number', 'revision')} FROM stage_history "
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
            f"FROM {self.dialect.previous_on_subject('(SELECT * FROM events WHERE revision > ? ORDER BY revision LIMIT ?)')} "
            "ORDER BY e.revision",
            [revision, limit],
        )
        return [
            (Event(*r[:width]), r[width], Event(*r[width + 1 :]) if r[width + 1] is not None else None) for r in found
        ]

    def version_facts_after(self, models: Sequence[str], revision: int) -> list[tuple[str, int, str, str, str, str]]:
        """(model, then `StoreTransaction.version_facts`) of the models' versions written after
        `revision`, in one query: what another daemon's commits changed of the facts a writer holds."""
        return self.query(
            "SELECT model, number, status, semver, request_id, content_digest FROM versions "
            "WHERE model IN (SELECT unnest(CAST(? AS VARCHAR[]))) AND revision > ? ORDER BY model, number",
            [list(models), revision],
        )

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

    def model_renames(self) -> list[tuple[str, str]]:
        """(old, new) model ids of every rename recorded, oldest first: a `model.renamed` event's
        subject is the old name (`models/{old}`), its model the new id."""
        found = self.query("SELECT subject, model FROM events WHERE type = 'model.renamed' ORDER BY revision")
        return [(subject.removeprefix("models/"), model) for subject, model in found]

    def min_revision(self) -> int:
        return int(self.query("SELECT coalesce(min(revision), 0) FROM events")[0][0])

    def lineage_edges(self, nodes: Iterable[str], upstream: bool) -> list[tuple[str, str, str]]:
        """Edges touching `nodes`: those into them (upstream) or out of them (downstream)."""
        column = "target" if upstream else "source"
        return self.query(
            f"SELECT source, target, kind FROM lineage_edges WHERE {column} IN (SELECT unnest(?::VARCHAR[]))",
            [list(nodes)],
        )

    def lineage_labels(self, names: Iterable[str]) -> dict[str, tuple[str, str]]:
        """name -> (kind, label) for dataset and run nodes."""
        return {
            name: (kind, label)
            for name, kind, label in self.query(
                "SELECT name, kind, label FROM lineage_nodes WHERE name IN (SELECT unnest(?::VARCHAR[]))",
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
                "JOIN (SELECT unnest(?::VARCHAR[]) AS model, unnest(?::BIGINT[]) AS number) k USING (model, number)",
                [[k[0] for k in keys], [k[1] for k in keys]],
            )
        }

    def newest_kept_blobs(self, limit: int) -> list[str]:
        """The blobs of the newest kept versions not known corrupt: where they are, the catalog's files are."""
        return [sha for (sha,) in self.query(
            "SELECT f.sha256 FROM files f JOIN versions v USING (model, number) "
            "WHERE v.kept AND v.status <> 'corrupt' ORDER BY v.create_time DESC, f.sha256 LIMIT ?", [limit])]  # fmt: skip

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
                "WHERE v.kept AND f.sha256 IN (SELECT unnest(?::VARCHAR[])) ORDER BY f.model, f.number, f.path",
                [list(sha256s)],
            )
        ]

    def stored_blobs(self) -> list[StoredBlob]:
        """Every blob the kept versions refer to, each once."""
        return _stored_blobs(self.query)

    def load_drops(self) -> tuple[list[DropRow], list[DropFileRow]]:
        """Every drop-in verdict and every drop's files as last seen."""
        drops = [DropRow(*r) for r in self.query(f"SELECT {', '.join(DropRow._fields)} FROM drops ORDER BY root, path")]
        files = [DropFileRow(*r) for r in self.query(
            f"SELECT {', '.join(DropFileRow._fields)} FROM drop_files ORDER BY root, path, file")]  # fmt: skip
        return drops, files

    def retention_facts(self, rules: Sequence[retention.RetentionRule]) -> list[retention.RetentionFacts]:
        """Every version beyond its rule's keep_last with what protects it (see store.retention)."""
        return retention.retention_facts(self.query, rules, self.dialect)

    def max_vid(self) -> int:
        return retention.max_vid(self.query)

    def unreferenced_blobs(self, stored: Sequence[tuple[str, int, float]],
                           purging: Sequence[tuple[str, int]] = ()) -> list[retention.UnreferencedBlob]:  # fmt: skip
        """The stored blobs no version refers to, `purging` left out (see store.retention)."""
        return retention.unreferenced_blobs(self.query, stored, purging, self.dialect)


Run = Callable[..., list[tuple[Any, ...]]]


def _stored_blobs(run: Run) -> list[StoredBlob]:
    return [
        StoredBlob(sha256, int(size), bool(known_bad))
        for sha256, size, known_bad in run(
            "SELECT f.sha256, max(f.size), bool_and(v.status = 'corrupt') FROM files f "
            "JOIN versions v USING (model, number) WHERE v.kept GROUP BY f.sha256 ORDER BY f.sha256"
        )
    ]


def read_stage_changes(
    run: Callable[[str, Sequence[Any]], list[tuple[Any, ...]]], model: str, label: str
) -> list[StageChange]:
    """One label's whole history in one query, through a reader cursor or inside the write
    transaction (which attributes production points with it)."""
    return [
        rows.stage_change_from_row(r)
        for r in run(
            f"SELECT {', '.join(STAGE_HISTORY_COLUMNS)} FROM stage_history WHERE model = ? AND label = ? "
            "ORDER BY revision",
            [model, label],
        )
    ]


def read_models(run: Run, names: Sequence[str] | None = None) -> list[Model]:
    """Every model with its counts and holders (only those named, when `names` is given), in two
    queries, through a reader cursor or inside the write transaction.

    The counts are the figures the writer keeps on each model's row: grouping every version
    here made start-up grow with the catalog."""
    params: list[Any]
    if names is None:
        only, params = "", []
    elif len(names) == 1:
        only, params = " WHERE {} = ?", [names[0]]  # a point look-up, as the writer makes one at a time
    else:
        only, params = " WHERE {} IN (SELECT unnest(CAST(? AS VARCHAR[])))", [list(names)]
    models = {
        m.name: m
        for m in map(rows.model_from_row,
                     run(f"SELECT {', '.join(MODEL_COLUMNS)} FROM models{only.format('name')}", params))
    }  # fmt: skip
    if not models:
        return []
    for model, label, is_alias, number in run(
        f"SELECT model, label, is_alias, number FROM stage_holders{only.format('model')}", params
    ):
        if model in models:
            (models[model].aliases if is_alias else models[model].stage_holders)[label] = number
    return list(models.values())


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
    run: Callable[[str, Sequence[Any]], list[tuple[Any, ...]]], keys: Sequence[tuple[str, int]], dialect: Dialect
) -> list[ModelVersion]:
    """Whole version records with their files, in two queries whatever their number."""
    if not keys:
        return []
    wanted, document = dialect.rows_of(model=("VARCHAR", [k[0] for k in keys]), number=("BIGINT", [k[1] for k in keys]))
    versions = {
        (v.model, v.number): v
        for v in map(rows.version_from_row, run(
            f"SELECT {', '.join(f'v.{c}' for c in VERSION_COLUMNS)} FROM versions v "
            f"{dialect.semi_join('v', wanted, 'model, number')}", [document]))
    }  # fmt: skip
    for model, number, *file in run(
        f"SELECT f.model, f.number, f.path, f.size, f.sha256, f.format, f.flags, f.format_info FROM files f "
        f"{dialect.semi_join('f', wanted, 'model, number')} ORDER BY f.model, f.number, f.path", [document],
    ):  # fmt: skip
        versions[(model, number)].files.append(rows.file_from_row(tuple(file)))
    return [versions[key] for key in keys if key in versions]


def _conditions(*pairs: tuple[str, Any]) -> tuple[str, list[Any]]:
    """ANDs the `column op ?` conditions whose value is not None."""
    kept = [(condition, value) for condition, value in pairs if value is not None]
    return " AND ".join(c for c, _ in kept) or "true", [v for _, v in kept]
