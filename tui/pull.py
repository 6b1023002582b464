"""Writing a kept version's files into a folder: resumable, verified, never half-written under a final name."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from studbook.tui.errors import StudbookError
from studbook.v1 import artifacts_pb2, resources_pb2

# Reads `path` of the version from `offset`: the ReadArtifactFile stream.
Reader = Callable[[str, int], Iterable[artifacts_pb2.ReadArtifactFileResponse]]
# Told how many bytes more have been written.
Progress = Callable[[int], None]
PART_SUFFIX = ".studbook-part"


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


def target_of(dest: Path, file: resources_pb2.ArtifactFile) -> Path:
    """Where a file lands: below `dest`, whatever path the daemon names."""
    parts = PurePosixPath(file.path).parts
    if not parts or file.path.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise StudbookError("INVALID_ARGUMENT", "INVALID_FILE_PATH", f"refusing to write outside {dest}: {file.path!r}")
    return dest.joinpath(*parts)


def pull_file(read: Reader, file: resources_pb2.ArtifactFile, dest: Path, progress: Progress | None = None) -> Pulled:
    """Writes `file` below `dest`: into a `.studbook-part` file first, resumed from its size if
    one is left from an interrupted pull, checked against the sha256, then renamed into place."""
    target = target_of(dest, file)
    if target.is_file() and target.stat().st_size == file.size and _sha256(target) == file.sha256:
        return Pulled(target, file.size, file.sha256, skipped=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + PART_SUFFIX)
    hasher = hashlib.sha256()
    offset = part.stat().st_size if part.is_file() else 0
    if offset > file.size:
        part.unlink()
        offset = 0
    if offset:
        _hash_into(hasher, part)
    with open(part, "ab") as out:
        for message in read(file.path, offset):
            out.write(message.data)
            hasher.update(message.data)
            if progress is not None:
                progress(len(message.data))
        out.flush()
        os.fsync(out.fileno())
    if part.stat().st_size != file.size or hasher.hexdigest() != file.sha256:
        part.unlink()
        raise StudbookError("DATA_LOSS", "DOWNLOAD_CORRUPT",
                            f"{file.path} did not arrive intact (sha256 differs from {file.sha256[:12]}...); "
                            "pull again")  # fmt: skip
    os.replace(part, target)
    return Pulled(target, file.size, file.sha256, skipped=False)


def _sha256(path: Path) -> str:
    hasher = hashlib.sha256()
    _hash_into(hasher, path)
    return hasher.hexdigest()


def _hash_into(hasher: hashlib._Hash, path: Path) -> None:
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            hasher.update(chunk)
