"""Use cases on files uploaded by path (MLflow's artifact proxy): the bytes go to the artifact
store as any upload's do, and a small pointer file names them under the path the client chose,
until a version registered from that path takes them in.

A pointer is `<root>/<path>.blob.json` holding the blob's sha256 and size; the folders under
`root` are the uploaded folders. Until a version refers to them, the blobs are as unreferenced
as any upload's, so garbage collection takes them once they are older than its grace period:
register within it (an hour by default).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from studbook.daemon.artifacts import ScanLimits
from studbook.daemon.blobs import BlobStore
from studbook.daemon.domain.errors import InvalidArgument, NotFound
from studbook.daemon.domain.model import ArtifactFile

POINTER = ".blob.json"
MAX_PATH = 1024
MAX_FILES_PER_FOLDER = 10_000


@dataclass(frozen=True)
class Entry:
    """One child of a listed folder: a file (with its size) or a folder."""

    name: str
    is_dir: bool
    size: int = 0


def check_path(path: str, field: str = "path") -> str:
    """A relative path of plain segments: no `..`, `.`, empty segment or pointer suffix."""
    segments = path.split("/")
    if (not path or len(path) > MAX_PATH or path.startswith("/") or "\x00" in path or "\\" in path
            or any(s in ("", ".", "..") or s.endswith(POINTER) for s in segments)):  # fmt: skip
        raise InvalidArgument(f"invalid artifact path {path[:200]!r}: use 1-{MAX_PATH} characters of '/'-separated "
                              "names, none empty, '.' or '..'", reason="INVALID_PATH", field=field)  # fmt: skip
    return path


class PathUploads:
    def __init__(self, root: Path, blobs: BlobStore, scan_limits: ScanLimits) -> None:
        self.root = root
        self.blobs = blobs
        self.scan_limits = scan_limits

    async def receive(self, path: str, chunks: AsyncIterator[bytes]) -> ArtifactFile:
        """Stores the bytes as a blob and names them `path` (replacing what the path named)."""
        check_path(path)
        staged = self.blobs.staging / f"path-upload-{uuid.uuid4().hex}.part"
        hasher, size = hashlib.sha256(), 0
        try:
            with open(staged, "wb") as out:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > self.scan_limits.max_file_bytes:
                        raise InvalidArgument(
                            f"{path[:200]!r} is larger than the {self.scan_limits.max_file_bytes} bytes allowed for "
                            "one file", reason="FILE_TOO_LARGE", max_file_bytes=self.scan_limits.max_file_bytes,
                        )  # fmt: skip
                    hasher.update(chunk)
                    await asyncio.to_thread(out.write, chunk)
            sha256 = hasher.hexdigest()
            await asyncio.to_thread(self.blobs.put, sha256, staged)
        finally:
            staged.unlink(missing_ok=True)
        await asyncio.to_thread(self._point, path, sha256, size)
        return ArtifactFile(path, size, sha256)

    def _point(self, path: str, sha256: str, size: int) -> None:
        target = self._pointer(path)
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        scratch = target.with_name(f".{uuid.uuid4().hex}.tmp")
        scratch.write_text(json.dumps({"sha256": sha256, "size": size}))
        os.replace(scratch, target)  # a reader sees the old pointer or the new one, never half of one

    def _pointer(self, path: str) -> Path:
        return self.root.joinpath(*path.split("/")).with_name(path.rsplit("/", 1)[-1] + POINTER)

    async def file(self, path: str) -> ArtifactFile:
        check_path(path)
        return await asyncio.to_thread(self._read_pointer, path)

    def _read_pointer(self, path: str) -> ArtifactFile:
        try:
            data = json.loads(self._pointer(path).read_text())
        except FileNotFoundError:
            raise NotFound(f"no artifact uploaded at {path[:200]!r}", reason="ARTIFACT_NOT_FOUND",
                           path=path[:200]) from None  # fmt: skip
        return ArtifactFile(path, int(data["size"]), str(data["sha256"]))

    async def entries(self, path: str) -> list[Entry]:
        """The files and folders directly in folder `path` ("" for the top)."""
        if path:
            check_path(path)
        return await asyncio.to_thread(self._list, path)

    def _list(self, path: str) -> list[Entry]:
        folder = self.root.joinpath(*path.split("/")) if path else self.root
        entries: list[Entry] = []
        try:
            children = sorted(os.scandir(folder), key=lambda e: e.name)
        except (FileNotFoundError, NotADirectoryError):
            return entries
        for child in children[:MAX_FILES_PER_FOLDER]:
            if child.is_dir(follow_symlinks=False):
                entries.append(Entry(child.name, True))
            elif child.name.endswith(POINTER):
                name = child.name.removesuffix(POINTER)
                entries.append(Entry(name, False, self._read_pointer(f"{path}/{name}" if path else name).size))
        return entries

    async def files_under(self, path: str) -> list[ArtifactFile]:
        """Every file uploaded under folder `path`, with paths relative to it (a version's layout);
        a file uploaded at `path` itself is a single-file version."""
        check_path(path)
        return await asyncio.to_thread(self._files_under, path)

    def _files_under(self, path: str) -> list[ArtifactFile]:
        single = self._pointer(path)
        if single.is_file():
            found = self._read_pointer(path)
            return [ArtifactFile(path.rsplit("/", 1)[-1], found.size, found.sha256)]
        folder = self.root.joinpath(*path.split("/"))
        files: list[ArtifactFile] = []
        for current, dirs, names in os.walk(folder):
            dirs.sort()
            for name in sorted(names):
                if name.endswith(POINTER):
                    rel = os.path.relpath(os.path.join(current, name.removesuffix(POINTER)), folder).replace(
                        os.sep, "/"
                    )
                    found = self._read_pointer(f"{path}/{rel}")
                    files.append(ArtifactFile(rel, found.size, found.sha256))
        return files
