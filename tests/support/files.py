"""Folders of files for tests to register, drop or upload."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path


def write_tree(path: Path, files: Mapping[str, bytes]) -> Path:
    """Writes each '/'-separated relative path with its bytes below `path`; returns `path`."""
    for name, data in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_bytes(data)
    return path


def random_weights(size: int) -> bytes:
    """Random bytes, as raw weights look to the registry, that never begin like a pickle:
    about one random file in 15,000 does, breaks, and is refused (BAD_PICKLE), since an
    unpickler would run it up to the break."""
    return b"\0" + os.urandom(size - 1)
