"""Writing a kept version's files into a folder: resumable, verified, never half-written under a final name."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from studbook.tui.errors import StudbookError
from studbook.v1 import artifacts_pb2, resources_pb2

# Reads `path` of the version from `offset`: the ReadArtifactFile stream.
Reader = Callable[[str, int], Iterable[artifacts_pb2.ReadArtifactFileResponse]]
# Told how many bytes more have been written.
Progress = Callable[[int], None]
PART_SUFFIX = ".studbook-part"
# One thread: chunks of a file must be hashed in order, and one core is what hashing needs.
_HASHER = ThreadPoolExecutor(1, thread_name_prefix="studbook-pull-hash")


@dataclass
class Pulled:
    path: Path
    size: int
    sha256: str
    skipped: bool
    """Already there with the right content: not read again."""


def chosen_files(version: resources_pb2.ModelVersion, only: str | None) -> list[resources_pb2.ArtifactFile]:
    if only is None:
        return list(version.files)
    found = [f for f in version.files if f.path == only]
    if not found:
        listed = ", ".join(f.path for f in version.files[:10])
        raise StudbookError("NOT_FOUND", "FILE_NOT_FOUND", f"{version.name} has no file {only!r}; its files: {listed}")
    return found


class Landing:
    """One file arriving below `dest`: written to `<name>.studbook-part` (resumed from its size
    when an interrupted pull left one), checked against the sha256, then renamed into place.

    Blocking file work; the async client runs `start` and `finish` in a thread.
    """

    def __init__(self, dest: Path, file: resources_pb2.ArtifactFile) -> None:
        parts = PurePosixPath(file.path).parts
        if not parts or file.path.startswith("/") or any(p in ("", ".", "..") for p in parts):
            raise StudbookError("INVALID_ARGUMENT", "INVALID_FILE_PATH", f"refusing to write outside {dest}: {file.path!r}")
        self.file = file
        self.target = dest.joinpath(*parts)
        self.part = self.target.with_name(self.target.name + PART_SUFFIX)
        self.hasher = hashlib.sha256()
        self._out: BinaryIO | None = None
        # Each chunk is hashed while the next one arrives (hashlib releases the GIL).
        self._hashing: Future[None] | None = None

    def start(self) -> int | None:
        """The offset to read from; None when the file is already there, intact."""
        if self.target.is_file() and self.target.stat().st_size == self.file.size and _sha256(self.target) == self.file.sha256:
            return None
        self.target.parent.mkdir(parents=True, exist_ok=True)
        offset = self.part.stat().st_size if self.part.is_file() else 0
        if offset > self.file.size:
            self.part.unlink()
            offset = 0
        if offset:
            _hash_into(self.hasher, self.part)
        self._out = open(self.part, "ab")  # noqa: SIM115 - closed by finish
        return offset

    def write(self, data: bytes) -> None:
        assert self._out is not None, "start() first"
        self._out.write(data)
        self._hashed()  # the chunk before: in order, and never more than one chunk held
        self._hashing = _HASHER.submit(self.hasher.update, data)

    def _hashed(self) -> None:
        if self._hashing is not None:
            self._hashing.result()

    def finish(self) -> Pulled:
        assert self._out is not None, "start() first"
        self._hashed()
        with self._out as out:
            out.flush()
            os.fsync(out.fileno())
        if self.part.stat().st_size != self.file.size or self.hasher.hexdigest() != self.file.sha256:
            self.part.unlink()
            raise StudbookError("DATA_LOSS", "DOWNLOAD_CORRUPT",
                                f"{self.file.path} did not arrive intact (sha256 differs from "
                                f"{self.file.sha256[:12]}...); pull again")  # fmt: skip
        os.replace(self.part, self.target)
        return self.pulled(skipped=False)

    def abandon(self) -> None:
        """Closes the partial file and leaves it for the next pull to resume."""
        self._hashed()
        if self._out is not None:
            self._out.close()

    def pulled(self, *, skipped: bool) -> Pulled:
        return Pulled(self.target, self.file.size, self.file.sha256, skipped)


def pull_file(read: Reader, file: resources_pb2.ArtifactFile, dest: Path, progress: Progress | None = None) -> Pulled:
    """Writes `file` below `dest` (see Landing)."""
    landing = Landing(dest, file)
    offset = landing.start()
    if offset is None:
        return landing.pulled(skipped=True)
    try:
        for message in read(file.path, offset):
            landing.write(message.data)
            if progress is not None:
                progress(len(message.data))
    except BaseException:
        landing.abandon()
        raise
    return landing.finish()


def _sha256(path: Path) -> str:
    hasher = hashlib.sha256()
    _hash_into(hasher, path)
    return hasher.hexdigest()


def _hash_into(hasher: hashlib._Hash, path: Path) -> None:
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            hasher.update(chunk)
