"""Times as people type and read them: one parser for every time the CLI or the UI takes, one way to print.

A time typed on the command line is either a span back from now (`1h`, `30m ago`, `2w`) or
an ISO 8601 date or time; one without a zone is in the zone times are printed in (local,
or UTC with --utc), so what a person reads in a table can be typed back. Kept free of
protobuf and grpc: `studbook --help` imports it. The UI reads and writes times through the
same functions, passing its own zone.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Literal

# Seconds per unit; the same table serves lifetimes (`token create --expires 90d`).
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_SPAN = re.compile(r"([0-9]{1,9}) ?([smhdw])(?: ago)?")

ACCEPTED = (
    "a span back from now (30s, 15m, 1h, 3d, 2w, optionally followed by 'ago'), 'now', 'today', 'yesterday', "
    "or an ISO date or time (2026-01-31, 2026-01-31 09:30, 2026-01-31T09:30:00+01:00, 2026-01-31T08:30Z; "
    "local time when no zone is given)"
)

# None: the local zone (which honours $TZ); set by --utc.
_zone: tzinfo | None = None


class InvalidTime(ValueError):
    """A time the CLI cannot read; the message lists the accepted forms."""


def use_utc(enabled: bool) -> None:
    """Print (and read zone-less) times in UTC instead of the local zone."""
    global _zone
    _zone = UTC if enabled else None


# A zone argument: a tzinfo, None for this machine's local zone, or the CLI's display zone.
Zone = tzinfo | None | Literal["display"]


def _resolve(zone: Zone) -> tzinfo | None:
    return _zone if zone == "display" else zone


def in_display_zone(moment: datetime, zone: Zone = "display") -> datetime:
    """The same instant in the zone times are printed in."""
    return moment.astimezone(_resolve(zone))


def format_moment(moment: datetime, zone: Zone = "display") -> str:
    """`2026-11-03 14:05:12 +01:00`: the display zone, its offset always shown (and typeable back)."""
    shown = in_display_zone(moment, zone)
    return f"{shown:%Y-%m-%d %H:%M:%S} {offset(shown)}"


def rfc3339(moment: datetime) -> str:
    """`2026-11-03T13:05:12.481000Z`: the instant in UTC, as the API and --json spell times."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def offset(moment: datetime) -> str:
    """`+01:00`, `-05:30`, `+00:00`: the offset as RFC 3339 spells it."""
    delta = moment.utcoffset() or timedelta(0)
    minutes = int(delta.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{mins:02d}"


def parse_span(text: str) -> int | None:
    """`90d`, `12h`, `30 m`, `2w ago` -> seconds; None when the text is not a span."""
    match = _SPAN.fullmatch(" ".join(text.split()).lower())
    if match is None:
        return None
    return int(match.group(1)) * UNITS[match.group(2)]


# Words for the start of a day in the display zone, and how many days back it is.
_DAYS_BACK = {"today": 0, "yesterday": 1}


def _midnight(now: datetime, days_back: int, zone: tzinfo | None) -> datetime:
    day = now.astimezone(zone).date() - timedelta(days=days_back)
    start = datetime(day.year, day.month, day.day)
    # astimezone() on the naive midnight: the offset of that moment, right across a DST change.
    return start.replace(tzinfo=zone) if zone is not None else start.astimezone()


def parse_moment(text: str, now: datetime | None = None, zone: Zone = "display") -> datetime:
    """A time typed by a person -> an aware datetime; a zone-less one is read in `zone`. Raises InvalidTime."""
    now = now if now is not None else datetime.now(UTC)
    place = _resolve(zone)
    word = " ".join(text.split()).lower()
    if word == "now":
        return now
    if word in _DAYS_BACK:
        return _midnight(now, _DAYS_BACK[word], place)
    seconds = parse_span(text)
    if seconds is not None:
        try:
            return now - timedelta(seconds=seconds)
        except OverflowError:
            raise InvalidTime(f"{text.strip()!r} reaches back before the year 1; use a shorter span") from None
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidTime(f"cannot read the time {text!r}; use {ACCEPTED}") from None
    if parsed.tzinfo is not None:
        return parsed
    if place is not None:
        return parsed.replace(tzinfo=place)
    try:
        return parsed.astimezone()  # the local zone's offset on that date
    except (OverflowError, OSError, ValueError):  # far outside what the C library can place
        raise InvalidTime(f"{text.strip()!r} is too far from today to place in the local zone; give its zone") from None
