"""MLflow's artifact proxy (`/api/2.0/mlflow-artifacts/artifacts`): list, download, upload.

Two kinds of path: `studbook/models/NAME/versions/N/...` are a kept version's own files (what
get-download-uri hands out; read-only), read through the same use case as gRPC's
ReadArtifactFile; any other path is a file uploaded there (PathUploads), which
create-model-version may then register from `mlflow-artifacts:/PATH`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiohttp import web
from studbook.daemon.app.artifacts import off_the_loop
from studbook.daemon.app.path_uploads import Entry, PathUploads, check_path
from studbook.daemon.app.registry import Registry
from studbook.daemon.domain.access import Caller
from studbook.daemon.domain.model import ModelVersion
from studbook.daemon.domain.names import version_name
from studbook.daemon.mlflow.errors import MlflowError
from studbook.daemon.mlflow.shapes import VERSION_FILES_ROOT
from studbook.daemon.mlflow.sources import version_of_path

PREFIX = "/api/2.0/mlflow-artifacts/artifacts"
READ, UPLOAD = "studbook.v1.ArtifactService/ReadArtifactFile", "studbook.v1.ArtifactService/UploadArtifactFile"
UPLOAD_CHUNK = 1 << 20
Admit = Callable[[web.Request, str, str], Awaitable[Caller]]


def _split_version_path(path: str) -> tuple[str, int, str] | None:
    """`studbook/models/m/versions/3/sub/file` -> ("m", 3, "sub/file"); None for other paths."""
    parts = path.split("/")
    if len(parts) < 5 or "/".join(parts[:2]) != VERSION_FILES_ROOT:
        return None
    named = version_of_path("/".join(parts[:5]))
    return (named[0], named[1], "/".join(parts[5:])) if named else None


def _version_entries(version: ModelVersion, sub: str) -> list[Entry]:
    """The files and folders directly in folder `sub` of a version."""
    prefix = f"{sub}/" if sub else ""
    entries: dict[str, Entry] = {}
    for file in version.files:
        if not file.path.startswith(prefix):
            continue
        name, slash, _ = file.path[len(prefix) :].partition("/")
        entries.setdefault(name, Entry(name, True) if slash else Entry(name, False, file.size))
    return [entries[name] for name in sorted(entries)]


def add_routes(app: web.Application, registry: Registry, admit: Admit, uploads: PathUploads) -> None:
    async def listing(request: web.Request) -> web.Response:
        await admit(request, READ, "GET mlflow-artifacts/artifacts")
        path = request.query.get("path", "").strip("/")
        named = _split_version_path(path)
        if named is not None:
            version = await registry.versions.get(version_name(named[0], named[1]))
            entries = _version_entries(version, named[2]) if version.kept else []
        elif path.split("/")[0] == VERSION_FILES_ROOT.split("/")[0]:
            entries = []
        else:
            entries = await uploads.entries(path)
        files: list[dict[str, Any]] = [
            {"path": e.name, "is_dir": True} if e.is_dir else {"path": e.name, "is_dir": False, "file_size": e.size}
            for e in entries
        ]
        return web.json_response({"files": files} if files else {})

    async def download(request: web.Request) -> web.StreamResponse:
        caller = await admit(request, READ, "GET mlflow-artifacts/artifacts/PATH")
        path = request.match_info["path"]
        named = _split_version_path(path)
        if named is not None:
            read = await registry.artifacts.read_file(version_name(named[0], named[1]), named[2], 0, 0, caller=caller)
            return await _stream(request, read.file.size, read.chunks)
        found = await uploads.file(path)
        chunks = await asyncio.to_thread(registry.blobs.read, found.sha256, 0, None)
        return await _stream(request, found.size, off_the_loop(chunks))

    async def upload(request: web.Request) -> web.Response:
        await admit(request, UPLOAD, "PUT mlflow-artifacts/artifacts/PATH")
        path = check_path(request.match_info["path"])
        if path.split("/")[0] == VERSION_FILES_ROOT.split("/")[0]:
            raise MlflowError("INVALID_PARAMETER_VALUE", f"{VERSION_FILES_ROOT.split('/')[0]}/ holds registered "
                              "versions' files, which never change; upload elsewhere")  # fmt: skip
        await uploads.receive(path, request.content.iter_chunked(UPLOAD_CHUNK))
        return web.json_response({})

    app.router.add_get(PREFIX, listing)
    app.router.add_get(PREFIX + "/{path:.+}", download)
    app.router.add_put(PREFIX + "/{path:.+}", upload)
    # MLflow's clients before 2.x's PUT posted the file.
    app.router.add_post(PREFIX + "/{path:.+}", upload)


async def _stream(request: web.Request, size: int, chunks: AsyncIterator[bytes]) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
    response.content_length = size
    await response.prepare(request)
    async for chunk in chunks:
        await response.write(chunk)
    await response.write_eof()
    return response
