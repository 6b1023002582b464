"""The store interface: what the use cases, the writer and the servicers use of a catalog.

Two backends implement it: the embedded DuckDB file (`store.catalog.Catalog`, the default) and
PostgreSQL (`store.postgres.catalog.PostgresCatalog`). `Store` is the read side and the way to
a write transaction; `StoreTransaction` is one write transaction, run on the writer thread only.
Code above the store names these Protocols, never a backend's class, so that either backend
serves it; mypy checks that each backend still fits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from studbook.daemon.domain.access import Token
from studbook.daemon.domain.drift import Drift, FeatureStats
from studbook.daemon.domain.filter import Expr
from studbook.daemon.domain.hooks import Delivery, Hook
from studbook.daemon.domain.model import Event, Metric, Model, ModelVersion, Promotion, StageChange
from studbook.daemon.domain.monitors import DriftWindow, MonitorStatus
from studbook.daemon.domain.ordering import OrderTerm
from studbook.daemon.domain.production import RecordedPoint, StoredPoint
from studbook.daemon.store import drift, production, retention
from studbook.daemon.store.dialect import Dialect
from studbook.daemon.store.records import CatalogSnapshot, DropFileRow, DropRow, KeptScope, Page, StoredBlob


@dataclass(frozen=True)
class ListenerState:
    """Whether a follower hears other daemons' commits, why not, and since when (epoch seconds)."""

    connected: bool
    problem: str
    since: float


class Listening(Protocol):
    """A source of wake-ups for a follower; runs on a thread of its own once started."""

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def state(self) -> ListenerState: ...


class Leadership(Protocol):
    """Which daemon does a job that one daemon at a time must do for a catalog (see `leadership`)."""

    def try_lead(self) -> bool:
        """Whether this daemon holds the role now, taking it when free. Blocking."""
        ...

    def release(self) -> None: ...


class StoreTransaction(Protocol):
    """One write transaction. Statements apply in the order they are called; nothing is
    visible to reads until `commit` returns, and `rollback` leaves the catalog as it was."""

    def begin(self) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...

    # Writes issued so far (inserts and non-query statements): see `writes.TransactionWrites`.
    writes: int

    # Raw statements, for the few writes that have no typed helper yet (tests, one-off repairs).
    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    def insert_model(self, model: Model, request_id: str) -> None: ...

    def update_model(self, model: Model) -> None: ...

    def delete_model(self, name: str) -> None: ...

    def rename_model(self, old: str, new: str, revision: int) -> list[tuple[str, int]]: ...

    def pending_promotions(self, model: str) -> list[int]: ...

    def insert_version(self, version: ModelVersion) -> None: ...

    def update_version_fields(self, version: ModelVersion) -> None: ...

    def insert_metrics(
        self, model: str, number: int, series: Sequence[Metric], latest: Sequence[Metric], replace_summary: bool
    ) -> None: ...

    def set_version_metrics(self, model: str, number: int, latest: Sequence[Metric]) -> None: ...

    def insert_lineage(self, nodes: Sequence[tuple[str, str, str, str]],
                       edges: Sequence[tuple[str, str, str]]) -> None: ...  # fmt: skip

    def set_holder(self, model: str, label: str, is_alias: bool, number: int | None) -> None: ...

    def insert_stage_change(self, change: StageChange) -> None: ...

    def stage_changes(self, model: str, label: str) -> list[StageChange]: ...

    def monitor_state(self, model: str, stage: str) -> MonitorStatus | None: ...

    def put_monitor_state(self, state: MonitorStatus) -> None: ...

    def production_windows(self, model: str, stage: str, number: int, segment: str, keys: Sequence[str],
                           last: int, since: datetime | None) -> dict[str, list[float]]: ...  # fmt: skip

    def input_windows(self, model: str, stage: str, number: int, segment: str, last: int,
                      since: datetime | None) -> list[DriftWindow]: ...  # fmt: skip

    def production_means(self, model: str, stage: str, key: str, segment: str,
                         numbers: Sequence[int]) -> dict[int, float]: ...  # fmt: skip

    def get_version(self, model: str, number: int) -> ModelVersion | None: ...

    def get_versions(self, keys: Sequence[tuple[str, int]]) -> list[ModelVersion]: ...

    def load_models(self, names: Sequence[str]) -> list[Model]: ...

    def version_facts(self, model: str) -> list[tuple[int, str, str, str, str]]: ...

    def still_decided(self, purges: Sequence[tuple[str, int]], archives: Sequence[tuple[str, int]],
                      rules: Sequence[retention.RetentionRule], horizon: int) -> set[tuple[str, int]]: ...  # fmt: skip

    def archive_versions(self, keys: Sequence[tuple[str, int]], revisions: Sequence[int], reasons: Sequence[str],
                         time: datetime) -> None: ...  # fmt: skip

    def purge_versions(self, keys: Sequence[tuple[str, int]]) -> list[str]: ...

    def set_version_statuses(self, versions: Sequence[ModelVersion]) -> None: ...

    def previous_holder(self, model: str, label: str, current: int) -> int | None: ...

    def model_created_by(self, request_id: str) -> str | None: ...

    def promotion_requested_by(self, model: str, request_id: str) -> Promotion | None: ...

    def get_promotion(self, model: str, promotion_id: int) -> Promotion | None: ...

    def insert_promotion(self, promotion: Promotion) -> None: ...

    def update_promotion(self, promotion: Promotion) -> None: ...

    def insert_event(self, event: Event, chain_hash: str) -> None: ...

    def insert_token(self, token: Token) -> None: ...

    def token_name_taken(self, display_name: str) -> bool: ...

    def revoke_token(self, token_id: str, time: datetime, revoker: str) -> None: ...

    def insert_hook(self, hook: Hook) -> None: ...

    def hook_name_taken(self, name: str) -> bool: ...

    def delete_hook(self, hook_id: str) -> None: ...

    def set_hook_progress(self, hook: Hook) -> None: ...

    def insert_delivery(self, delivery: Delivery) -> None: ...

    def prune_deliveries(self, hook_id: str, keep: int) -> None: ...

    def set_chain_hashes(self, hashes: Sequence[tuple[int, str]]) -> None: ...

    def insert_production_points(
        self, model: str, stage: str, revision: int, points: Sequence[StoredPoint]
    ) -> None: ...

    def logged_production_request(self, model: str, request_id: str) -> production.LoggedRequest | None: ...

    def insert_production_request(self, model: str, request_id: str, logged: production.LoggedRequest,
                                  time: datetime) -> None: ...  # fmt: skip

    def put_drop(self, drop: DropRow, files: Sequence[DropFileRow] | None) -> None: ...

    def delete_drop(self, root: str, path: str) -> None: ...

    def set_version_storage_uri(self, model: str, number: int, storage_uri: str) -> None: ...

    # -- input statistics ------------------------------------------------------------------

    def insert_reference_statistics(self, model: str, number: int, stats: Sequence[FeatureStats]) -> None: ...

    def has_reference_statistics(self, model: str, number: int) -> bool: ...

    def reference_shapes(self, model: str, number: int,
                         features: Sequence[str]) -> dict[str, tuple[str, tuple[float, ...]]]: ...  # fmt: skip

    def input_window_for_request(self, model: str, request_id: str) -> drift.StoredWindow | None: ...

    def insert_input_window(self, window: drift.StoredWindow, stats: Sequence[FeatureStats], request_id: str,
                            record_time: datetime) -> drift.StoredWindow: ...  # fmt: skip


class Store(Protocol):
    """A catalog: reads from any thread (each sees only committed data) and write transactions
    through `transaction()` on the writer thread."""

    @property
    def dialect(self) -> Dialect:
        """How this backend spells the SQL that differs between backends (for tests and tools)."""
        ...

    @property
    def location(self) -> str:
        """The catalog as a user names it: a file path, or a URL without its password."""
        ...

    def close(self) -> None: ...

    def reopen_if_invalidated(self) -> bool:
        """Replaces a connection the database gave up on; True when it did. Writer thread only."""
        ...

    def transaction(self) -> StoreTransaction: ...

    def listen(self, wake: Callable[[int | None], None]) -> Listening | None:
        """Something that calls `wake` when other daemons commit to this catalog (None where no
        other daemon can): a follower then reads the events after the last revision it saw.
        `wake` gets the newest revision a commit's notice named, or None when there may be
        commits nobody told of (on connecting, and now and then)."""
        ...

    def leadership(self, role: str) -> Leadership:
        """The one daemon at a time that does `role` for this catalog: always this one on a
        DuckDB file (one daemon); on PostgreSQL, whichever holds the role's advisory lock."""
        ...

    # Raw reads, for tests and tools; the daemon itself reads through the methods below.
    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    def meta(self, key: str) -> str | None: ...

    def identity(self) -> str: ...

    # -- what the writer loads at start-up -----------------------------------------------

    def max_revision(self) -> int: ...

    def model_names(self) -> list[str]: ...

    def load_models(self, names: Sequence[str] | None = None) -> list[Model]: ...

    def max_promotion_id(self) -> int: ...

    def load_tokens(self) -> list[Token]: ...

    # -- webhooks --------------------------------------------------------------------------

    def load_hooks(self) -> list[Hook]: ...

    def hook_deliveries(self, hook_id: str, limit: int) -> list[Delivery]: ...

    # -- input statistics ------------------------------------------------------------------

    def input_windows(
        self,
        model: str,
        stage: str,
        *,
        number: int | None,
        since: datetime | None,
        until: datetime | None,
        segment: str | None,
        limit: int,
    ) -> list[drift.StoredWindow]:
        """A stage's logged windows, newest first, with their features' drift."""
        ...

    def compute_input_drift(self, window_ids: Sequence[int]) -> dict[int, dict[str, Drift]]:
        """The drift of the windows' features computed afresh from their bins (one statement)."""
        ...

    def load_drops(self) -> tuple[list[DropRow], list[DropFileRow]]: ...

    # -- models and versions ---------------------------------------------------------------

    def get_version(self, model: str, number: int) -> ModelVersion | None: ...

    def get_versions(self, keys: Sequence[tuple[str, int]]) -> list[ModelVersion]:
        """Whole records of the versions that exist of `keys`, in their order, in two queries."""
        ...

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
    ) -> Page: ...

    def list_models(
        self,
        expr: Expr | None,
        order: Sequence[OrderTerm],
        *,
        show_archived: bool,
        limit: int,
        offset: int = 0,
        after: Sequence[object] | None = None,
    ) -> Page: ...

    def metric_series(self, model: str, number: int, key: str, split: str) -> list[Metric]: ...

    # -- stages and promotions -------------------------------------------------------------

    def stage_history(self, model: str, label: str, limit: int, before_revision: int | None) -> list[StageChange]: ...

    def stage_changes(self, model: str, label: str) -> list[StageChange]:
        """Every change of one stage or alias, oldest first (see app.tenures)."""
        ...

    def monitor_states(self, model: str, breached_only: bool) -> list[MonitorStatus]: ...

    def monitor_state(self, model: str, stage: str) -> MonitorStatus | None: ...

    def production_means(self, model: str, stage: str, key: str, segment: str,
                         numbers: Sequence[int]) -> dict[int, float]: ...  # fmt: skip

    def holders_at(self, model: str, at: datetime) -> dict[str, int]: ...

    # -- production ------------------------------------------------------------------------

    def production_points(self, model: str, stage: str, *, keys: Sequence[str] = (), segment: str | None = None,
                          since: datetime | None = None, until: datetime | None = None,
                          number: int | None = None, limit: int | None = None) -> list[RecordedPoint]:  # fmt: skip
        """A stage's points, by version, key, segment and window_end (see store.production)."""
        ...

    def evaluation_metrics(self, model: str, numbers: Sequence[int],
                           keys: Sequence[str] = ()) -> list[tuple[int, str, float]]:  # fmt: skip
        """(number, key, value) of the versions' unsplit metrics at their last step."""
        ...

    def get_promotion(self, model: str, promotion_id: int) -> Promotion | None: ...

    def list_promotions(
        self, model: str | None, state: str | None, limit: int, before_id: int | None
    ) -> list[Promotion]: ...

    # -- the event log and its chain -------------------------------------------------------

    def chained_events_after(self, revision: int, limit: int) -> list[tuple[Event, str]]: ...

    def audit_records_after(self, revision: int, limit: int) -> list[tuple[Event, str, Event | None]]: ...

    def chain_head(self) -> str: ...

    def version_facts_after(
        self, models: Sequence[str], revision: int
    ) -> list[tuple[str, int, str, str, str, str]]: ...

    def events_after(self, revision: int, limit: int) -> list[Event]: ...

    def model_renames(self) -> list[tuple[str, str]]:
        """(old, new) model ids of every rename recorded, oldest first."""
        ...

    def min_revision(self) -> int: ...

    # -- lineage ---------------------------------------------------------------------------

    def lineage_edges(self, nodes: Iterable[str], upstream: bool) -> list[tuple[str, str, str]]: ...

    def lineage_labels(self, names: Iterable[str]) -> dict[str, tuple[str, str]]: ...

    def version_labels(self, keys: Iterable[tuple[str, int]]) -> dict[tuple[str, int], str]: ...

    # -- the artifact store: checks, backups, garbage collection ---------------------------

    def newest_kept_blobs(self, limit: int) -> list[str]: ...

    def kept_scope(self, model: str | None, number: int | None, skipped_limit: int = 100) -> KeptScope: ...

    def files_with_blobs(self, sha256s: Sequence[str]) -> list[tuple[str, int, str, str]]: ...

    def stored_blobs(self) -> list[StoredBlob]: ...

    def snapshot_into(self, target: Path) -> CatalogSnapshot: ...

    def retention_facts(self, rules: Sequence[retention.RetentionRule]) -> list[retention.RetentionFacts]: ...

    def max_vid(self) -> int: ...

    def unreferenced_blobs(self, stored: Sequence[tuple[str, int, float]],
                           purging: Sequence[tuple[str, int]] = ()) -> list[retention.UnreferencedBlob]: ...  # fmt: skip
