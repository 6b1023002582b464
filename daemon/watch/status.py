"""What the watcher reports about itself: roots, observers, degradation and counters."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

MAX_INCIDENTS = 20


@dataclass(frozen=True)
class Incident:
    """Something that could have cost a drop, and what the watcher did about it."""

    time: datetime
    reason: str
    """UPPER_SNAKE: WATCH_LIMIT, QUEUE_OVERFLOW, ROOT_MISSING, ROOT_REPLACED, OBSERVER_DIED."""
    message: str
    root: str = ""


@dataclass
class RootStatus:
    path: str
    observer: str = ""
    """inotify (or the platform's native kind), polling, or empty while not watched."""
    problem: Incident | None = None
    """Why this root is degraded right now, if it is."""
    keep_in_place: bool = False
    """Its drops are referenced where they lie, not kept."""


@dataclass
class Counters:
    files_hashed: int = 0
    bytes_hashed: int = 0
    registered: int = 0
    reconciles: int = 0


@dataclass
class WatchStatus:
    roots: list[RootStatus]
    degraded: bool
    problems: list[Incident]
    incidents: list[Incident]
    queue_depth: int
    pending: int
    quarantined: int
    quiet_seconds: float
    reconcile_seconds: float
    counters: Counters
    last_reconcile: datetime | None
    kept_sources_changed: int = 0


@dataclass
class IncidentLog:
    """The last few incidents, newest last."""

    entries: deque[Incident] = field(default_factory=lambda: deque(maxlen=MAX_INCIDENTS))

    def add(self, incident: Incident) -> None:
        self.entries.append(incident)

    def __iter__(self) -> Iterator[Incident]:
        return iter(self.entries)
