"""A local model folder's files, hashed for upload: links followed only within a boundary."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING

from studbook.client.errors import StudbookError

if TYPE_CHECKING:  # the upload module loads generated code: only when files are read
    from studbook.client.upload import LocalFile


def files(top: Path, boundary: Path) -> list[LocalFile]:
    """The files below `top`, '/'-relative to it, hashed, in name order.

    A link is followed when it resolves inside `boundary` (a cache repository's blobs, or
    `top` itself), and refused otherwise: importing a folder must never carry off files
    from elsewhere on the machine. Hidden names (a download's `.cache/`, `.git/`) are left
    out, as the drop-in watcher leaves them out.
    """
    found: list[LocalFile] = []
    for folder, dirs, names in os.walk(top):
        base = Path(folder)
        for name in [d for d in dirs if (base / d).is_symlink() and not d.startswith(".")]:
            raise StudbookError("INVALID_ARGUMENT", "SPECIAL_FILE",
                                f"{base / name} is a link to a folder; copy the folder in its place")  # fmt: skip
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(n for n in names if not n.startswith(".")):
            found.append(_file(base / name, top, boundary))
    if not found:
        raise StudbookError("INVALID_ARGUMENT", "EMPTY_ARTIFACT", f"{top} holds no files")
    return found


def _file(path: Path, top: Path, boundary: Path) -> LocalFile:
    from studbook.client.upload import hashed

    rel = path.relative_to(top).as_posix()
    mode = path.lstat().st_mode
    if stat.S_ISLNK(mode):
        if not within(path, boundary):
            raise StudbookError("FAILED_PRECONDITION", "PATH_OUTSIDE",
                                f"{path} links to {os.readlink(path)[:200]!r}, outside {boundary}; only links "
                                "into the model's own folder are followed", {"path": rel[:200]})  # fmt: skip
        if not path.exists():
            raise StudbookError("FAILED_PRECONDITION", "MISSING_FILE",
                                f"{path} links to a file that is not there: the download is incomplete; "
                                "download the model again", {"path": rel[:200]})  # fmt: skip
        mode = path.stat().st_mode
    if not stat.S_ISREG(mode):
        raise StudbookError("INVALID_ARGUMENT", "SPECIAL_FILE", f"{path} is not a regular file; only files "
                            "can be imported")  # fmt: skip
    return hashed(rel, path)


def within(path: Path, boundary: Path) -> bool:
    """Whether `path`, links resolved, lies inside `boundary` (itself resolved)."""
    try:
        Path(os.path.realpath(path)).relative_to(os.path.realpath(boundary))
    except ValueError:
        return False
    return True
