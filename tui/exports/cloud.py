"""What the SageMaker and Vertex AI requests share: where the files are reachable, and the folder's layout.

DEST/<request>.json   the request body
DEST/model/...        the version's files, only with --upload-url (the folder is then meant
                      to be copied to that URL, which the request names)
"""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath
from typing import Any

from studbook.client.errors import StudbookError
from studbook.exports.options import ExportOptions
from studbook.exports.source import Source
from studbook.v1 import resources_pb2

MODEL_FOLDER = "model"


def model_url(source: Source, version: resources_pb2.ModelVersion, options: ExportOptions, out: Path,
              scheme: str) -> str | None:  # fmt: skip
    """The URL of the folder holding the version's files, as the service will read it: below
    --upload-url (the files are written into DEST/model for that), else the version's own
    storage URI when the service can read it, else None."""
    if options.upload_url:
        if not options.upload_url.startswith(f"{scheme}://"):
            raise StudbookError("INVALID_ARGUMENT", "EXPORT_URL_SCHEME",
                                f"--upload-url must be a {scheme}:// URL for this format, "
                                f"got {options.upload_url!r}")  # fmt: skip
        source.require_kept(version, "an export with --upload-url")
        folder = out / MODEL_FOLDER
        source.fetch(version, [(f, folder.joinpath(*PurePosixPath(f.path).parts)) for f in version.files])
        return f"{options.upload_url.rstrip('/')}/{MODEL_FOLDER}/"
    if version.storage_uri.startswith(f"{scheme}://"):
        return version.storage_uri
    return None


def write_json(path: Path, document: dict[str, Any]) -> None:
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")


def metric_values(version: resources_pb2.ModelVersion) -> dict[str, float]:
    """Latest value of each metric, keyed `split/key` when it has a split."""
    return {(f"{m.split}/{m.key}" if m.split else m.key): m.value for m in version.metrics}
