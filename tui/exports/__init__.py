"""`studbook export`: one version (or model) written in another registry's format, as a client of the daemon.

One module per format, each with `export(source, ref, out[, options]) -> summary`, writing
into `out`, a fresh folder that becomes DEST only once the export is complete (staging.py).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from studbook.client.clients import Client
from studbook.exports import staging
from studbook.exports.options import ExportOptions
from studbook.exports.source import Progress, Source

FORMATS = ("modelpack", "mlflow", "sagemaker", "vertex")


def export(client: Client, ref: str, dest: str | os.PathLike[str], fmt: str, *,
           options: ExportOptions | None = None, progress: Progress | None = None,
           planned: Progress | None = None) -> dict[str, Any]:  # fmt: skip
    """Writes `ref` (MODEL or MODEL@REF) in `fmt` into DEST, which must not exist or be empty.

    `progress` is told of every chunk of file bytes written, `planned` of the bytes to come.
    Returns a summary (what was written, what could not be said in the format and why).
    """
    writer = _writer(fmt, options or ExportOptions())
    source = Source(client, progress, planned)
    target = Path(dest)
    with staging.staged(target) as out:
        summary = writer(source, ref, out)
    return {"format": fmt, "dest": os.path.abspath(target), **summary}


def _writer(fmt: str, options: ExportOptions) -> Callable[[Source, str, Path], dict[str, Any]]:
    from studbook.exports import mlflow, modelpack, sagemaker, vertex

    if fmt == "modelpack":
        return lambda source, ref, out: modelpack.export(source, ref, out, tar=options.layers == "tar")
    if fmt == "mlflow":
        return mlflow.export
    if fmt == "sagemaker":
        return lambda source, ref, out: sagemaker.export(source, ref, out, options)
    if fmt == "vertex":
        return lambda source, ref, out: vertex.export(source, ref, out, options)
    raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
