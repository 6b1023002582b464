"""The verdict on one drop unit: wait, register, quarantine, or follow a registered unit's
files (modified, missing, moved). Idempotent: looking twice at the same disk does nothing new.

Completeness, in the order checked:
- a unit moved into place by a rename is complete (`complete_hint`);
- a folder with a `studbook.json` is complete once every listed file has its listed size
  and sha256 (a manifest that stays wrong after the quiet interval is quarantined);
- otherwise a unit is complete once two looks at least `quiet_seconds` apart saw the same
  sizes, mtimes and inodes.
Nothing is registered before that, and what is registered is exactly what was hashed:
a file that changes while it is read makes the unit wait again.
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import unquote, urlparse

from studbook.daemon.app.drops import HOLDING, DropRecord, DropState
from studbook.daemon.app.inspection import inspect_version, judge
from studbook.daemon.app.intake import add_data
from studbook.daemon.app.registry import Registry
from studbook.daemon.app.versions import Registration
from studbook.daemon.artifacts import ScanLimits, ScannedFile
from studbook.daemon.blobs.claims import ClaimHold
from studbook.daemon.domain.access import DROP_IN, Caller
from studbook.daemon.domain.errors import FailedPrecondition, InvalidArgument, NotFound, RegistryError
from studbook.daemon.domain.model import ArtifactFile, ModelVersion, ParentLink, VersionStatus
from studbook.daemon.domain.names import parse_version_name, validate_model_id
from studbook.daemon.formats import FormatError, dvc
from studbook.daemon.formats.textfile import read_text
from studbook.daemon.watch.draft import build_draft
from studbook.daemon.watch.examine import Hashed, hash_unit, read_manifest_bytes
from studbook.daemon.watch.layout import MANIFEST, UnitKey, sidecars, version_number
from studbook.daemon.watch.manifest import MAX_MANIFEST_BYTES, Manifest, ManifestError, error_at, parse_manifest
from studbook.daemon.watch.snapshot import EntryStat, Snapshot, is_symlink_loop, take_snapshot
from studbook.daemon.watch.status import Counters

log = logging.getLogger(__name__)

# Worth another look later rather than a quarantine: the disk or the catalog was busy.
RETRYABLE = frozenset({"FILE_CHANGED_DURING_SCAN", "READ_FAILED", "PATH_NOT_FOUND", "STORE_UNAVAILABLE", "STORE_FULL"})
MIN_RECHECK_SECONDS = 0.05


@dataclass(frozen=True)
class JudgeSettings:
    quiet_seconds: float = 2.0
    scan_limits: ScanLimits = ScanLimits()
    in_place_roots: frozenset[str] = frozenset()
    """Normalised roots whose drops are registered without keeping a copy of their files."""


@dataclass
class _Progress:
    """Working memory for a unit not settled yet."""

    snapshot: Snapshot | None = None
    since: float = 0.0
    """When `snapshot` was first seen; unchanged for quiet_seconds means stable."""
    known: dict[str, ScannedFile] = field(default_factory=dict)
    """Hashes from earlier attempts, so waiting never costs a second full read."""


class _Wait(Exception):
    """Not complete yet: look again after `delay` seconds (None: when something changes)."""

    def __init__(self, reason: str, message: str, delay: float | None) -> None:
        super().__init__(message)
        self.reason, self.message, self.delay = reason, message, delay


class UnitJudge:
    """Settles units one call at a time; the caller makes sure one unit is never settled twice at once."""

    def __init__(
        self, registry: Registry, settings: JudgeSettings, counters: Counters,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:  # fmt: skip
        self.registry = registry
        self.drops = registry.drops
        self.settings = settings
        self.counters = counters
        self.clock = clock
        self._progress: dict[UnitKey, _Progress] = {}
        self._gone_since: dict[UnitKey, float] = {}
        # Units a maintainer let in although they run code when loaded, until their next verdict.
        self._unsafe_allowed_by: dict[UnitKey, Caller] = {}

    @property
    def quiet(self) -> float:
        return self.settings.quiet_seconds

    async def settle(self, key: UnitKey, *, complete_hint: bool = False, retry: bool = False) -> float | None:
        """Looks at `key` on disk and acts; returns seconds until it wants another look."""
        try:
            snap = await asyncio.to_thread(take_snapshot, key.path, self.settings.scan_limits.max_files)
        except OSError as exc:
            return await self._unreadable(key, exc)
        record = self.drops.get(key.root, key.rel)
        if snap is None:
            return await self._vanished(key, record)
        self._gone_since.pop(key, None)
        progress = self._progress.setdefault(key, _Progress())
        try:
            if (
                record is not None
                and record.state in (*HOLDING, DropState.MISSING)
                and record.identity == snap.identity
            ):
                return await self._follow(key, snap, record, progress)
            if record is not None and record.state == DropState.QUARANTINED and record.fingerprint == snap.fingerprint:
                if not retry:
                    return None  # nothing changed since the verdict
                complete_hint = True  # it was complete when quarantined and has not changed since
            return await self._judge(key, snap, record, progress, complete_hint)
        except _Wait as wait:
            if record is None or record.state == DropState.QUARANTINED or record.identity != snap.identity:
                self.drops.note_pending(key.root, key.rel, key.model, wait.reason, wait.message)
            return None if wait.delay is None else max(MIN_RECHECK_SECONDS, wait.delay)

    def allow_unsafe(self, key: UnitKey, caller: Caller) -> None:
        """The unit's next verdict lets code-running content in, on `caller`'s word."""
        self._unsafe_allowed_by[key] = caller

    def forget(self, key: UnitKey) -> None:
        self._progress.pop(key, None)
        self._gone_since.pop(key, None)
        self._unsafe_allowed_by.pop(key, None)
        self.drops.clear_pending(key.root, key.rel)

    # -- a unit without a verdict on its current folder ----------------------------------

    async def _judge(self, key: UnitKey, snap: Snapshot, record: DropRecord | None, progress: _Progress,
                     complete_hint: bool) -> float | None:  # fmt: skip
        is_link = not snap.is_folder and snap.entries[os.path.basename(key.path)].kind == "link"
        if is_link and await asyncio.to_thread(is_symlink_loop, key.path):
            # Said first: "not in a model folder" or "an alias" would send its owner elsewhere.
            return await self._quarantine(key, snap, record, InvalidArgument(
                f"{key.path!r} is a symlink loop (it leads back to itself); remove it, or point it at the files",
                reason="SYMLINK_LOOP", path=key.path))  # fmt: skip
        if not key.entry:
            return await self._quarantine(key, snap, record, InvalidArgument(
                f"{key.rel!r} lies directly in the watched root; put it in a folder named after its model: "
                f"{key.root}/<model>/{key.rel}", reason="NOT_IN_MODEL_FOLDER"))  # fmt: skip
        try:
            validate_model_id(key.model, "model folder")
            number = version_number(key.entry, snap.is_folder)
        except InvalidArgument as exc:
            return await self._quarantine(key, snap, record, exc)
        if renamed := await self.registry.models.committed_rename(key.model):
            # Not registered into a new model under the name given up, nor silently into the
            # renamed one: the folder's name says one model, the registry another.
            return await self._quarantine(key, snap, record, FailedPrecondition(
                f"model {key.model!r} was renamed to {renamed!r}; move this drop to {key.root}/{renamed}/ to "
                f"register it there (or create a model named {key.model!r} to use the old name again, then retry)",
                reason="MODEL_RENAMED", model=key.model, renamed_to=renamed))  # fmt: skip
        if not snap.is_folder and snap.entries[key.entry].kind == "link":
            return await self._linked_unit(key, snap, record)
        if snap.too_many:
            return await self._quarantine(key, snap, record, InvalidArgument(
                f"{key.path!r} holds more than {self.settings.scan_limits.max_files} files",
                reason="TOO_MANY_FILES", max_files=self.settings.scan_limits.max_files))  # fmt: skip
        stable = self._observe(progress, snap)
        final = stable or complete_hint
        if not snap.artifact():
            raise _Wait("EMPTY", "no files to register yet", None)
        try:
            manifest, hashed = await self._check_manifest(key, snap, progress, final)
            if hashed is None and not final:
                raise _Wait("WAITING_FOR_QUIET", f"waiting until nothing has changed for {self.quiet:g} s",
                            self._until_stable(progress))  # fmt: skip
            hashed = hashed or await self._hash(key, progress, keep=self._keeps(key))
        except (ManifestError, FormatError) as exc:
            return await self._quarantine(key, snap, record, exc)
        except RegistryError as exc:
            if exc.reason in RETRYABLE:
                raise _Wait(exc.reason, exc.message, self.quiet) from None
            return await self._quarantine(key, snap, record, exc)
        if not _hashed_as_seen(hashed, snap):
            progress.snapshot = None
            raise _Wait("CHANGED_WHILE_HASHING", "files changed while they were read", self.quiet)
        return await self._register(key, snap, record, progress, number, manifest, hashed)

    def _observe(self, progress: _Progress, snap: Snapshot) -> bool:
        """Remembers `snap`; True once the unit looked the same for quiet_seconds."""
        now = self.clock()
        if progress.snapshot is None or progress.snapshot.fingerprint != snap.fingerprint:
            progress.snapshot, progress.since = snap, now
            return False
        return now - progress.since >= self.quiet

    def _until_stable(self, progress: _Progress) -> float:
        return progress.since + self.quiet - self.clock()

    async def _check_manifest(self, key: UnitKey, snap: Snapshot, progress: _Progress,
                              final: bool) -> tuple[Manifest | None, Hashed | None]:  # fmt: skip
        """The manifest, and the hashes that verified it when it lists files (a manifest that
        lists none proves nothing about completeness); _Wait while it does not verify yet."""
        if not snap.is_folder or MANIFEST not in snap.entries:
            return None, None
        try:
            data = await asyncio.to_thread(read_manifest_bytes, key.path, MAX_MANIFEST_BYTES)
            manifest = parse_manifest(data) if data is not None else None
        except ManifestError as exc:
            if final:
                raise
            raise _Wait("MANIFEST_INVALID", f"{exc.message} (it may still be being written)",
                        self._until_stable(progress)) from None  # fmt: skip
        if manifest is None or not manifest.files:
            return manifest, None
        problem = _listing_problem(manifest, snap.entries)
        if problem is None:
            # Complete if it verifies: then this read keeps the bytes too, and registering reads nothing again.
            hashed = await self._hash(key, progress, keep=final and self._keeps(key))
            wrong = [f.path for f in manifest.files if hashed.all_files[f.path].sha256 != f.sha256]
            if not wrong:
                return manifest, hashed
            problem = ManifestError(
                f"{MANIFEST} lists {_names(wrong)} with a sha256 the file does not have",
                reason="MANIFEST_SHA256_MISMATCH", file=wrong[0], files=",".join(wrong[:20]),
            )  # fmt: skip
        if final:
            raise problem
        raise _Wait(problem.reason, problem.message, self._until_stable(progress))

    def _keeps(self, key: UnitKey) -> bool:
        return key.root not in self.settings.in_place_roots

    async def _hash(self, key: UnitKey, progress: _Progress, known: Mapping[str, ScannedFile] | None = None,
                    keep: bool = False) -> Hashed:  # fmt: skip
        sink = self.registry.versions.keeping_sink() if keep else None
        hashed = await asyncio.to_thread(
            hash_unit, key.path, key.root, self.settings.scan_limits, {**progress.known, **(known or {})}, sink
        )
        progress.known = dict(hashed.all_files)
        self.counters.files_hashed += hashed.hashed_files
        self.counters.bytes_hashed += hashed.hashed_bytes
        return hashed

    async def _register(self, key: UnitKey, snap: Snapshot, record: DropRecord | None, progress: _Progress,
                        number: int | None, manifest: Manifest | None, hashed: Hashed) -> float | None:  # fmt: skip
        try:
            inspected = await asyncio.to_thread(inspect_version, Path(key.path), snap.is_folder,
                                                [f.path for f in hashed.files],
                                                self.registry.versions.format_limits)  # fmt: skip
            draft = build_draft(key.model, key.path, hashed, inspected, manifest, await self._parents(manifest))
            judge(draft.files, allow_unsafe=key in self._unsafe_allowed_by)
            if not snap.is_folder:
                await asyncio.to_thread(self._read_sidecars, key, draft)
        except (FailedPrecondition, ManifestError) as exc:
            return await self._quarantine(key, snap, record, exc)
        except OSError as exc:
            raise _Wait("READ_FAILED", f"could not read a file: {exc.strerror}", self.quiet) from None
        draft.kept = self._keeps(key)
        # The kept blobs stay claimed until the version is registered: gc leaves them alone.
        with self.registry.versions.claims.hold() as hold:
            return await self._keep_and_register(key, snap, record, progress, number, manifest, hashed, draft, hold)

    async def _keep_and_register(self, key: UnitKey, snap: Snapshot, record: DropRecord | None, progress: _Progress,
                                 number: int | None, manifest: Manifest | None, hashed: Hashed, draft: ModelVersion,
                                 hold: ClaimHold) -> float | None:  # fmt: skip
        if draft.kept:
            try:
                await self.registry.versions.keep_files(key.path, key.root, hashed.files, hold)
            except RegistryError as exc:
                if exc.reason in RETRYABLE:
                    progress.snapshot = None
                    raise _Wait(exc.reason, exc.message, self.quiet) from None
                return await self._quarantine(key, snap, record, exc, number=number)
        registration = Registration(
            draft,
            request_id=_request_id(key, hashed.digest),
            semver=manifest.semver if manifest else "",
            number=number or 0,
            change_kind=manifest.change_kind if manifest else None,
            caller=DROP_IN,
            unsafe_allowed_by=self._unsafe_allowed_by.get(key),
            reference_statistics=list(manifest.reference_statistics) if manifest else [],
        )
        try:
            registered = await self.registry.versions.register(registration)
        except RegistryError as exc:
            if exc.reason in RETRYABLE:
                raise _Wait(exc.reason, exc.message, self.quiet) from None
            return await self._quarantine(key, snap, record, exc, number=number)
        version = registered.version
        if registered.created:
            self.counters.registered += 1
            log.info("registered %s from %s", version.number, key.path)
        holder = DropRecord(key.root, key.rel, key.model, DropState.REGISTERED, version.number, hashed.digest,
                            fingerprint=snap.fingerprint, identity=snap.identity,
                            files={f.path: f for f in hashed.files})  # fmt: skip
        await self._hold(holder, record)
        self.forget(key)
        return None

    def _read_sidecars(self, key: UnitKey, draft: ModelVersion) -> None:
        """Blocking: the DVC files beside a single-file unit (its own NAME.dvc, the model
        folder's dvc.lock) add the data they record to `draft`. A link is not followed."""
        limits = self.registry.versions.format_limits
        own = {f.path for f in draft.files}
        for path in sidecars(key.path):
            if os.path.isfile(path) and not os.path.islink(path):
                text = read_text(Path(path), limits.max_text_bytes)
                data = dvc.parse(text, os.path.basename(path), own_files=frozenset(own), max_depth=limits.max_depth)
                add_data(draft, data.datasets, data.data_versions)

    async def _parents(self, manifest: Manifest | None) -> list[ParentLink]:
        links = []
        for parent in manifest.parents if manifest else []:
            try:
                ref = parse_version_name(parent.version, "parents.version")
                number = await self.registry.core.resolve_number(ref)
                await self.registry.core.read_version(ref.model, number)
            except NotFound as exc:
                error = error_at(parent.position, "parents", f"parent {parent.version!r} does not exist: {exc.message}")
                error.reason = "PARENT_NOT_FOUND"
                raise error from None
            except InvalidArgument as exc:
                raise error_at(parent.position, "parents", exc.message) from None
            links.append(ParentLink(ref.model, number, parent.relation))
        return links

    async def _hold(self, holder: DropRecord, previous: DropRecord | None) -> None:
        """`holder` now stands for its version: settle the records and the version around it."""
        assert holder.number is not None
        await self.drops.save(holder, files_changed=True)
        for other in [r for r in self.drops.of_version(holder.model, holder.number) if r.key != holder.key]:
            # The same content somewhere that is gone now: this drop was moved, not re-made.
            if other.state == DropState.MISSING or not await asyncio.to_thread(os.path.lexists, other.full_path):
                await self.drops.delete(other)
        if previous is not None and previous.number not in (None, holder.number) and previous.state in HOLDING:
            await self._release(previous, f"its folder {previous.full_path} was replaced by other content")
        # Read the version only now: a concurrent look at its old place may just have marked it missing.
        try:
            version = await self.registry.core.read_version(holder.model, holder.number)
        except NotFound:
            return
        uri = Path(holder.full_path).as_uri()
        old_path = _local_path(version.storage_uri)
        moved = (
            old_path is not None
            and uri != version.storage_uri
            and not await asyncio.to_thread(os.path.lexists, old_path)
        )
        ready = version.status in (VersionStatus.MODIFIED, VersionStatus.MISSING)
        if ready or moved:
            await self.drops.set_version_status(holder.model, holder.number,
                                                VersionStatus.READY if ready else version.status, "",
                                                storage_uri=uri if moved else "")  # fmt: skip

    async def _release(self, record: DropRecord, why: str) -> None:
        """`record` no longer stands for its version; with no other holder the version is missing."""
        assert record.number is not None
        if self.drops.holders(record.model, record.number):
            return
        await self.drops.set_version_status(
            record.model, record.number, VersionStatus.MISSING,
            f"{why}; put the files back to make it ready again, or archive the version",
        )  # fmt: skip

    async def _quarantine(self, key: UnitKey, snap: Snapshot, record: DropRecord | None, error: RegistryError,
                          number: int | None = None) -> float | None:  # fmt: skip
        """Records why `key` cannot be registered; it is looked at again once it changes."""
        collided = error.metadata.get("version", "")
        verdict = DropRecord(
            key.root, key.rel, key.model, DropState.QUARANTINED,
            int(collided) if collided.isdigit() else number,
            reason=error.reason, message=error.message, details=dict(error.metadata),
            fingerprint=snap.fingerprint, identity=snap.identity,
        )  # fmt: skip
        if record is None or record.state != DropState.QUARANTINED or record.reason != error.reason:
            log.warning("quarantined %s: %s", key.path, error.message)
        await self.drops.save(verdict, files_changed=True)
        if record is not None and record.state in HOLDING and record.number is not None:
            await self._release(record, f"its folder {record.full_path} was replaced by content that was quarantined")
        progress = self._progress.get(key)
        self._progress[key] = _Progress(known=progress.known if progress else {})
        self._unsafe_allowed_by.pop(key, None)
        self.drops.clear_pending(key.root, key.rel)
        return None

    async def _linked_unit(self, key: UnitKey, snap: Snapshot, record: DropRecord | None) -> float | None:
        """A unit that is itself a symlink: inside the root it is an alias of what is already
        watched; leading out it is refused, without saying whether its target exists."""
        target = await asyncio.to_thread(os.path.realpath, key.path)
        root = await asyncio.to_thread(os.path.realpath, key.root)
        if target == root or target.startswith(root.rstrip("/") + "/"):
            self.forget(key)
            return None
        return await self._quarantine(key, snap, record, InvalidArgument(
            f"{key.path!r} is a symlink leading outside the watched root; move the files in instead",
            reason="SYMLINK_ESCAPE", path=key.path))  # fmt: skip

    # -- a registered unit: its files must stay what was registered -----------------------

    async def _follow(self, key: UnitKey, snap: Snapshot, record: DropRecord, progress: _Progress) -> float | None:
        assert record.number is not None
        if record.state != DropState.MISSING and record.fingerprint == snap.fingerprint:
            self.forget(key)
            return None  # exactly as at the last verdict
        if not snap.artifact():
            return await self._vanished(key, record)  # every file is gone, only the folder is left
        if _same_stats(snap.artifact(), record.files):
            self.forget(key)
            if record.state == DropState.MISSING:
                await self._settle_content(record, record.content_digest, record.files, snap)
            return None
        if not self._observe(progress, snap):
            return max(MIN_RECHECK_SECONDS, self._until_stable(progress))
        try:
            hashed = await self._hash(key, progress, record.files)
        except RegistryError as exc:
            if exc.reason in RETRYABLE:
                return self.quiet
            await self._unreadable_now(record, snap, exc)
            self.forget(key)
            return None
        if not _hashed_as_seen(hashed, snap):
            progress.snapshot = None
            return self.quiet
        await self._settle_content(record, hashed.digest, {f.path: f for f in hashed.files}, snap)
        self.forget(key)
        return None

    async def _settle_content(self, record: DropRecord, digest: str, files: dict[str, ScannedFile],
                              snap: Snapshot) -> None:  # fmt: skip
        """Records what the unit holds now and moves its version to ready or modified."""
        assert record.number is not None
        try:
            version = await self.registry.core.read_version(record.model, record.number)
        except NotFound:
            await self.drops.delete(record)  # the version was deleted through the API
            return
        same = digest == version.content_digest
        state = DropState.REGISTERED if same else DropState.MODIFIED
        note = "" if same else await self._kept_note(record.model, record.number, "its files changed")
        updated = DropRecord(record.root, record.path, record.model, state, record.number, digest, message=note,
                             fingerprint=snap.fingerprint, identity=snap.identity, files=files)  # fmt: skip
        await self.drops.save(updated, files_changed=True)
        if same:
            await self.drops.set_version_status(record.model, record.number, VersionStatus.READY, "")
        else:
            await self.drops.set_version_status(
                record.model, record.number, VersionStatus.MODIFIED,
                f"files changed on disk after registration ({_changes(version.files, files)}); "
                "the registry keeps the registered content - register the new files as a new version",
            )  # fmt: skip

    async def _unreadable_now(self, record: DropRecord, snap: Snapshot, error: RegistryError) -> None:
        """A registered folder that now holds something the scanner refuses (a symlink out,
        a hardlink ...): its content is no longer what was registered."""
        assert record.number is not None
        await self.drops.save(replace(record, state=DropState.MODIFIED, fingerprint=snap.fingerprint),
                              files_changed=False)  # fmt: skip
        await self.drops.set_version_status(
            record.model, record.number, VersionStatus.MODIFIED,
            f"its folder can no longer be read as registered: {error.message}",
        )  # fmt: skip

    # -- a unit that is gone ---------------------------------------------------------------

    async def _vanished(self, key: UnitKey, record: DropRecord | None) -> float | None:
        self._progress.pop(key, None)
        self.drops.clear_pending(key.root, key.rel)
        if record is None or record.state == DropState.MISSING:
            self._gone_since.pop(key, None)
            return None
        if record.state == DropState.QUARANTINED:
            await self.drops.delete(record)
            return None
        # A rename inside the root shows up as "gone here" and "new there"; wait a moment so
        # the new place can claim the version by its content before anything is called missing.
        since = self._gone_since.setdefault(key, self.clock())
        if self.clock() - since < self.quiet:
            return since + self.quiet - self.clock()
        self._gone_since.pop(key, None)
        assert record.number is not None
        if await self._held_elsewhere(record):
            await self.drops.delete(record)
            return None
        note = await self._kept_note(record.model, record.number, "its folder is gone")
        await self.drops.save(DropRecord(record.root, record.path, record.model, DropState.MISSING, record.number,
                                         record.content_digest, message=note, fingerprint=record.fingerprint,
                                         identity=record.identity, files=record.files), files_changed=False)  # fmt: skip
        await self.drops.set_version_status(
            record.model, record.number, VersionStatus.MISSING,
            f"its files at {record.full_path} are gone; put them back to make it ready again, or archive it",
        )  # fmt: skip
        if await self._held_elsewhere(record):
            # Claimed elsewhere while this was being written: a move after all.
            await self.drops.set_version_status(record.model, record.number, VersionStatus.READY, "")
        return None

    async def _kept_note(self, model: str, number: int, what: str) -> str:
        """What a drop's change means for a kept version: nothing, and the drop says so."""
        try:
            version = await self.registry.core.read_version(model, number)
        except NotFound:
            return ""
        if not version.kept:
            return ""
        return f"{what} since it registered version {number}; the registry keeps that version's files, unharmed"

    async def _held_elsewhere(self, record: DropRecord) -> bool:
        """Another registered drop of the same version still lies on disk."""
        assert record.number is not None
        for other in self.drops.holders(record.model, record.number):
            if other.key != record.key and other.state == DropState.REGISTERED:
                if await asyncio.to_thread(os.path.lexists, other.full_path):
                    return True
        return False

    async def _unreadable(self, key: UnitKey, exc: OSError) -> float | None:
        if exc.errno not in (errno.EACCES, errno.EPERM):
            return self.quiet
        record = self.drops.get(key.root, key.rel)
        if record is not None and record.state != DropState.QUARANTINED:
            # Registered files that cannot be read for now are not a new drop to refuse.
            log.warning("cannot read %s: %s", key.path, exc.strerror)
            return None
        error = FailedPrecondition(f"the registry may not read {key.path!r}", reason="PERMISSION_DENIED",
                                   path=key.path)  # fmt: skip
        snap = Snapshot(True, (0, 0), {})
        return await self._quarantine(key, snap, record, error)


# -- helpers ----------------------------------------------------------------------------


def _request_id(key: UnitKey, digest: str) -> str:
    """Same root, unit and content: the same registration, however often it is retried."""
    return "drop:" + hashlib.sha256(f"{key.root}\0{key.rel}\0{digest}".encode()).hexdigest()[:32]


def _listing_problem(manifest: Manifest, entries: Mapping[str, EntryStat]) -> ManifestError | None:
    """The first listed file that is absent or of another size, judged by stat alone."""
    for listed in manifest.files:
        found = entries.get(listed.path)
        if found is None or found.kind != "file":
            return ManifestError(f"{MANIFEST} lists {listed.path!r}, which is not in the folder",
                                 reason="MANIFEST_FILE_MISSING", file=listed.path)  # fmt: skip
        if found.size != listed.size:
            return ManifestError(
                f"{MANIFEST} lists {listed.path!r} with {listed.size} bytes, but it has {found.size}",
                reason="MANIFEST_SIZE_MISMATCH", file=listed.path, listed_size=listed.size, size=found.size,
            )  # fmt: skip
    return None


def _hashed_as_seen(hashed: Hashed, snap: Snapshot) -> bool:
    """The hashed files are exactly the ones the completeness check looked at."""
    seen = snap.artifact()
    if set(seen) != {f.path for f in hashed.files}:
        return False
    return all((seen[f.path].size, seen[f.path].mtime_ns, seen[f.path].inode) == (f.size, f.mtime_ns, f.inode)
               for f in hashed.files)  # fmt: skip


def _same_stats(seen: Mapping[str, EntryStat], files: Mapping[str, ScannedFile]) -> bool:
    if set(seen) != set(files):
        return False
    return all((seen[p].size, seen[p].mtime_ns, seen[p].inode, seen[p].device)
               == (f.size, f.mtime_ns, f.inode, f.device) for p, f in files.items())  # fmt: skip


def _changes(registered: list[ArtifactFile], now: Mapping[str, ScannedFile]) -> str:
    before = {f.path: f.sha256 for f in registered}
    changed = [p for p in before if p in now and now[p].sha256 != before[p]]
    added = [p for p in now if p not in before]
    removed = [p for p in before if p not in now]
    parts = [f"{_names(names)} {what}" for names, what in ((changed, "changed"), (added, "added"),
                                                            (removed, "removed")) if names]  # fmt: skip
    return "; ".join(parts) or "file metadata changed"


def _names(paths: list[str]) -> str:
    shown = ", ".join(repr(p) for p in paths[:3])
    return shown + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")


def _local_path(uri: str) -> str | None:
    if not uri.startswith("file:"):
        return None
    return unquote(urlparse(uri).path)
