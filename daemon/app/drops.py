"""Use cases on drop-in verdicts: record them, list them, and move versions between ready,
modified and missing as their files on disk change. The watcher decides; this writes."""

from __future__ import annotations

import asyncio
import copy
import hashlib
import json
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import Enum
from typing import TypeVar

from studbook.daemon.app.core import Core, Effects
from studbook.daemon.app.paging import PageToken, page_bounds
from studbook.daemon.artifacts import ScannedFile
from studbook.daemon.domain.access import DROP_IN
from studbook.daemon.domain.errors import InvalidArgument, NotFound
from studbook.daemon.domain.model import ModelVersion, VersionStatus
from studbook.daemon.domain.names import version_name
from studbook.daemon.domain.printable import printable
from studbook.daemon.store.interface import StoreTransaction as Transaction
from studbook.daemon.store.records import DropFileRow, DropRow

T = TypeVar("T")
# Who the registry says acted when a drop registered or changed a version.
# Statuses the watcher may move a version between; anything else (archived) is the user's word.
_FILE_STATUSES = (VersionStatus.READY, VersionStatus.MODIFIED, VersionStatus.MISSING)


class DropState(str, Enum):
    PENDING = "pending"
    """Seen, not complete yet; kept in memory only."""
    REGISTERED = "registered"
    MODIFIED = "modified"
    """Its files no longer match the version it registered."""
    MISSING = "missing"
    """Its folder left the root."""
    QUARANTINED = "quarantined"


# The drop states under which a unit on disk still holds the version it registered.
HOLDING = (DropState.REGISTERED, DropState.MODIFIED)


@dataclass
class DropRecord:
    """What the registry knows of one drop unit (`root`/`path`)."""

    root: str
    path: str
    """Below the root, '/'-separated: model/entry."""
    model: str
    state: DropState
    number: int | None = None
    content_digest: str = ""
    reason: str = ""
    message: str = ""
    details: dict[str, str] = field(default_factory=dict)
    fingerprint: str = ""
    identity: tuple[int, int] = (0, 0)
    update_time: datetime | None = None
    files: dict[str, ScannedFile] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        return self.root, self.path

    @property
    def name(self) -> str:
        return drop_name(self.root, self.path)

    @property
    def full_path(self) -> str:
        return os.path.join(self.root, *self.path.split("/"))


def drop_name(root: str, path: str) -> str:
    """`drops/{id}`: stable for a unit's location, opaque, safe in any resource name."""
    # surrogateescape: a name that is not UTF-8 hashes as its bytes on disk (others as before).
    return "drops/" + hashlib.sha256(f"{root}\0{path}".encode("utf-8", "surrogateescape")).hexdigest()[:20]


@dataclass
class DropPage:
    drops: list[DropRecord]
    next_page_token: str
    total: int


class DropUseCases:
    """Drop verdicts in memory (loaded once, written through) and in the catalog."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self.records: dict[tuple[str, str], DropRecord] = {}
        self.pending: dict[tuple[str, str], DropRecord] = {}
        # Quarantined by their name alone (control characters, bytes that are not UTF-8):
        # kept in memory, since the catalog stores text; the watcher re-finds them on start.
        self.unnamable: dict[tuple[str, str], DropRecord] = {}
        # (model, number) -> keys of the records that name that version.
        self._by_version: dict[tuple[str, int], set[tuple[str, str]]] = {}
        # The name a model renamed away has now (see ModelUseCases.renamed_to), set by the registry.
        self.renamed_to: Callable[[str, Callable[[str], bool]], str | None] = lambda name, exists: None

    def load(self) -> None:
        """Blocking: read every verdict from the catalog (once, before watching starts)."""
        drops, files = self.core.catalog.load_drops()
        self.records = {(r.root, r.path): _record(r) for r in drops}
        self._by_version = {}
        for record in self.records.values():
            self._index(record)
        for f in files:
            owner = self.records.get((f.root, f.path))
            if owner is not None:
                owner.files[f.file] = ScannedFile(f.file, f.size, f.sha256, f.mtime_ns, f.inode, f.device)

    # -- reading -----------------------------------------------------------------------

    def get(self, root: str, path: str) -> DropRecord | None:
        return self.records.get((root, path))

    def of_version(self, model: str, number: int) -> list[DropRecord]:
        """Every recorded drop that names this version, whatever its state."""
        return [self.records[key] for key in sorted(self._by_version.get((model, number), ()))]

    def holders(self, model: str, number: int) -> list[DropRecord]:
        """Drops whose files on disk stand for this version."""
        return [r for r in self.of_version(model, number) if r.state in HOLDING]

    def find(self, name: str = "", path: str = "") -> DropRecord:
        """A drop by resource name or by its absolute path."""
        if not name and not path:
            raise InvalidArgument("give the drop's name or its path", reason="INVALID_ARGUMENT", field="name")
        # Roots are kept symlink-free; resolve the folders above the drop, not the drop itself
        # (a drop that is a symlink would resolve to somewhere else entirely).
        wanted = os.path.join(os.path.realpath(os.path.dirname(path)), os.path.basename(path)) if path else ""
        for record in [*self.records.values(), *self.pending.values(), *self.unnamable.values()]:
            # An unnamable drop's path is also found as it is shown (escaped).
            if (name and record.name == name) or (wanted and wanted in (record.full_path, printable(record.full_path))):
                return record
        raise NotFound(f"no drop {name or path!r} is known to the watcher", reason="DROP_NOT_FOUND",
                       drop=(name or path)[:500])  # fmt: skip

    def list(self, *, page_size: int, page_token: str, model: str, quarantined_only: bool) -> DropPage:
        token = PageToken.decode(page_token, "drops", model, quarantined_only)
        limit, offset = page_bounds(page_size, token)
        merged = {**self.pending, **self.unnamable, **self.records}
        chosen = sorted(
            (r for r in merged.values()
             if (not model or r.model == model) and (not quarantined_only or r.state == DropState.QUARANTINED)),
            key=lambda r: (r.root, r.path),
        )  # fmt: skip
        page = chosen[offset : offset + limit]
        next_token = ""
        if offset + limit < len(chosen):
            next_token = PageToken(offset + limit, "drops", model, quarantined_only).encode()
        return DropPage(page, next_token, len(chosen))

    def count(self, state: DropState, *, kept_roots_only: frozenset[str] | None = None) -> int:
        """Drops in `state`; with `kept_roots_only` (the roots referenced in place), only those of the other roots."""
        source = (
            [*self.pending.values()]
            if state == DropState.PENDING
            else [*self.records.values(), *self.unnamable.values()]
        )
        skipped = kept_roots_only or frozenset()
        return sum(1 for r in source if r.state == state and r.root not in skipped)

    # -- in-memory progress ----------------------------------------------------------

    def note_pending(self, root: str, path: str, model: str, reason: str, message: str) -> None:
        """A unit not complete yet, shown by ListDrops so a user can see why it waits."""
        self.pending[(root, path)] = DropRecord(root, path, model, DropState.PENDING, reason=reason,
                                                message=message, update_time=self.core.clock())  # fmt: skip

    def clear_pending(self, root: str, path: str) -> None:
        self.pending.pop((root, path), None)

    def note_unnamable(self, root: str, path: str, model: str) -> DropRecord:
        """A unit whose name has control characters or bytes that are not UTF-8: it cannot
        be registered under that name, and the user must see it to rename it."""
        record = self.unnamable.get((root, path))
        if record is None:
            shown = printable(path)
            record = DropRecord(
                root, path, model, DropState.QUARANTINED, reason="INVALID_NAME",
                message=f"the name {shown!r} has control characters or bytes that are not UTF-8; rename it",
                details={"path": shown}, update_time=self.core.clock(),
            )  # fmt: skip
            self.unnamable[(root, path)] = record
        return record

    def forget_unnamable(self, root: str, path: str) -> None:
        self.unnamable.pop((root, path), None)

    # -- writing -----------------------------------------------------------------------

    async def save(self, record: DropRecord, *, files_changed: bool) -> DropRecord:
        """Records a verdict; entering or leaving quarantine is an event Watch clients see."""
        previous = self.records.get(record.key)
        record = replace(record, update_time=self.core.clock())
        event = _transition_event(previous, record)

        def operation(tx: Transaction) -> Effects:
            nonlocal record
            state = self.core.state
            if record.number is not None and record.model not in state.models:
                # Its model was renamed since the version was registered (or read): follow it.
                moved = self.renamed_to(record.model, state.models.__contains__)
                if moved is not None:
                    record = replace(record, model=moved)
            effects = Effects()
            tx.put_drop(_row(record), _file_rows(record) if files_changed or previous is None else None)
            if event:
                self.core.event(tx, effects, event, record.name, record.model, DROP_IN, None)
            return effects

        await _committed(self.core.write(operation))
        if previous is not None:
            self._unindex(previous)
        self.records[record.key] = record
        self._index(record)
        self.pending.pop(record.key, None)
        return record

    async def delete(self, record: DropRecord) -> None:
        def operation(tx: Transaction) -> Effects:
            effects = Effects()
            tx.delete_drop(record.root, record.path)
            if record.state == DropState.QUARANTINED:
                self.core.event(tx, effects, "drop.released", record.name, record.model, DROP_IN, None)
            return effects

        await _committed(self.core.write(operation))
        removed = self.records.pop(record.key, None)
        if removed is not None:
            self._unindex(removed)

    def model_renamed(self, old: str, new: str) -> None:
        """On the event loop, after a rename committed (the catalog's drop rows moved with it):
        the records of the model's drops name it by its new name. Their paths stay: the folders
        on disk keep their names, and the watcher goes on following them for these versions."""
        for record in self.records.values():
            # As in the catalog: a drop that names no version stays named by its folder.
            if record.model == old and record.number is not None:
                self._unindex(record)
                record.model = new
                self._index(record)

    def _index(self, record: DropRecord) -> None:
        if record.number is not None:
            self._by_version.setdefault((record.model, record.number), set()).add(record.key)

    def _unindex(self, record: DropRecord) -> None:
        if record.number is None:
            return
        keys = self._by_version.get((record.model, record.number))
        if keys is not None:
            keys.discard(record.key)
            if not keys:
                del self._by_version[(record.model, record.number)]

    async def set_version_status(
        self, model: str, number: int, status: VersionStatus, reason: str, *, storage_uri: str = ""
    ) -> ModelVersion | None:
        """Moves a version between ready, modified and missing (and re-points its storage URI).

        Archived versions are left alone; a version deleted meanwhile is None.
        """
        try:
            current = await self.core.read_version(model, number)
        except NotFound:
            return None
        if current.status not in _FILE_STATUSES:
            return current
        if current.kept and status != VersionStatus.READY:
            return current  # the registry keeps its own copy: nothing done to the folder can harm it
        moved = bool(storage_uri) and storage_uri != current.storage_uri
        if current.status == status and current.status_reason == reason and not moved:
            return current

        def operation(tx: Transaction) -> Effects:
            state = self.core.state
            if state.status_of(tx, model, number) is None:
                raise NotFound(f"version {number} of {model!r} was deleted", reason="VERSION_NOT_FOUND")
            latest = state.latest.get(model)
            fresh = latest if latest is not None and latest.number == number else None
            updated = copy.deepcopy(fresh or self.core.cache.version(model, number) or current)
            changed_status = updated.status != status
            updated.status, updated.status_reason = status, reason
            if moved:
                updated.storage_uri = storage_uri
            updated.update_time = self.core.clock()
            effects = Effects(value=updated)
            event = "version.status_changed" if changed_status else "version.updated"
            self.core.event(tx, effects, event, version_name(model, number), model, DROP_IN, updated)
            tx.update_version_fields(updated)
            if moved:
                tx.set_version_storage_uri(model, number, storage_uri)
            state.set_status(model, number, status)
            if fresh is not None:
                state.latest[model] = updated
            effects.versions.append(updated)
            return effects

        try:
            return await _committed(self.core.write(operation))
        except NotFound:
            return None


async def _committed(write: Awaitable[T]) -> T:
    """A write that finishes even when its caller is cancelled: it may commit either way,
    and the writer must never be left holding a future nobody wants."""
    return await asyncio.shield(write)


def _transition_event(previous: DropRecord | None, record: DropRecord) -> str:
    was = previous is not None and previous.state == DropState.QUARANTINED
    now = record.state == DropState.QUARANTINED
    if now and (not was or (previous is not None and previous.reason != record.reason)):
        return "drop.quarantined"
    if was and not now:
        return "drop.released"
    return ""


def _row(record: DropRecord) -> DropRow:
    assert record.update_time is not None, "save() stamps every record"
    return DropRow(
        record.root, record.path, record.model, record.number, record.state.value, record.content_digest,
        record.reason, record.message, json.dumps(record.details), record.fingerprint, record.identity[0],
        record.identity[1], record.update_time,
    )  # fmt: skip


def _file_rows(record: DropRecord) -> list[DropFileRow]:
    return [DropFileRow(record.root, record.path, f.path, f.size, f.sha256, f.mtime_ns, f.inode, f.device)
            for f in record.files.values()]  # fmt: skip


def _record(row: DropRow) -> DropRecord:
    details = json.loads(row.details) if row.details else {}
    return DropRecord(
        row.root, row.path, row.model, DropState(row.state), row.number, row.content_digest, row.reason,
        row.message, {str(k): str(v) for k, v in details.items()}, row.fingerprint,
        (row.unit_device, row.unit_inode), row.update_time,
    )  # fmt: skip
