"""The registry's use cases behind one object: what servicers, the watcher and tests call."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from studbook.daemon.app.access import AccessUseCases
from studbook.daemon.app.artifacts import ArtifactUseCases
from studbook.daemon.app.audit import AuditUseCases
from studbook.daemon.app.catalog_status import CatalogStatus, catalog_status
from studbook.daemon.app.clock import SimulatedClock, utcnow
from studbook.daemon.app.core import BasisReader, Core, PayloadEncoder
from studbook.daemon.app.drift import DriftUseCases
from studbook.daemon.app.drops import DropUseCases
from studbook.daemon.app.hooks import HookUseCases, ResourceJson
from studbook.daemon.app.integrity import IntegrityUseCases
from studbook.daemon.app.lineage import LineageUseCases
from studbook.daemon.app.models import ModelUseCases
from studbook.daemon.app.monitors import MonitorUseCases
from studbook.daemon.app.policy import PolicyStore
from studbook.daemon.app.production import ProductionUseCases
from studbook.daemon.app.retention import RetentionUseCases
from studbook.daemon.app.stages import StageUseCases
from studbook.daemon.app.uploads import UploadUseCases
from studbook.daemon.app.versions import VersionUseCases
from studbook.daemon.app.writer_models import MAX_MODEL_RECORDS
from studbook.daemon.artifacts import ScanLimits
from studbook.daemon.blobs import BlobStore, open_store
from studbook.daemon.blobs.claims import BlobClaims
from studbook.daemon.domain.access import Caller
from studbook.daemon.domain.errors import FailedPrecondition
from studbook.daemon.domain.hooks import HookSettings
from studbook.daemon.domain.retention import BLOB_GRACE
from studbook.daemon.formats import DEFAULT_LIMITS, Limits
from studbook.daemon.store.interface import Store
from studbook.daemon.store.opening import open_catalog, open_postgres_catalog

if TYPE_CHECKING:  # made on the first backup: most daemons never take one, and start without it
    from studbook.daemon.app.backup import BackupUseCases


class Registry:
    """Wires the catalog, the writer and the use cases. `start()` on the event loop."""

    def __init__(
        self,
        catalog_path: Path,
        encode: PayloadEncoder,
        *,
        basis_of: BasisReader | None = None,
        cache_versions: int = 10_000,
        cache_models: int = MAX_MODEL_RECORDS,
        cluster_min_rows: int = 100_000,
        cluster_check_seconds: float = 5.0,
        allowed_roots: Sequence[Path] | None = None,
        scan_limits: ScanLimits = ScanLimits(),
        format_limits: Limits = DEFAULT_LIMITS,
        policy: PolicyStore | None = None,
        blobs: BlobStore | None = None,
        claims: BlobClaims | None = None,
        gc_grace: timedelta = BLOB_GRACE,
        clock: Callable[[], datetime] = utcnow,
        catalog_url: str = "",
        hook_settings: HookSettings | None = None,
        hook_resource: ResourceJson | None = None,
    ) -> None:
        # The catalog: the DuckDB file at catalog_path, or a PostgreSQL one when a URL is given
        # (the data dir beside catalog_path still holds the lock, the mark and the blobs).
        self.catalog: Store
        if catalog_url:
            self.catalog, marks = open_postgres_catalog(catalog_url, catalog_path.parent)
        else:
            self.catalog, marks = open_catalog(catalog_path)
        self.core = Core(
            self.catalog,
            encode,
            marks=marks,
            basis_of=basis_of,
            cache_versions=cache_versions,
            cache_models=cache_models,
            cluster_min_rows=cluster_min_rows,
            cluster_check_seconds=cluster_check_seconds,
            clock=clock,
        )
        if isinstance(clock, SimulatedClock) and self.core.state.revision > 0:
            # Simulated times are for a demo's first history only: in a catalog that holds
            # anything, they would put new changes before older ones.
            marks.close()
            self.catalog.close()
            raise FailedPrecondition(
                f"a simulated clock only starts an empty catalog, and {self.catalog.location} holds changes; "
                "start the daemon without it, or give it a new --data-dir",
                reason="CATALOG_NOT_EMPTY",
            )
        # The artifact store: `blobs/` beside the catalog unless another one is given; made only
        # once the catalog is accepted, so a refused start leaves the data dir as it was.
        self.blobs = blobs or open_store("", catalog_path.parent)
        if mismatch := store_mismatch(self.catalog, self.blobs, shared=catalog_url != ""):
            self.core.marks.close()
            self.catalog.close()
            raise FailedPrecondition(mismatch, reason="ARTIFACT_STORE_MISMATCH", store=self.blobs.url)
        # Recorded in the store, so that gc on another catalog sharing it knows these files have users.
        self.blobs.add_catalog(self.catalog.identity())
        self.models = ModelUseCases(self.core)
        # Shared by ingests and garbage collection: a blob an ingest relies on is never deleted.
        self.claims = claims or BlobClaims()
        self.versions = VersionUseCases(self.core, self.models, self.blobs, scan_limits=scan_limits,
                                        format_limits=format_limits, allowed_roots=allowed_roots,
                                        claims=self.claims)  # fmt: skip
        self.policy = policy or PolicyStore(None)
        self.stages = StageUseCases(self.core, self.blobs, self.policy)
        self.monitors = MonitorUseCases(self.core, self.stages, self.policy)
        self.stages.after_stage_change.append(self.monitors.stages_changed)
        self.retention = RetentionUseCases(self.core, self.blobs, self.policy, self.claims, grace=gc_grace,
                                           catalog_id=self.catalog.identity())  # fmt: skip
        self.lineage = LineageUseCases(self.core)
        self.drops = DropUseCases(self.core)
        self.drift = DriftUseCases(self.core, self.monitors)
        self.models.rename_listeners.append(self.drops.model_renamed)
        self.drops.renamed_to = self.models.renamed_to
        self.audit = AuditUseCases(self.core)
        self.access = AccessUseCases(self.core)
        self.hooks = (HookUseCases(self.core, hook_settings, hook_resource) if hook_resource is not None
                      else HookUseCases(self.core, hook_settings))  # fmt: skip
        self.production = ProductionUseCases(self.core, self.monitors)
        self.artifacts = ArtifactUseCases(self.versions, self.blobs)
        self.uploads = UploadUseCases(self.blobs, scan_limits)
        self.integrity = IntegrityUseCases(self.core, self.blobs)
        self._data_dir, self._allowed_roots = catalog_path.parent, allowed_roots
        # A backup copies the blobs of one snapshot; a collection must not delete them meanwhile.
        self.retention.backup_running = lambda: "backups" in self.__dict__ and self.backups.running

    @cached_property
    def backups(self) -> BackupUseCases:
        from studbook.daemon.app.backup import BackupUseCases

        backups = BackupUseCases(self.core, self.blobs, self._data_dir, self._allowed_roots)
        backups.collection_running = lambda: self.retention.running
        return backups

    def start(self) -> None:
        self.core.start()
        self.hooks.start()

    def catalog_status(self, caller: Caller) -> CatalogStatus:
        return catalog_status(self.core, caller)

    def close(self) -> None:
        """Finishes queued writes, then closes the catalog."""
        self.core.stop()
        self.core.marks.close()
        self.catalog.close()


# How many of the newest kept files a store is asked for when it has no record of the catalog.
_STORE_EVIDENCE = 3


def store_mismatch(catalog: Store, blobs: BlobStore, *, shared: bool) -> str | None:
    """Why `blobs` cannot be the store the catalog's kept files are in, or None when it may be.

    A store records each catalog that keeps files in it (`add_catalog`, at every start). One
    without this catalog's record, and without any of its newest kept files, is another store:
    a daemon serving from it would answer "missing" for every file and `studbook verify` would
    mark sound versions corrupt. A store from before the records holds the files, so it passes.
    """
    if catalog.identity() in blobs.catalogs():
        return None
    evidence = catalog.newest_kept_blobs(_STORE_EVIDENCE)
    if not evidence or any(blobs.has(sha256) for sha256 in evidence):
        return None
    which = "the --artifact-store the other daemons on this catalog use" if shared else (
        "the --artifact-store (or the data dir) this catalog was used with")  # fmt: skip
    return (f"the artifact store {blobs.url} holds none of the files of the catalog {catalog.location} "
            f"(not one of its {len(evidence)} newest kept files, and no record of the catalog): start with {which}")  # fmt: skip
