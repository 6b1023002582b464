"""A Hugging Face cache as the hub client lays it out, offline: models--ORG--NAME/ with
blobs/ (content by hash), snapshots/REVISION/ (relative links into blobs/) and refs/."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path


def add_snapshot(cache: Path, repo_id: str, files: Mapping[str, bytes], *, revision: str | None = None,
                 ref: str | None = "main") -> Path:  # fmt: skip
    """Adds one revision of `repo_id` to the cache (refs/`ref` pointing at it); returns the snapshot folder."""
    repo = cache / ("models--" + repo_id.replace("/", "--"))
    revision = revision or hashlib.sha1(repr(sorted(files.items())).encode()).hexdigest()
    snapshot = repo / "snapshots" / revision
    (repo / "blobs").mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        blob = repo / "blobs" / hashlib.sha256(data).hexdigest()
        blob.write_bytes(data)
        link = snapshot / name
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(blob, link.parent))
    if ref is not None:
        (repo / "refs").mkdir(exist_ok=True)
        (repo / "refs" / ref).write_text(revision)  # the hub client writes it without a newline
    return snapshot


def folder_files(folder: Path) -> dict[str, bytes]:
    """Every file below `folder` by '/'-relative path (a committed fixture, for instance)."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
