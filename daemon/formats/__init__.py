"""Model formats read without executing anything: detect by bytes, read metadata in bounds.

The readers are imported by the functions that use them, not here: the daemon imports this
package for its types and limits at start-up, and pays for the readers (a third of the
package) only when the first file is inspected.
"""

from __future__ import annotations

import lzma
import struct
import zlib
from pathlib import Path

from studbook.daemon.formats.errors import FormatError, NotThisFormat
from studbook.daemon.formats.info import EXTENSION_MISMATCH, FileInfo, FolderInfo, unique_flags
from studbook.daemon.formats.limits import DEFAULT_LIMITS, Limits
from studbook.daemon.formats.source import FileSource

__all__ = [
    "DEFAULT_LIMITS",
    "FileInfo",
    "FolderInfo",
    "FormatError",
    "Limits",
    "inspect_file",
    "inspect_folder",
]

# Parse errors the standard library raises on malformed bytes; each reader turns what it
# expects into a precise reason, and this net names whatever is left MALFORMED.
_MALFORMED = (ValueError, struct.error, EOFError, OverflowError, RecursionError, zlib.error, lzma.LZMAError)


def inspect_file(path: Path, limits: Limits = DEFAULT_LIMITS, *, root: Path | None = None) -> FileInfo:
    """Detect `path`'s format from its bytes and read its metadata without executing it.

    `root` is the version folder: ONNX external data must stay inside it (default: the
    file's own folder). Raises FormatError for malformed or hostile content; OSError
    (a file that vanished or is unreadable) passes through for the caller to retry.
    """
    from studbook.daemon.formats import detect, paths

    if root is not None and not paths.inside(path, root):
        raise FormatError("PATH_OUTSIDE", f"{path.name} resolves outside the version folder")
    head, last, size = detect.read_head(path, limits.sniff_bytes)
    _refuse_placeholders(path, head, size)
    kind = detect.sniff(head, last)
    try:
        info = _read(path, kind, head, size, limits, root)
    except NotThisFormat:
        if path.suffix.lower() in detect.CLAIMS:
            raise  # the name claims a model format: the reader's reason says what is wrong
        info = FileInfo(format="unknown")
    except _MALFORMED as err:
        raise FormatError("MALFORMED", f"{path.name}: malformed {kind} content: {err}") from None
    return _check_claim(path, info)


def _read(path: Path, kind: str, head: bytes, size: int, limits: Limits, root: Path | None) -> FileInfo:
    from studbook.daemon.formats import archive, gguf, hdf5, onnx, pickle_scan, safetensors, savedmodel

    if kind in ("pickle", "compressed"):
        found = pickle_scan.inspect(path, size, head, limits)
        return found if found is not None else FileInfo(format="unknown")
    if kind == "zip":
        return archive.inspect(path, size, limits)
    if kind == "hdf5":
        return hdf5.inspect(path, limits)
    if kind in ("npy", "unknown"):
        return FileInfo(format=kind)
    with FileSource(path) as source:
        if kind == "safetensors":
            return safetensors.inspect(source, limits)
        if kind == "gguf":
            return gguf.inspect(source, limits)
        if kind == "onnx":
            return onnx.inspect(source, limits, model_dir=path.parent, root=root)
        return savedmodel.inspect(source, limits)


def _refuse_placeholders(path: Path, head: bytes, size: int) -> None:
    """Files that stand in for a model without being one: say what to do about them."""
    from studbook.daemon.formats import detect

    if head.startswith(detect.LFS_POINTER):
        raise FormatError(
            "LFS_POINTER",
            f"{path.name} is a Git LFS pointer, not the model: its content was never fetched; "
            "run `git lfs pull` in the repository it came from, then register the folder again",
            size=size,
        )
    if size == 0 and path.suffix.lower() in detect.MODEL_EXTENSIONS:
        raise FormatError(
            "EMPTY_FILE",
            f"{path.name} is empty: a copy or download was cut short; copy the model file again",
        )


def _check_claim(path: Path, info: FileInfo) -> FileInfo:
    """Refuse a file whose name claims a model format its bytes do not have."""
    from studbook.daemon.formats import detect

    claimed = detect.CLAIMS.get(path.suffix.lower())
    if claimed is None or info.format in claimed:
        return info
    if info.format == "unknown":
        raise FormatError(
            "BAD_MAGIC",
            f"{path.name} is named like a {'/'.join(sorted(claimed))} file but its bytes are not one",
            claimed=path.suffix.lower(),
        )
    return FileInfo(
        format=info.format,
        flags=unique_flags(info.flags, (EXTENSION_MISMATCH,)),
        metadata=info.metadata,
        signature=info.signature,
        parameter_count=info.parameter_count,
    )


def inspect_folder(root: Path, files: list[Path], limits: Limits = DEFAULT_LIMITS) -> FolderInfo:
    """Read what a version folder declares (MLflow, SavedModel, Hugging Face, README card).

    `files` are the folder's files, absolute or relative to `root`; only those are read.
    """
    from studbook.daemon.formats import folder

    try:
        return folder.inspect(root, files, limits)
    except _MALFORMED as err:
        raise FormatError("MALFORMED", f"{root.name}: malformed model folder: {err}") from None
