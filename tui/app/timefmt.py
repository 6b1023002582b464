"""Times as the UI shows them: "5m ago" and local timestamps, from one injectable clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

from google.protobuf import timestamp_pb2

# (seconds in the unit, suffix), largest first.
_UNITS = ((365 * 86400, "y"), (30 * 86400, "mo"), (7 * 86400, "w"), (86400, "d"), (3600, "h"), (60, "m"), (1, "s"))
HIDDEN = "…"


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def to_datetime(stamp: timestamp_pb2.Timestamp | None) -> datetime | None:
    """An aware UTC datetime, or None for an unset timestamp."""
    if stamp is None or (stamp.seconds == 0 and stamp.nanos == 0):
        return None
    return stamp.ToDatetime(tzinfo=timezone.utc)


def relative(moment: datetime, now: datetime) -> str:
    """`just now`, `42s ago`, `5m ago`, `3h ago`, `2d ago`, `4mo ago`; `in 5m` for the future."""
    seconds = int((now - moment).total_seconds())
    if abs(seconds) < 5:
        return "just now"
    for size, suffix in _UNITS:
        if abs(seconds) >= size:
            amount = abs(seconds) // size
            return f"{amount}{suffix} ago" if seconds > 0 else f"in {amount}{suffix}"
    return "just now"  # pragma: no cover - 1 s is the smallest unit


class TimeFormat:
    """How every screen writes times.

    `now` is the clock (tests pass a fixed one); with `hidden`, every time is written as
    `…`, so screenshots of a registry whose times come from the wall clock stay stable.
    """

    def __init__(self, now: Callable[[], datetime] = utc_now, *, hidden: bool = False) -> None:
        self.now = now
        self.hidden = hidden

    def ago(self, stamp: timestamp_pb2.Timestamp | None) -> str:
        moment = to_datetime(stamp)
        if moment is None:
            return ""
        return HIDDEN if self.hidden else relative(moment, self.now())

    def absolute(self, stamp: timestamp_pb2.Timestamp | None) -> str:
        """Local `YYYY-MM-DD HH:MM:SS`."""
        moment = to_datetime(stamp)
        if moment is None:
            return ""
        return HIDDEN if self.hidden else moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")

    def both(self, stamp: timestamp_pb2.Timestamp | None) -> str:
        """`2026-01-31 09:30:00 (5m ago)`."""
        when = self.absolute(stamp)
        return f"{when} ({self.ago(stamp)})" if when and not self.hidden else when
