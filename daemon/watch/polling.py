"""A polling observer that survives any depth of folder.

watchdog's snapshot walks a tree by recursion, one Python frame per level, so a folder a
few thousand levels deep kills the polling thread with a RecursionError, exactly like the
native observer it stands in for. This one walks with an explicit stack, never follows a
symlinked folder (a link to an ancestor would never end), and treats a sub-folder it
cannot list (too long a path, no permission) as empty instead of failing the whole poll.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from typing import Any

from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingEmitter
from watchdog.utils.dirsnapshot import DirectorySnapshot

# The root itself gone is reported as its deletion by the emitter; other errors are retried.
_ROOT_GONE = (errno.ENOENT, errno.ENOTDIR, errno.EINVAL)


class StackSnapshot(DirectorySnapshot):
    def walk(self, root: str) -> Iterator[tuple[str, os.stat_result]]:
        stack = [root]
        while stack:
            folder = stack.pop()
            try:
                with os.scandir(folder) as found:
                    entries = [(entry.path, entry.is_dir(follow_symlinks=False)) for entry in found]
            except OSError as exc:
                if folder == root and exc.errno not in _ROOT_GONE:
                    raise
                continue
            for path, is_folder in entries:
                try:
                    st = self.stat(path)
                except OSError:
                    continue  # gone since the listing
                yield path, st
                if is_folder and self.recursive:
                    stack.append(path)


class StackPollingEmitter(PollingEmitter):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # PollingEmitter takes every snapshot through this one callable; the rest of its
        # logic (diffing, a vanished root, retrying other errors) is kept as it is.
        self._take_snapshot = lambda: StackSnapshot(self.watch.path, recursive=self.watch.is_recursive)


class StackPollingObserver(BaseObserver):
    def __init__(self, *, timeout: float) -> None:
        super().__init__(StackPollingEmitter, timeout=timeout)
