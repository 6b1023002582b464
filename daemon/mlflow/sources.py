"""Which `source` of an MLflow model version studbook can reach, and its files if so.

Reachable: a version's own files (`models:/NAME/N`, or `mlflow-artifacts:/studbook/models/NAME/
versions/N` as get-download-uri answers), and files uploaded through the artifact proxy
(`mlflow-artifacts:/PATH`). A new version from them is kept in the artifact store like any
upload; every other source (runs:/, s3://, a path on some machine) is recorded as the
version's storage URI, referenced but not kept.
"""

from __future__ import annotations

import re

from studbook.daemon.app.path_uploads import PathUploads
from studbook.daemon.app.registry import Registry
from studbook.daemon.domain.errors import FailedPrecondition, NotFound
from studbook.daemon.domain.model import ArtifactFile
from studbook.daemon.domain.names import version_name
from studbook.daemon.mlflow.shapes import VERSION_FILES_ROOT

ARTIFACTS_SCHEME = "mlflow-artifacts:"
_MODELS_URI = re.compile(r"models:/([^/@]+)/(\d+)/?")
_VERSION_FILES = re.compile(rf"{re.escape(VERSION_FILES_ROOT)}/([^/]+)/versions/(\d+)/?")


def artifact_path_of(uri: str) -> str | None:
    """`mlflow-artifacts:/a/b` (or `mlflow-artifacts://host/a/b`) -> `a/b`; None for other schemes."""
    if not uri.startswith(ARTIFACTS_SCHEME):
        return None
    rest = uri[len(ARTIFACTS_SCHEME) :]
    if rest.startswith("//"):
        rest = rest[2:].partition("/")[2]  # the host names this server
    return rest.strip("/")


def version_of_path(path: str) -> tuple[str, int] | None:
    found = _VERSION_FILES.fullmatch(path)
    return (found.group(1), int(found.group(2))) if found else None


async def reachable_files(registry: Registry, uploads: PathUploads, source: str) -> list[ArtifactFile] | None:
    """The files a version registered from `source` takes in, or None when studbook cannot reach it."""
    found = _MODELS_URI.fullmatch(source)
    path = artifact_path_of(source)
    named = (found.group(1), int(found.group(2))) if found else version_of_path(path) if path is not None else None
    if named is not None:
        version = await registry.versions.get(version_name(*named))
        if not version.kept:
            raise FailedPrecondition(
                f"{version_name(*named)} is referenced, not kept; register from its storage URI "
                f"{version.storage_uri or '(none recorded)'} instead",
                reason="VERSION_NOT_KEPT", version=version_name(*named),
            )  # fmt: skip
        return [ArtifactFile(f.path, f.size, f.sha256) for f in version.files]
    if path is None:
        return None
    files = await uploads.files_under(path)
    if not files:
        raise NotFound(f"nothing was uploaded under {source[:300]!r}; upload the model's files through the "
                       "artifact proxy first", reason="ARTIFACT_NOT_FOUND", source=source[:300])  # fmt: skip
    return files
