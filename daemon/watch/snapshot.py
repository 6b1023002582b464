"""Stat-only pictures of a drop unit: what completeness and change detection compare."""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass

from studbook.daemon.watch.layout import is_artifact_path


@dataclass(frozen=True)
class EntryStat:
    """What a writer changes when it writes: size, mtime and the inode behind the name."""

    size: int
    mtime_ns: int
    inode: int
    device: int
    kind: str
    """file, link or other (FIFOs, sockets, devices: the scan refuses those)."""


@dataclass(frozen=True)
class Snapshot:
    """Every entry below a unit (ignored names included: a writer's temporary files are
    activity too), keyed by '/'-separated relative path; a single-file unit has one entry
    under its own name."""

    is_folder: bool
    identity: tuple[int, int]
    """Device and inode of the unit itself: a replaced folder is a new drop."""
    entries: Mapping[str, EntryStat]
    too_many: bool = False

    def artifact(self) -> dict[str, EntryStat]:
        """The entries that become the registered artifact (no manifest, nothing ignored)."""
        return {rel: st for rel, st in self.entries.items() if is_artifact_path(rel)}

    @property
    def fingerprint(self) -> str:
        """Names an exact state of the unit, to tell whether anything changed since a verdict."""
        digest = hashlib.sha256(f"{self.identity}".encode())
        for rel in sorted(self.entries):
            st = self.entries[rel]
            digest.update(f"{rel}\0{st.size}\0{st.mtime_ns}\0{st.inode}\0{st.kind}\n".encode())
        return digest.hexdigest()


def is_symlink_loop(path: str) -> bool:
    """True when `path` is a symlink that never reaches a file: it leads back to itself,
    directly or through other links. Blocking: run it in a worker thread."""
    try:
        os.stat(path)
    except OSError as exc:
        return exc.errno == errno.ELOOP
    return False


def _entry(st: os.stat_result) -> EntryStat:
    mode = st.st_mode
    kind = "file" if stat.S_ISREG(mode) else "link" if stat.S_ISLNK(mode) else "other"
    return EntryStat(st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev, kind)


def take_snapshot(path: str, max_entries: int) -> Snapshot | None:
    """Stat everything below `path` without following symlinks; None when `path` is gone.

    Blocking: run it in a worker thread. A folder that changes while it is walked gives a
    snapshot that differs from the next one, which is all the caller needs to know.
    """
    try:
        top = os.lstat(path)
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        return None
    identity = (top.st_dev, top.st_ino)
    if not stat.S_ISDIR(top.st_mode):
        return Snapshot(False, identity, {os.path.basename(path): _entry(top)})
    entries: dict[str, EntryStat] = {}
    pending = [("", path)]
    while pending:
        prefix, folder = pending.pop()
        try:
            with os.scandir(folder) as listing:
                found = list(listing)
        except OSError as exc:
            if exc.errno in (errno.ENOENT, errno.ENOTDIR) and prefix:
                continue  # a subfolder vanished mid-walk; the next snapshot will differ
            if not prefix and exc.errno in (errno.ENOENT, errno.ENOTDIR):
                return None
            raise
        for entry in found:
            rel = f"{prefix}/{entry.name}" if prefix else entry.name
            try:
                st = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            if stat.S_ISDIR(st.st_mode):
                pending.append((rel, entry.path))
                continue
            entries[rel] = _entry(st)
            if len(entries) > max_entries:
                return Snapshot(True, identity, entries, too_many=True)
    return Snapshot(True, identity, entries)
