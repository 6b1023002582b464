"""Blobs in a local folder: `<root>/sha256/ab/cd/<sha256>`, files being written in `<root>/tmp`."""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

from studbook.daemon.blobs.store import (
    CATALOG_ID,
    READ_CHUNK,
    SHA256_HEX,
    ArtifactStoreUnavailable,
    BlobMissing,
    StoredBlob,
    blob_key,
    catalog_key,
)


class LocalBlobStore:
    """A folder of blobs. The staging folder lies inside it, so storing a blob is a link, not a copy."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.staging = root / "tmp"
        self.url = root.resolve().as_uri() if root.exists() else root.absolute().as_uri()
        for folder in (root, root / "sha256", self.staging):
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(folder, 0o700)  # also when an older studbook or a copy left it open to others

    def check(self) -> None:
        probe = self.staging / f".check-{os.getpid()}-{uuid.uuid4().hex}"
        try:
            os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600))
            probe.unlink()
            if not os.access(self.root / "sha256", os.W_OK | os.X_OK):
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))
        except OSError as exc:
            raise ArtifactStoreUnavailable(
                f"cannot write to the artifact store {self.url} ({exc.strerror}): check the folder's owner and mode",
                reason="ARTIFACT_STORE_DENIED", store=self.url) from None  # fmt: skip

    def path_of(self, sha256: str) -> Path:
        """Where blob `sha256` lies, stored or not."""
        return self.root / blob_key(sha256)

    def has(self, sha256: str) -> bool:
        return self.path_of(sha256).is_file()

    def size(self, sha256: str) -> int | None:
        try:
            return self.path_of(sha256).stat().st_size
        except FileNotFoundError:
            return None

    def put(self, sha256: str, staged: Path, *, durable: bool = True) -> bool:
        final = self.path_of(sha256)
        created = _make_dirs(final.parent, self.root)
        os.chmod(staged, 0o400)  # a blob is never written again
        if durable:
            _fsync_file(staged)
        try:
            # link(2) never replaces an existing name: the first copy of these bytes stays.
            os.link(staged, final)
            new = True
        except FileExistsError:
            new = False
        finally:
            staged.unlink(missing_ok=True)
        if new and durable:
            for folder in [final.parent, *created]:
                _fsync_dir(folder)
        return new

    def sync(self) -> None:
        # One flush of the whole file system: the journal commits every pending blob, its
        # folder entries included, together (thousands of small files in one go).
        fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY)
        try:
            if _syncfs is None or _syncfs(fd) != 0:
                os.sync()
        finally:
            os.close(fd)

    def read(self, sha256: str, offset: int = 0, length: int | None = None) -> Iterator[bytes]:
        try:
            handle = open(self.path_of(sha256), "rb")  # noqa: SIM115 - closed by the generator
        except FileNotFoundError:
            raise BlobMissing(f"blob {sha256} is not in the artifact store {self.url}", sha256=sha256) from None
        return _chunks(handle, offset, length)

    def delete(self, sha256: str) -> None:
        self.path_of(sha256).unlink(missing_ok=True)

    def list(self) -> Iterator[tuple[str, int]]:
        for blob in self.list_entries():
            yield blob.sha256, blob.size

    def add_catalog(self, catalog_id: str) -> None:
        marker = self.root / catalog_key(catalog_id)
        marker.parent.mkdir(mode=0o700, exist_ok=True)
        try:
            os.close(os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o400))
        except FileExistsError:
            return
        _fsync_dir(marker.parent)

    def catalogs(self) -> set[str]:
        try:
            return {name for name in os.listdir(self.root / "catalogs") if CATALOG_ID.fullmatch(name)}
        except FileNotFoundError:
            return set()

    def list_entries(self) -> Iterator[StoredBlob]:
        top = self.root / "sha256"
        for first in sorted(os.listdir(top)):
            for second in sorted(os.listdir(top / first)):
                with os.scandir(top / first / second) as entries:
                    for entry in entries:
                        if SHA256_HEX.fullmatch(entry.name) and entry.is_file(follow_symlinks=False):
                            info = entry.stat(follow_symlinks=False)
                            yield StoredBlob(entry.name, info.st_size, info.st_mtime)


def _chunks(handle: object, offset: int, length: int | None) -> Iterator[bytes]:
    import io

    assert isinstance(handle, io.BufferedReader)
    with handle:
        handle.seek(offset)
        left = length
        while left is None or left > 0:
            chunk = handle.read(READ_CHUNK if left is None else min(READ_CHUNK, left))
            if not chunk:
                return
            if left is not None:
                left -= len(chunk)
            yield chunk


def _make_dirs(folder: Path, root: Path) -> list[Path]:
    """Creates `folder` and its missing parents below `root`; returns the parents of what it created."""
    missing = []
    current = folder
    while current != root and not current.exists():
        missing.append(current)
        current = current.parent
    created_in = []
    for path in reversed(missing):
        try:
            path.mkdir(mode=0o700)
            created_in.append(path.parent)
        except FileExistsError:
            pass
    return created_in


def _load_syncfs() -> Callable[[int], int] | None:
    """Linux's syncfs(2), which flushes one file system; None where libc lacks it."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        function: Callable[[int], int] = libc.syncfs
        return function
    except (OSError, AttributeError):
        return None


_syncfs = _load_syncfs()


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno != errno.EINVAL:  # some file systems cannot sync a folder; nothing to do there
            raise
    finally:
        os.close(fd)
