"""Hash a complete drop unit and read its manifest: the blocking part of a drop, run in a thread."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from studbook.daemon.artifacts import FileSink, ScanLimits, ScannedFile, content_digest, scan_artifact
from studbook.daemon.watch.layout import MANIFEST, is_artifact_path
from studbook.daemon.watch.manifest import ManifestError


@dataclass
class Hashed:
    """A unit's files as hashed now: the artifact, the manifest's own entry, and counters."""

    files: list[ScannedFile]
    """Artifact files only, sorted by path."""
    all_files: dict[str, ScannedFile]
    """Everything scanned, by path: `known` for the next scan."""
    hashed_files: int = 0
    hashed_bytes: int = 0

    @property
    def digest(self) -> str:
        return content_digest(self.files)


def hash_unit(path: str, root: str, limits: ScanLimits, known: Mapping[str, ScannedFile],
              sink: FileSink | None = None) -> Hashed:  # fmt: skip
    """Scan and hash `path`; files whose size, mtime and inode match `known` are not re-read.
    With a `sink`, the files read are kept in the artifact store in the same pass.

    Raises the scanner's RegistryErrors (symlinks escaping, hardlinks, files changed while
    read, ...). Blocking.
    """
    scanned = scan_artifact(Path(path), limits=limits, allowed_roots=[Path(root)], known=known, sink=sink)
    hashed = Hashed([f for f in scanned if is_artifact_path(f.path)], {f.path: f for f in scanned})
    for item in scanned:
        before = known.get(item.path)
        if before is None or (before.size, before.mtime_ns, before.inode, before.device) != (
            item.size, item.mtime_ns, item.inode, item.device,
        ):  # fmt: skip
            hashed.hashed_files += 1
            hashed.hashed_bytes += item.size
    return hashed


def read_manifest_bytes(path: str, max_bytes: int) -> bytes | None:
    """The manifest's bytes (one more than `max_bytes` at most), or None when absent.

    Opened without following a symlink and without blocking on a FIFO: the manifest is
    read before anything else is checked, so it gets the scanner's caution.
    """
    try:
        fd = os.open(Path(path) / MANIFEST, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ManifestError(f"{MANIFEST} is a symlink; write it as a regular file", file=MANIFEST,
                                field="") from None  # fmt: skip
        raise
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ManifestError(f"{MANIFEST} is not a regular file", file=MANIFEST, field="")
        os.set_blocking(fd, True)
        with os.fdopen(fd, "rb", closefd=False) as handle:
            return handle.read(max_bytes + 1)
    finally:
        os.close(fd)
