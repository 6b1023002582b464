"""Where a backup lives: a local folder or an S3 prefix holding a few named files and a blob store.

Named files are written whole or not at all (a temporary name, then a rename; one PUT on
S3), so a reader finds either the old file or the new one, never a part.
Methods are blocking: call them from worker threads.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, Protocol

from studbook.daemon.blobs.local import LocalBlobStore, _fsync_dir
from studbook.daemon.blobs.store import BlobStore

BLOBS = "blobs"


class BackupFolder(Protocol):
    url: str
    """Where it is, for people: file:///... or s3://bucket/prefix."""

    @property
    def blobs(self) -> BlobStore:
        """The blob store under `blobs/`, laid out like an artifact store."""
        ...

    def check(self) -> None:
        """Proves the folder writable now; ArtifactStoreUnavailable says why not."""
        ...

    def entries(self) -> list[str] | None:
        """The names at the top of the folder, or None where listing them is not done (S3)."""
        ...

    def read_bytes(self, name: str) -> bytes | None:
        """A named file's content, None when there is none."""
        ...

    def fetch_file(self, name: str, dest: Path) -> bool:
        """Copies a named file to the local `dest`; False when there is none."""
        ...

    def put_file(self, name: str, path: Path) -> None:
        """Stores the local file `path` under `name`, replacing any file of that name; durable on return."""
        ...

    def put_bytes(self, name: str, data: bytes) -> None:
        """Like `put_file`, from memory."""
        ...

    def delete_file(self, name: str) -> None:
        """Removes a named file; one that is not there is no error."""
        ...


def open_folder(location: str, staging: Path) -> BackupFolder:
    """The folder at `location`: an absolute local path or s3://bucket/prefix. `staging` is a local
    folder for blobs on their way to S3."""
    if location.startswith("s3://"):
        # Imported here: obstore loads only when an s3:// location is used.
        from studbook.daemon.blobs.s3 import S3Folder

        return S3Folder(location, staging=staging)
    return LocalFolder(Path(location))


class LocalFolder:
    """A folder on a local (or mounted) file system; created, mode 0700, when first written."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.url = root.absolute().as_uri()
        self._blobs: LocalBlobStore | None = None

    @property
    def blobs(self) -> BlobStore:
        if self._blobs is None:
            self._create()
            self._blobs = LocalBlobStore(self.root / BLOBS)
        return self._blobs

    def check(self) -> None:
        self.blobs.check()

    def entries(self) -> list[str] | None:
        try:
            return sorted(os.listdir(self.root))
        except FileNotFoundError:
            return []

    def read_bytes(self, name: str) -> bytes | None:
        try:
            return (self.root / name).read_bytes()
        except FileNotFoundError:
            return None

    def fetch_file(self, name: str, dest: Path) -> bool:
        try:
            shutil.copyfile(self.root / name, dest)
        except FileNotFoundError:
            return False
        return True

    def put_file(self, name: str, path: Path) -> None:
        with open(path, "rb") as source:
            self._write(name, lambda out: shutil.copyfileobj(source, out, 1 << 20))

    def put_bytes(self, name: str, data: bytes) -> None:
        self._write(name, lambda out: out.write(data))

    def delete_file(self, name: str) -> None:
        (self.root / name).unlink(missing_ok=True)

    def _write(self, name: str, fill: Callable[[BinaryIO], object]) -> None:
        self._create()
        part = self.root / f".{name}.{uuid.uuid4().hex[:8]}.part"
        try:
            with open(part, "xb") as out:
                os.chmod(part, 0o600)
                fill(out)
                out.flush()
                os.fsync(out.fileno())
            os.replace(part, self.root / name)
        finally:
            part.unlink(missing_ok=True)
        _fsync_dir(self.root)

    def _create(self) -> None:
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
