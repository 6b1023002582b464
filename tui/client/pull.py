"""Writing a kept version's files into a folder: resumable, verified, never half-written under a final name."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from studbook.client.errors import StudbookError
from studbook.v1 import artifacts_pb2, resources_pb2

# Reads `path` of the version from `offset`: the ReadArtifactFile stream; asking (third
# argument) for the stored file's place when the daemon shares this machine.
Reader = Callable[[str, int, bool], Iterable[artifacts_pb2.ReadArtifactFileResponse]]
COPY_CHUNK = 4 << 20
# Told how many bytes more have been written.
Progress = Callable[[int], None]
PART_SUFFIX = ".studbook-part"
# Files pulled at once, and threads hashing them: each file has one chunk in the hasher at a
# time (so its chunks are hashed in order), and files in parallel use every core.
PARALLEL_FILES = 4
_HASHER = ThreadPoolExecutor(PARALLEL_FILES, thread_name_prefix="studbook-pull-hash")


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
            raise StudbookError(
                "INVALID_ARGUMENT", "INVALID_FILE_PATH", f"refusing to write outside {dest}: {file.path!r}"
            )
        self.file = file
        self.target = dest.joinpath(*parts)
        self.part = self.target.with_name(self.target.name + PART_SUFFIX)
        self.hasher = hashlib.sha256()
        self._out: BinaryIO | None = None
        # Each chunk is hashed while the next one arrives (hashlib releases the GIL).
        self._hashing: Future[None] | None = None

    def start(self) -> int | None:
        """The offset to read from; None when the file is already there, intact."""
        if (
            self.target.is_file()
            and self.target.stat().st_size == self.file.size
            and _sha256(self.target) == self.file.sha256
        ):
            return None
        self.target.parent.mkdir(parents=True, exist_ok=True)
        offset = self.part.stat().st_size if self.part.is_file() else 0
        if offset > self.file.size:
            self.part.unlink()
            offset = 0
        if offset:
            _hash_into(self.hasher, self.part)
        self._out = open(self.part, "r+b" if offset else "wb")  # noqa: SIM115 - closed by finish
        self._out.seek(offset)
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

    def copy_local(self, source: Path, offset: int, progress: Progress | None) -> None:
        """Copies the stored file the daemon named from `offset`, without streaming it through
        the daemon: the kernel copies (copy_file_range) while a thread hashes the same range."""
        assert self._out is not None, "start() first"
        self._out.flush()
        out = self._out.fileno()
        with open(source, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            position = offset
            while position < size:
                count = min(COPY_CHUNK, size - position)
                self._hashed()
                self._hashing = _HASHER.submit(_hash_range, self.hasher, handle.fileno(), position, count)
                try:
                    copied = os.copy_file_range(handle.fileno(), out, count, position, position)
                except OSError:  # no in-kernel copy between these two files: through this process
                    copied = os.pwrite(out, os.pread(handle.fileno(), count, position), position)
                if copied != count:
                    raise StudbookError("DATA_LOSS", "DOWNLOAD_CORRUPT", f"{self.file.path} ended early; pull again")
                position += count
                if progress is not None:
                    progress(count)
            self._hashed()
        self._out.seek(position)

    def abandon(self) -> None:
        """Closes the partial file and leaves it for the next pull to resume."""
        self._hashed()
        if self._out is not None:
            self._out.close()

    def pulled(self, *, skipped: bool) -> Pulled:
        return Pulled(self.target, self.file.size, self.file.sha256, skipped)


def pull_file(read: Reader, file: resources_pb2.ArtifactFile, dest: Path, progress: Progress | None = None,
              *, local: bool = False) -> Pulled:  # fmt: skip
    """Writes `file` below `dest` (see Landing). With `local` (the daemon is on this machine)
    the stored file is copied directly when the daemon names it and it can be read."""
    landing = Landing(dest, file)
    offset = landing.start()
    if offset is None:
        return landing.pulled(skipped=True)
    try:
        for message in read(file.path, offset, local):
            if message.local_path:
                try:
                    landing.copy_local(Path(message.local_path), offset, progress)
                    break
                except PermissionError:  # another user's daemon: its files are not ours to open
                    return _streamed(read, file, dest, progress, landing)
            landing.write(message.data)
            if progress is not None:
                progress(len(message.data))
    except BaseException:
        landing.abandon()
        raise
    return landing.finish()


def _streamed(read: Reader, file: resources_pb2.ArtifactFile, dest: Path, progress: Progress | None,
              landing: Landing) -> Pulled:  # fmt: skip
    landing.abandon()
    return pull_file(read, file, dest, progress, local=False)


def _hash_range(hasher: hashlib._Hash, fd: int, position: int, count: int) -> None:
    hasher.update(os.pread(fd, count, position))


def _sha256(path: Path) -> str:
    hasher = hashlib.sha256()
    _hash_into(hasher, path)
    return hasher.hexdigest()


def _hash_into(hasher: hashlib._Hash, path: Path) -> None:
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            hasher.update(chunk)
