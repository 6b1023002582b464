"""One judge for every way in: a version's files are inspected and judged by this module
whether they were dropped into a watched folder, named by path or uploaded.

What a drop would quarantine, the API refuses with the same reason and message: malformed
or hostile bytes (FormatError), and content that runs code when loaded unless the
registrant allows it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Protocol

from studbook.daemon.domain.format_info import FormatInfo
from studbook.daemon.domain.model import ArtifactFile, Signature
from studbook.daemon.domain.safety import unsafe_content
from studbook.daemon.formats import DEFAULT_LIMITS, FileInfo, FolderInfo, Limits, inspect_file, inspect_folder, record

# The file that declares a model folder's kind, which carries the folder's own flags.
_DECLARING_FILES = {"mlflow": "MLmodel", "savedmodel": "saved_model.pb", "huggingface": "config.json"}


class HashedFile(Protocol):
    """A file with its hash: what the scanner read, or what an upload declared and the store verified."""

    @property
    def path(self) -> str: ...

    @property
    def size(self) -> int: ...

    @property
    def sha256(self) -> str: ...


@dataclass
class Inspected:
    """What the files say about themselves, read without executing anything."""

    files: dict[str, FileInfo] = field(default_factory=dict)
    folder: FolderInfo | None = None


def inspect_version(unit: Path, is_folder: bool, paths: Sequence[str], limits: Limits = DEFAULT_LIMITS) -> Inspected:
    """Formats of each file and, for a folder, what the folder declares. Blocking.

    `unit` is the version: a folder holding `paths`, or a single file (then `paths` has its
    one name). External data (ONNX) must stay inside the unit: a single file has nothing
    beside it that belongs to it. Raises FormatError for malformed or hostile content.
    """
    inspected = Inspected()
    for path in paths:
        inspected.files[path] = inspect_file(unit / path if is_folder else unit, limits, root=unit)
    if is_folder:
        inspected.folder = inspect_folder(unit, [Path(p) for p in paths], limits)
    return inspected


def judge(files: Sequence[ArtifactFile], *, allow_unsafe: bool) -> None:
    """Refuses content that runs code when loaded (UNSAFE_PICKLE, UNSAFE_OPS, REMOTE_CODE) unless allowed."""
    refusal = unsafe_content({f.path: f.flags for f in files})
    if refusal is not None and not allow_unsafe:
        raise refusal


def artifact_files(hashed: Sequence[HashedFile], inspected: Inspected) -> list[ArtifactFile]:
    """The version's files with their formats and flags; the folder's flags go on the file that
    declares the folder (config.json, MLmodel, saved_model.pb), so they stay with the
    registered record rather than an editable tag."""
    files = []
    for item in hashed:
        info = inspected.files.get(item.path)
        files.append(ArtifactFile(item.path, item.size, item.sha256, info.format if info else "",
                                  tuple(info.flags) if info else (),
                                  record.file_record(info) if info else FormatInfo()))  # fmt: skip
    folder = inspected.folder
    if folder is not None and folder.flags and files:
        owner = _declaring_file(folder.kind, [f.path for f in files])
        files = [
            replace(f, flags=tuple(dict.fromkeys((*f.flags, *folder.flags)))) if f.path == owner else f
            for f in files
        ]  # fmt: skip
    return files


def _declaring_file(kind: str, paths: list[str]) -> str:
    """The shallowest file declaring the folder's kind, else a Python file, else the first file."""
    name = _DECLARING_FILES.get(kind)
    candidates = [p for p in paths if name is not None and PurePosixPath(p).name == name]
    candidates = candidates or [p for p in paths if p.endswith(".py")] or paths
    return min(candidates, key=lambda p: (p.count("/"), p))


def signature_of(hashed: Sequence[HashedFile], inspected: Inspected) -> Signature:
    """What the folder declares (MLflow, SavedModel), else the biggest file that has one."""
    folder = inspected.folder
    if folder is not None and folder.signature is not None and not folder.signature.empty:
        return folder.signature
    for item in sorted(hashed, key=lambda f: (-f.size, f.path)):
        info = inspected.files.get(item.path)
        if info is not None and info.signature is not None and not info.signature.empty:
            return info.signature
    return Signature()
