"""Folders of files for tests to register, drop or upload."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path


def write_tree(path: Path, files: Mapping[str, bytes]) -> Path:
    """Writes each '/'-separated relative path with its bytes below `path`; returns `path`."""
    for name, data in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_bytes(data)
    return path
