"""In-memory state: what the writer checks against, and the read cache readers are served from."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field

from studbook.daemon.domain.audit import GENESIS
from studbook.daemon.domain.model import Model, ModelVersion, VersionStatus
from studbook.daemon.domain.semver import SemVer
from studbook.daemon.store.interface import Store


@dataclass
class WriterState:
    """Authoritative facts the writer thread decides on, updated as each operation runs.

    Only the writer thread touches it. When a transaction is rolled back it is rebuilt from
    the catalog, so it never holds an effect that did not commit for long.
    """

    revision: int = 0
    models: dict[str, Model] = field(default_factory=dict)
    model_request_ids: dict[str, str] = field(default_factory=dict)
    status: dict[tuple[str, int], VersionStatus] = field(default_factory=dict)
    semvers: dict[str, set[SemVer]] = field(default_factory=dict)
    highest_semver: dict[str, SemVer] = field(default_factory=dict)
    request_ids: dict[tuple[str, str], int] = field(default_factory=dict)
    digests: dict[tuple[str, str], int] = field(default_factory=dict)
    # The newest version record of each model, to derive the next change kind.
    latest: dict[str, ModelVersion] = field(default_factory=dict)
    promotion_id: int = 0
    promotion_request_ids: dict[str, int] = field(default_factory=dict)
    # Hash of the newest event: the next one chains to it.
    chain_head: str = GENESIS

    @classmethod
    def load(cls, catalog: Store) -> WriterState:
        state = cls(revision=catalog.max_revision())
        state.models = {m.name: m for m in catalog.load_models()}
        state.model_request_ids = catalog.model_request_ids()
        for model, number, status, semver, request_id, digest in catalog.load_version_index():
            state.status[(model, number)] = VersionStatus(status)
            parsed = SemVer.parse(semver)
            state.semvers.setdefault(model, set()).add(parsed)
            if model not in state.highest_semver or parsed > state.highest_semver[model]:
                state.highest_semver[model] = parsed
            if request_id:
                state.request_ids[(model, request_id)] = number
            if digest:
                state.digests.setdefault((model, digest), number)
        state.promotion_id, state.promotion_request_ids = catalog.load_promotion_index()
        state.chain_head = catalog.chain_head() or GENESIS
        return state

    def forget_model(self, model_id: str) -> None:
        """Drops everything known about a deleted model and its versions."""
        del self.models[model_id]
        self.semvers.pop(model_id, None)
        self.highest_semver.pop(model_id, None)
        self.latest.pop(model_id, None)
        self.status = {k: v for k, v in self.status.items() if k[0] != model_id}
        self.request_ids = {k: v for k, v in self.request_ids.items() if k[0] != model_id}
        self.digests = {k: v for k, v in self.digests.items() if k[0] != model_id}
        self.model_request_ids = {k: v for k, v in self.model_request_ids.items() if v != model_id}

    def forget_versions(self, versions: list[ModelVersion]) -> None:
        """Drops everything known about purged versions, in time proportional to their number.

        A model's newest version is never purged, so `latest` stays; its highest semver is
        looked for again only when a purged version had it.
        """
        recheck: set[str] = set()
        for version in versions:
            key = (version.model, version.number)
            self.status.pop(key, None)
            if self.request_ids.get((version.model, version.request_id)) == version.number:
                del self.request_ids[(version.model, version.request_id)]
            if self.digests.get((version.model, version.content_digest)) == version.number:
                del self.digests[(version.model, version.content_digest)]
            semver = SemVer.parse(version.semver)
            self.semvers.get(version.model, set()).discard(semver)
            if self.highest_semver.get(version.model) == semver:
                recheck.add(version.model)
        for model_id in recheck:
            semvers = self.semvers.get(model_id)
            if semvers:
                self.highest_semver[model_id] = max(semvers)
            else:
                self.highest_semver.pop(model_id, None)

    def next_revision(self) -> int:
        self.revision += 1
        return self.revision


class ReadCache:
    """Committed models and a bounded LRU of version records, written through by the writer
    after each commit. The daemon is the catalog's only writer, so this cannot go stale."""

    def __init__(self, max_versions: int) -> None:
        self._lock = threading.Lock()
        self._models: dict[str, Model] = {}
        self._versions: OrderedDict[tuple[str, int], ModelVersion] = OrderedDict()
        self._max_versions = max_versions
        self.revision = 0

    def load_models(self, models: list[Model]) -> None:
        with self._lock:
            self._models = {m.name: m.copy() for m in models}

    def model(self, name: str) -> Model | None:
        return self._models.get(name)

    def models(self) -> list[Model]:
        return list(self._models.values())

    def version(self, model: str, number: int) -> ModelVersion | None:
        with self._lock:
            found = self._versions.get((model, number))
            if found is not None:
                self._versions.move_to_end((model, number))
            return found

    def put_version(self, version: ModelVersion) -> None:
        """Keeps the newer record: a read that raced a commit must not put back stale data."""
        with self._lock:
            key = (version.model, version.number)
            current = self._versions.get(key)
            if current is not None and current.revision > version.revision:
                return
            self._versions[key] = version
            self._versions.move_to_end(key)
            while len(self._versions) > self._max_versions:
                self._versions.popitem(last=False)

    def publish(self, models: dict[str, Model | None], versions: list[ModelVersion], revision: int,
                purged: list[tuple[str, int]] | None = None) -> None:  # fmt: skip
        """Makes a commit's effects visible. `None` for a model means it was deleted; `purged`
        names versions removed from the catalog."""
        with self._lock:
            for key in purged or ():
                self._versions.pop(key, None)
            for name, model in models.items():
                if model is None:
                    self._models.pop(name, None)
                    for key in [k for k in self._versions if k[0] == name]:
                        del self._versions[key]
                else:
                    self._models[name] = model
            self.revision = max(self.revision, revision)
        for version in versions:
            self.put_version(version)
