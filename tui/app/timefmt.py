"""Times as the UI shows them: "5m ago" and timestamps with their zone, from one injectable clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING

from studbook.cli import times

if TYPE_CHECKING:
    from google.protobuf import timestamp_pb2

# (seconds in the unit, suffix), largest first.
_UNITS = ((365 * 86400, "y"), (30 * 86400, "mo"), (7 * 86400, "w"), (86400, "d"), (3600, "h"), (60, "m"), (1, "s"))
HIDDEN = "…"


def utc_now() -> datetime:
    return datetime.now(UTC)


def to_datetime(stamp: timestamp_pb2.Timestamp | None) -> datetime | None:
    """An aware UTC datetime, or None for an unset timestamp."""
    if stamp is None or (stamp.seconds == 0 and stamp.nanos == 0):
        return None
    return stamp.ToDatetime(tzinfo=UTC)


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


def stamp_text(moment: datetime, zone: tzinfo | None = None) -> str:
    """`2026-11-03 14:05:12 +01:00`: in `zone` (None: this machine's local zone), as the CLI prints it."""
    return times.format_moment(moment, zone)


class TimeFormat:
    """How every screen writes times.

    `now` is the clock and `zone` the zone absolute times are written in (None: this
    machine's; tests pass fixed ones); with `hidden`, every time is written as `…`, so
    screenshots of a registry whose times come from the wall clock stay stable.
    """

    def __init__(
        self, now: Callable[[], datetime] = utc_now, *, hidden: bool = False, zone: tzinfo | None = None
    ) -> None:
        self.now = now
        self.hidden = hidden
        self.zone = zone

    def ago(self, stamp: timestamp_pb2.Timestamp | None) -> str:
        moment = to_datetime(stamp)
        if moment is None:
            return ""
        return HIDDEN if self.hidden else relative(moment, self.now())

    def absolute(self, stamp: timestamp_pb2.Timestamp | None) -> str:
        """`YYYY-MM-DD HH:MM:SS +01:00`, in the display zone."""
        moment = to_datetime(stamp)
        if moment is None:
            return ""
        return self.moment(moment)

    def moment(self, moment: datetime) -> str:
        """An aware datetime the way `absolute` writes a timestamp."""
        return HIDDEN if self.hidden else stamp_text(moment, self.zone)

    def both(self, stamp: timestamp_pb2.Timestamp | None) -> str:
        """`2026-01-31 09:30:00 +01:00 (5m ago)`."""
        when = self.absolute(stamp)
        return f"{when} ({self.ago(stamp)})" if when and not self.hidden else when

    def parse(self, text: str) -> datetime:
        """A moment typed by the user (`2026-11-03 14:00`, `3d`, `1h ago`), read against this clock and zone.

        Raises `times.InvalidTime` saying which forms are understood.
        """
        return times.parse_moment(text, self.now(), self.zone)
