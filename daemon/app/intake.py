"""Turns a local artifact path into registered files: hashed, format-detected, never executed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from studbook.daemon.artifacts import FileSink, ScanLimits, content_digest, scan_artifact
from studbook.daemon.domain.model import ArtifactFile, ModelVersion, Run, Signature
from studbook.daemon.formats import FolderInfo, FormatError, inspect_file, inspect_folder


@dataclass
class Intake:
    files: list[ArtifactFile]
    digest: str
    storage_uri: str
    signature: Signature = field(default_factory=Signature)
    folder: FolderInfo | None = None


def take_in(
    source: str, limits: ScanLimits, allowed_roots: Sequence[Path] | None, sink: FileSink | None = None
) -> Intake:
    """Blocking: scan, hash and inspect `source`. Run it off the event loop.

    With a `sink`, every file is copied into the artifact store in the same read that hashes it.

    A file no reader accepts is still registered, flagged `unreadable:<REASON>`: an
    explicit registration is the user's call, and the flag tells every reader why.
    """
    path = Path(source)
    scanned = scan_artifact(path, limits=limits, allowed_roots=allowed_roots, sink=sink)
    root = path if path.is_dir() else path.parent
    files = []
    signature = Signature()
    for item in scanned:
        target = root / item.path if path.is_dir() else path
        try:
            info = inspect_file(target, root=root)
            fmt, flags = info.format, info.flags
            if signature.empty and info.signature is not None:
                signature = info.signature
        except FormatError as exc:
            fmt, flags = "unknown", (f"unreadable:{exc.reason}",)
        files.append(ArtifactFile(item.path, item.size, item.sha256, fmt, tuple(flags)))
    folder = None
    if path.is_dir():
        try:
            folder = inspect_folder(root, [Path(f.path) for f in scanned])
        except FormatError:
            folder = None
    if folder is not None and signature.empty and folder.signature is not None:
        signature = folder.signature
    return Intake(files, content_digest(scanned), path.resolve().as_uri(), signature, folder)


def fill_from_intake(draft: ModelVersion, intake: Intake) -> None:
    """What the files declare fills only what the caller left empty."""
    draft.files = intake.files
    draft.content_digest = intake.digest
    draft.storage_uri = draft.storage_uri or intake.storage_uri
    if draft.signature.empty:
        draft.signature = intake.signature
    folder = intake.folder
    if folder is None:
        return
    draft.model_card = draft.model_card or folder.model_card
    for key, value in folder.tags.items():
        draft.tags.setdefault(key, value)
    draft.datasets = draft.datasets or list(folder.datasets)
    if not draft.environment.packages and not draft.environment.requirements:
        draft.environment = folder.environment
    if draft.run is None and folder.run_id:
        draft.run = Run(folder.run_id)
