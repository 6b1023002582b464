"""Sending a local file or folder to a remote daemon: listed, hashed, then uploaded file by file,
each resumable from where the daemon's copy ends."""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from studbook.client.errors import StudbookError
from studbook.v1 import artifacts_pb2, resources_pb2

CHUNK = 1 << 20
Progress = Callable[[int], None]


@dataclass(frozen=True)
class LocalFile:
    rel: str
    """Relative to the uploaded folder, '/'-separated; a single file's own name."""
    path: Path
    size: int
    sha256: str

    def declared(self) -> resources_pb2.ArtifactFile:
        return resources_pb2.ArtifactFile(path=self.rel, size=self.size, sha256=self.sha256)


def local_files(source: Path) -> list[LocalFile]:
    """The regular files of `source` (a file, or a folder walked without following links), hashed."""
    if source.is_file() and not source.is_symlink():
        return [hashed(source.name, source)]
    if not source.is_dir():
        raise StudbookError("INVALID_ARGUMENT", "PATH_NOT_FOUND", f"{source} is neither a file nor a folder")
    found = []
    for folder, dirs, names in os.walk(source):
        dirs.sort()
        for name in sorted(names):
            path = Path(folder) / name
            mode = path.lstat().st_mode
            if not stat.S_ISREG(mode):
                kind = "a symlink" if stat.S_ISLNK(mode) else "not a regular file"
                raise StudbookError("INVALID_ARGUMENT", "SPECIAL_FILE",
                                    f"{path} is {kind}; only regular files can be uploaded")  # fmt: skip
            found.append(hashed(path.relative_to(source).as_posix(), path))
    if not found:
        raise StudbookError("INVALID_ARGUMENT", "EMPTY_ARTIFACT", f"{source} contains no files")
    return found


def hashed(rel: str, path: Path) -> LocalFile:
    hasher = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            hasher.update(chunk)
            size += len(chunk)
    return LocalFile(rel, path, size, hasher.hexdigest())


def upload_messages(
    file: LocalFile, offset: int, progress: Progress | None
) -> Iterator[artifacts_pb2.UploadArtifactFileRequest]:
    """The header, then the file's bytes from `offset` in chunks."""
    yield artifacts_pb2.UploadArtifactFileRequest(
        header=artifacts_pb2.UploadHeader(sha256=file.sha256, size=file.size, offset=offset)
    )
    with open(file.path, "rb") as handle:
        handle.seek(offset)
        while chunk := handle.read(CHUNK):
            yield artifacts_pb2.UploadArtifactFileRequest(data=chunk)
            if progress is not None:
                progress(len(chunk))
