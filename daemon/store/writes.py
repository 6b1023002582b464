"""The catalog's typed writes, written once for both backends, so callers never write SQL.

A backend's transaction supplies `dialect`, `execute` (a statement with `?` placeholders, run
in the transaction after any buffered rows) and `insert`/`insert_many` (rows buffered per
table and written in one go).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from studbook.daemon.domain.access import Token
from studbook.daemon.domain.drift import FeatureStats
from studbook.daemon.domain.hooks import Delivery, Hook
from studbook.daemon.domain.model import Event, Metric, Model, ModelVersion, Promotion, StageChange
from studbook.daemon.domain.monitors import DriftWindow, MonitorStatus
from studbook.daemon.domain.production import StoredPoint
from studbook.daemon.store import drift, monitors, production, rename, retention, rows
from studbook.daemon.store.dialect import Dialect
from studbook.daemon.store.reads import read_models, read_stage_changes, read_version, read_versions
from studbook.daemon.store.records import DropFileRow, DropRow
from studbook.daemon.store.rows import PROMOTION_COLUMNS, VERSION_COLUMNS

# Where a versions row, as `rows.version_row` lays it out, holds its key.
_MODEL, _NUMBER = VERSION_COLUMNS.index("model"), VERSION_COLUMNS.index("number")


def naive_utc(value: datetime | None) -> datetime | None:
    """The UTC wall time, for a list cast to TIMESTAMP[] (which both backends read as UTC)."""
    return value.astimezone(UTC).replace(tzinfo=None) if value is not None and value.tzinfo else value


# A statement that names one of these can change the catalog, even after a leading WITH.
_WRITING = re.compile(r"\b(INSERT|UPDATE|DELETE|CREATE|DROP|ALTER|COPY|ATTACH|DETACH|CHECKPOINT|TRUNCATE)\b", re.I)


def is_query(sql: str) -> bool:
    """Whether `sql` only reads: a SELECT, or a WITH leading to one, naming no writing verb.

    Errs towards "writes": a query taken for a write costs a refused operation a retry alone,
    a write taken for a query would let a late refusal commit it.
    """
    first = sql.lstrip().split(None, 1)[:1]
    return bool(first) and first[0].upper() in ("SELECT", "WITH") and not _WRITING.search(sql)


def version_figures_join(source: str) -> str:
    """Adds each model's figures from `source`, rows (model, added, top) named u, to its stored ones."""
    return (
        "UPDATE models SET version_count = coalesce(models.version_count, 0) + u.added, "
        f"latest_version = greatest(coalesce(models.latest_version, 0), u.top) FROM {source} "
        "WHERE models.name = u.model"
    )


class TransactionWrites:
    """The typed writes over a backend's `insert`/`execute`.

    A backend's transaction counts in `writes` the writes issued so far (an insert, or any
    statement but a query): the writer compares it around each operation to tell a refusal
    that wrote nothing from one that came too late, after a write that would otherwise be
    committed with its group.
    """

    dialect: Dialect
    writes: int
    # Rows buffered per table until the backend's `flush` writes them, one statement a table.
    _pending: dict[str, list[tuple[Any, ...]]]

    def insert(self, table: str, row: tuple[Any, ...]) -> None:
        self.writes += 1
        self._pending.setdefault(table, []).append(row)

    def insert_many(self, table: str, rows_: Iterable[tuple[Any, ...]]) -> None:
        self.writes += 1
        self._pending.setdefault(table, []).extend(rows_)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def query_unflushed(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """A query that leaves the buffered rows buffered: it sees what was written before them,
        so a caller looks through `_pending` for the rest. For a look-up in a write path that
        must not split its group's inserts into a statement per operation."""
        raise NotImplementedError

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
        for table in ("input_bins", "input_drift"):
            self.execute(
                f"DELETE FROM {table} WHERE window_id IN (SELECT id FROM input_windows WHERE model = ?)", [name]
            )
        for table in ("input_windows", "reference_features", "reference_bins"):
            self.execute(f"DELETE FROM {table} WHERE model = ?", [name])
        for table in (
            "files",
            "metrics",
            "metric_summary",
            "stage_holders",
            "versions",
            "promotions",
            "monitor_states",
            "production_points",
            "production_requests",
        ):
            self.execute(f"DELETE FROM {table} WHERE model = ?", [name])
        self.execute("DELETE FROM lineage_edges WHERE starts_with(source, ?) OR starts_with(target, ?)",
                     [f"models/{name}/", f"models/{name}/"])  # fmt: skip
        self.execute("DELETE FROM models WHERE name = ?", [name])

    def rename_model(self, old: str, new: str, revision: int) -> list[tuple[str, int]]:
        """Moves a model and every row keyed by its name to `new`; the versions whose parents
        named it (see store.rename)."""
        return rename.rename_model(self.execute, old, new, revision, self.dialect)

    def pending_promotions(self, model: str) -> list[int]:
        """Ids of the model's promotions not settled yet (waiting for approvals, or approved and not
        applied), oldest first."""
        return [
            promotion_id
            for (promotion_id,) in self.execute(
                "SELECT id FROM promotions WHERE model = ? AND state IN ('pending_approval', 'approved') ORDER BY id",
                [model],
            )
        ]

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
                f"DELETE FROM metric_summary WHERE model = ? AND number = ? AND {self.dialect.pairs_in('(key, split)')}",
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

    def stage_changes(self, model: str, label: str) -> list[StageChange]:
        """One label's history as this transaction sees it, oldest first."""
        return read_stage_changes(self.execute, model, label)

    def monitor_state(self, model: str, stage: str) -> MonitorStatus | None:
        """A stage's monitor state as this transaction sees it (under the write lock on a shared catalog)."""
        return monitors.read_state(self.execute, model, stage)

    def put_monitor_state(self, state: MonitorStatus) -> None:
        monitors.write_state(self.execute, state)

    def production_windows(self, model: str, stage: str, number: int, segment: str, keys: Sequence[str],
                           last: int, since: datetime | None) -> dict[str, list[float]]:  # fmt: skip
        return monitors.production_windows(self.execute, model, stage, number, segment, keys, last, since)

    def input_windows(self, model: str, stage: str, number: int, segment: str, last: int,
                      since: datetime | None) -> list[DriftWindow]:  # fmt: skip
        return monitors.input_windows(self.execute, model, stage, number, segment, last, since)

    def production_means(self, model: str, stage: str, key: str, segment: str,
                         numbers: Sequence[int]) -> dict[int, float]:  # fmt: skip
        return monitors.production_means(self.execute, model, stage, key, segment, numbers)

    def get_version(self, model: str, number: int) -> ModelVersion | None:
        """The version as this transaction sees it, uncommitted changes included."""
        return read_version(self.execute, model, number)

    def load_models(self, names: Sequence[str]) -> list[Model]:
        """The named models as this transaction sees them, leaving buffered rows buffered: for
        models none of whose rows the transaction buffered (the writer asks only for models its
        current group has not touched), the same as after a flush."""
        return read_models(self.query_unflushed, names)

    def version_facts(self, model: str) -> list[tuple[int, str, str, str, str]]:
        """(number, status, semver, request_id, content_digest) of one model's versions, oldest
        first, as this transaction sees them: what the writer decides registrations on."""
        return self.execute(
            "SELECT number, status, semver, request_id, content_digest FROM versions WHERE model = ? ORDER BY number",
            [model],
        )

    def get_versions(self, keys: Sequence[tuple[str, int]]) -> list[ModelVersion]:
        """Whole version records as this transaction sees them, in two queries."""
        return read_versions(self.execute, keys, self.dialect)

    def still_decided(self, purges: Sequence[tuple[str, int]], archives: Sequence[tuple[str, int]],
                      rules: Sequence[retention.RetentionRule], horizon: int) -> set[tuple[str, int]]:  # fmt: skip
        """Of a plan's purges and archives, those that still hold (see store.retention.still_decided)."""
        return retention.still_decided(self.execute, purges, archives, rules, horizon, self.dialect)

    def archive_versions(self, keys: Sequence[tuple[str, int]], revisions: Sequence[int], reasons: Sequence[str],
                         time: datetime) -> None:  # fmt: skip
        retention.archive_versions(self.execute, keys, revisions, reasons, time, self.dialect)

    def purge_versions(self, keys: Sequence[tuple[str, int]]) -> list[str]:
        """Deletes the versions' rows; returns the sha256 of their files (see store.retention)."""
        shas = retention.purge_versions(self.execute, keys, self.dialect)
        self.recount_versions(sorted({model for model, _ in keys}))
        return shas

    def recount_versions(self, models: Sequence[str]) -> None:
        """Sets the models' stored version figures from their versions' rows: after a delete, any
        version may have gone, the newest among them. One indexed look-up a model."""
        if not models:
            return
        self.execute(
            "UPDATE models SET version_count = (SELECT count(*) FROM versions v WHERE v.model = models.name), "
            "latest_version = (SELECT coalesce(max(v.number), 0) FROM versions v WHERE v.model = models.name) "
            "WHERE name IN (SELECT unnest(CAST(? AS VARCHAR[])))",
            [list(models)],
        )

    def version_figures_update(self, inserted: Sequence[tuple[Any, ...]]) -> tuple[str, list[Any]]:
        """The statement that adds versions' rows just inserted to their models' stored figures
        (count, newest number), run by the backend's `flush` right after them: the figures move
        in the same transaction as the rows, whichever write path inserted them, and start-up
        reads them instead of grouping every version."""
        figures: dict[str, list[int]] = {}
        for row in inserted:
            counted = figures.setdefault(row[_MODEL], [0, 0])
            counted[0] += 1
            counted[1] = max(counted[1], int(row[_NUMBER]))
        added = [(model, count, top) for model, (count, top) in figures.items()]
        if len(added) == 1:
            # The usual group writes into one model: a plain keyed update plans in a fraction of
            # the time a join against unpacked rows takes (3 ms a registration on DuckDB, measured).
            [(model, count, top)] = added
            return (
                "UPDATE models SET version_count = coalesce(version_count, 0) + ?, "
                "latest_version = greatest(coalesce(latest_version, 0), ?) WHERE name = ?",
                [count, top, model],
            )
        return self.models_figures_update(added)

    def models_figures_update(self, added: list[tuple[str, int, int]]) -> tuple[str, list[Any]]:
        """The update of several models' figures, (model, versions added, newest number) each."""
        table, document = self.dialect.rows_of(
            model=("VARCHAR", [model for model, _, _ in added]),
            added=("BIGINT", [count for _, count, _ in added]),
            top=("BIGINT", [top for _, _, top in added]),
        )
        return version_figures_join(f"{table} u"), [document]

    def set_version_statuses(self, versions: Sequence[ModelVersion]) -> None:
        """Status, reason, update time and revision of many versions, in one statement."""
        if not versions:
            return
        self.execute(
            "UPDATE versions SET status = u.status, status_reason = u.reason, update_time = u.update_time, "
            "revision = u.revision FROM (SELECT unnest(?::VARCHAR[]) AS model, unnest(?::BIGINT[]) AS number, "
            "unnest(?::VARCHAR[]) AS status, unnest(?::VARCHAR[]) AS reason, unnest(?::TIMESTAMP[]) AS update_time, "
            "unnest(?::BIGINT[]) AS revision) u "
            "WHERE versions.model = u.model AND versions.number = u.number",
            [
                [v.model for v in versions],
                [v.number for v in versions],
                [v.status.value for v in versions],
                [v.status_reason for v in versions],
                [naive_utc(v.update_time) for v in versions],
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

    def model_created_by(self, request_id: str) -> str | None:
        """The model a creation with this request id made, as this transaction sees it."""
        found = self.execute("SELECT name FROM models WHERE request_id = ?", [request_id])
        return found[0][0] if found else None

    def promotion_requested_by(self, model: str, request_id: str) -> Promotion | None:
        """The model's promotion asked for with this request id, as this transaction sees it."""
        found = self.execute(
            f"SELECT {', '.join(PROMOTION_COLUMNS)} FROM promotions WHERE model = ? AND request_id = ?",
            [model, request_id],
        )
        return rows.promotion_from_row(found[0]) if found else None

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

    def insert_hook(self, hook: Hook) -> None:
        self.insert("hooks", rows.hook_row(hook))

    def hook_name_taken(self, name: str) -> bool:
        return bool(self.execute("SELECT 1 FROM hooks WHERE name = ?", [name]))

    def delete_hook(self, hook_id: str) -> None:
        self.execute("DELETE FROM hook_deliveries WHERE hook_id = ?", [hook_id])
        self.execute("DELETE FROM hooks WHERE id = ?", [hook_id])

    def set_hook_progress(self, hook: Hook) -> None:
        """Where a hook stands: its cursor, its failures in a row, whether (and why) it is paused."""
        self.execute("UPDATE hooks SET delivered_revision = ?, failures = ?, paused = ?, pause_reason = ? WHERE id = ?",
                     [hook.cursor, hook.failures, hook.paused, hook.pause_reason, hook.id])  # fmt: skip

    def insert_delivery(self, delivery: Delivery) -> None:
        self.insert("hook_deliveries", rows.delivery_row(delivery))

    def prune_deliveries(self, hook_id: str, keep: int) -> None:
        """Keeps a hook's `keep` newest delivery records (and any sharing the oldest kept time)."""
        self.execute("DELETE FROM hook_deliveries WHERE hook_id = ? AND attempt_time < (SELECT attempt_time FROM "
                     "hook_deliveries WHERE hook_id = ? ORDER BY attempt_time DESC LIMIT 1 OFFSET ?)",
                     [hook_id, hook_id, keep - 1])  # fmt: skip

    def insert_production_points(self, model: str, stage: str, revision: int, points: Sequence[StoredPoint]) -> None:
        self.insert_many("production_points", production.point_rows(model, stage, revision, points))

    def logged_production_request(self, model: str, request_id: str) -> production.LoggedRequest | None:
        """What an earlier log call with this request_id recorded, as this transaction sees it:
        among the rows this group buffered, else in the catalog (without flushing those rows)."""
        for row in reversed(self._pending.get("production_requests", ())):
            if row[0] == model and row[1] == request_id:
                return production.logged_from_row(row)
        return production.logged_request(self.query_unflushed, model, request_id)

    def insert_production_request(self, model: str, request_id: str, logged: production.LoggedRequest,
                                  time: datetime) -> None:  # fmt: skip
        self.insert("production_requests", production.request_row(model, request_id, logged, time))

    def set_chain_hashes(self, hashes: Sequence[tuple[int, str]]) -> None:
        """Fills in the chain of events written before the chain existed (migration 2)."""
        self.execute(
            "UPDATE events SET chain_hash = h.hash FROM (SELECT unnest(?::BIGINT[]) AS revision, "
            "unnest(?::VARCHAR[]) AS hash) h "
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

    # -- input statistics ----------------------------------------------------------------

    def insert_reference_statistics(self, model: str, number: int, stats: Sequence[FeatureStats]) -> None:
        features, bins = drift.reference_rows(model, number, stats)
        self.insert_many("reference_features", features)
        self.insert_many("reference_bins", bins)

    def has_reference_statistics(self, model: str, number: int) -> bool:
        return drift.has_reference(self.execute, model, number)

    def reference_shapes(
        self, model: str, number: int, features: Sequence[str]
    ) -> dict[str, tuple[str, tuple[float, ...]]]:
        """feature -> (kind, edges) of the version's reference, for those of `features` it has."""
        return drift.reference_shapes(self.execute, model, number, features)

    def input_window_for_request(self, model: str, request_id: str) -> drift.StoredWindow | None:
        """The window a request_id logged already, as stored."""
        window_id = drift.window_by_request(self.execute, model, request_id)
        return drift.windows_by_id(self.execute, self.dialect, [window_id])[0] if window_id is not None else None

    def insert_input_window(self, window: drift.StoredWindow, stats: Sequence[FeatureStats], request_id: str,
                            record_time: datetime) -> drift.StoredWindow:  # fmt: skip
        """Stores a window and its bins, computes its drift in the catalog (one statement for all
        its features) and keeps it with the window; returns the window with its id and drift."""
        window.id = drift.next_window_id(self.execute)
        self.insert_many("input_bins", ((window.id, *row) for s in stats for row in drift.bin_rows(s)))
        found = drift.compute_new_drift(self.execute, self.dialect, window, stats)
        # In name order (code points), as GetInputDrift and a retried request read them back.
        window.features = [found[name] for name in sorted(found)]
        worst = max(window.features, key=lambda d: d.psi, default=None)
        window.max_psi = worst.psi if worst is not None else 0.0
        window.max_ks = max((d.ks for d in window.features), default=0.0)
        window.worst = worst.feature if worst is not None and worst.psi > 0 else ""
        # Written once its figures are known (with its drift, at the commit), not updated after.
        self.insert("input_windows", (window.id, window.model, window.stage, window.number, window.window_end,
                                      window.segment, len(stats), window.max_psi, window.max_ks, window.worst,
                                      request_id, window.revision, record_time))  # fmt: skip
        self.insert_many("input_drift", ((window.id, d.feature, d.psi, d.ks, d.no_reference) for d in window.features))
        return window
