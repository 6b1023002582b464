"""Hints from the observer thread to the event loop: coalesced per unit, bounded, never blocking.

File-system events are only hints that a unit may have changed; the worker on the event
loop decides by looking at the disk. So the observer thread does nothing but key the event
by its unit and drop it in a set; a burst of events on one unit costs one entry.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable

from studbook.daemon.watch.layout import UnitKey, key_for
from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)

log = logging.getLogger(__name__)

DEFAULT_CAPACITY = 65_536
# The events that can mean "content changed". Opening and reading (which our own scans
# do) are left out, so the kernel does not even report them.
EVENT_TYPES: list[type[FileSystemEvent]] = [
    FileCreatedEvent, DirCreatedEvent, FileModifiedEvent, FileClosedEvent, FileDeletedEvent,
    DirDeletedEvent, FileMovedEvent, DirMovedEvent,
]  # fmt: skip


class HintQueue:
    """A bounded set of unit keys, filled from any thread and drained on the event loop.

    A key's `renamed` flag is sticky until drained: a unit moved into place by an atomic
    rename is complete, whatever events follow it. When the set is full, new keys are
    dropped and `overflowed` is raised, so the caller reconciles instead.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, wake: Callable[[], None],
                 capacity: int = DEFAULT_CAPACITY) -> None:  # fmt: skip
        self._loop = loop
        self._wake = wake
        self._capacity = capacity
        self._lock = threading.Lock()
        self._keys: dict[UnitKey, bool] = {}
        self._overflowed = False
        self._signalled = False

    def put(self, key: UnitKey, renamed: bool = False) -> None:
        with self._lock:
            if key in self._keys:
                self._keys[key] = self._keys[key] or renamed
            elif len(self._keys) >= self._capacity:
                self._overflowed = True
            else:
                self._keys[key] = renamed
            if self._signalled:
                return
            self._signalled = True
        try:
            self._loop.call_soon_threadsafe(self._wake)
        except RuntimeError:
            pass  # the loop is closing: nothing is listening any more

    def overflow(self) -> None:
        """Events were lost before they reached us (the kernel's own queue overflowed)."""
        with self._lock:
            self._overflowed = True
            if self._signalled:
                return
            self._signalled = True
        try:
            self._loop.call_soon_threadsafe(self._wake)
        except RuntimeError:
            pass

    def drain(self) -> tuple[dict[UnitKey, bool], bool]:
        """Everything queued so far and whether anything was lost since the last drain."""
        with self._lock:
            keys, self._keys = self._keys, {}
            overflowed, self._overflowed = self._overflowed, False
            self._signalled = False
        return keys, overflowed

    def __len__(self) -> int:
        return len(self._keys)


class HintHandler(FileSystemEventHandler):
    """Runs on the observer thread: turns one root's events into hints, nothing more."""

    def __init__(self, root: str, queue: HintQueue) -> None:
        self.root = root
        self.queue = queue

    def on_any_event(self, event: FileSystemEvent) -> None:
        try:
            for path, renamed in _paths(event):
                key = key_for(self.root, path)
                if key is not None:
                    # Only the unit (or model folder) itself arriving by rename makes it complete;
                    # a file renamed inside a unit is just activity.
                    self.queue.put(key, renamed and key.path == path.rstrip("/"))
        except Exception:  # noqa: BLE001 - an exception here would kill the observer thread
            log.exception("could not queue a hint for %r", event)


def _paths(event: FileSystemEvent) -> list[tuple[str, bool]]:
    # With full events a rename from outside the root has no source, one to outside no destination.
    src, dest = _text(event.src_path), _text(event.dest_path)
    found = [(src, False)] if src else []
    if event.event_type == "moved" and dest:
        found.append((dest, True))
    return found


def _text(path: str | bytes) -> str:
    return path.decode("utf-8", "surrogateescape") if isinstance(path, bytes) else path


class OverflowLogHandler(logging.Handler):
    """watchdog reports a kernel queue overflow only in its log; this turns it into a hint."""

    def __init__(self, on_overflow: Callable[[], None]) -> None:
        super().__init__(logging.WARNING)
        self.on_overflow = on_overflow

    def emit(self, record: logging.LogRecord) -> None:
        if "overflow" in record.getMessage().lower():
            self.on_overflow()
