"""Where an export is written: a hidden folder beside DEST, renamed to DEST only once complete.

A failed or interrupted export therefore never leaves a half-written DEST behind, and an
export never mixes its files with anything a user already keeps there.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from studbook.client.errors import StudbookError

STAGING_PREFIX = ".studbook-export-"


def check_destination(dest: Path) -> None:
    """DEST must not exist, or be an empty folder; anything else is refused before any work."""
    if dest.is_symlink() or (dest.exists() and not dest.is_dir()):
        raise StudbookError("ALREADY_EXISTS", "EXPORT_DESTINATION_EXISTS",
                            f"{dest} already exists and is not a plain folder (a file or a link); "
                            "export into a new or empty folder")  # fmt: skip
    if dest.is_dir() and any(dest.iterdir()):
        raise StudbookError("ALREADY_EXISTS", "EXPORT_DESTINATION_NOT_EMPTY",
                            f"{dest} is not empty; export into a new or empty folder, or remove what it holds")  # fmt: skip


@contextmanager
def staged(dest: Path) -> Iterator[Path]:
    """Yields an empty folder beside `dest` (same file system, so the final rename is atomic);
    on success it becomes `dest`, on failure it is removed."""
    dest = Path(os.path.abspath(dest))
    check_destination(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)  # like `studbook pull`, missing folders are made
    work = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{dest.name}-", dir=dest.parent))
    try:
        yield work
        check_destination(dest)  # filled while we worked: theirs wins, ours is dropped
        # rename(2) replaces an empty folder, and fails on a non-empty one: no window for a mix.
        try:
            os.replace(work, dest)
        except OSError as exc:
            if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR, errno.EISDIR):
                raise
            check_destination(dest)  # says what is in the way
            raise
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    os.chmod(dest, 0o777 & ~_umask())


def _umask() -> int:
    # mkdtemp makes a 0700 folder; the result should look like any folder the user makes.
    current = os.umask(0)
    os.umask(current)
    return current
