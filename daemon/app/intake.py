"""Turns a local artifact path into registered files: hashed, format-detected, never executed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from studbook.daemon.artifacts import ScanLimits, content_digest, scan_artifact
from studbook.daemon.domain.model import ArtifactFile, Signature


@dataclass
class Intake:
    files: list[ArtifactFile]
    digest: str
    storage_uri: str
    signature: Signature = field(default_factory=Signature)


def take_in(source: str, limits: ScanLimits, allowed_roots: Sequence[Path] | None) -> Intake:
    """Blocking: scan, hash and inspect `source`. Run it off the event loop."""
    path = Path(source)
    scanned = scan_artifact(path, limits=limits, allowed_roots=allowed_roots)
    root = path if path.is_dir() else path.parent
    files = []
    signature = Signature()
    for item in scanned:
        fmt, flags, found_signature = _inspect(root / item.path if path.is_dir() else path)
        if signature.empty and found_signature is not None:
            signature = found_signature
        files.append(ArtifactFile(item.path, item.size, item.sha256, fmt, flags))
    return Intake(files, content_digest(scanned), path.resolve().as_uri(), signature)


def _inspect(path: Path) -> tuple[str, tuple[str, ...], Signature | None]:
    """Format, safety flags and signature of one file; a file no reader accepts is flagged, not refused."""
    try:
        from studbook.daemon.formats import FormatError, inspect_file
    except ImportError:  # pragma: no cover - readers not installed
        return "", (), None
    try:
        info = inspect_file(path)
    except FormatError as exc:
        return "unknown", (f"unreadable:{exc.reason}",), None
    return info.format, tuple(info.flags), info.signature
