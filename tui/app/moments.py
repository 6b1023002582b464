"""Reading a moment a person types: `2026-11-03 14:00`, `3d`, `1h ago`, `now`."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, tzinfo

_SPAN = re.compile(r"(\d{1,6})\s*([smhdw])(?:\s+ago)?", re.IGNORECASE)
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
FORMS = "a date or time (2026-11-03, 2026-11-03 14:00, 2026-11-03T14:00+01:00), a time ago (30m, 3d, 1h ago, 2w) or now"


class MomentError(ValueError):
    """What was typed names no moment; the message lists the forms that do."""


def parse_moment(text: str, now: datetime, zone: tzinfo | None = None) -> datetime:
    """An aware datetime: a span counts back from `now`; a time without a zone is read in `zone`
    (None: this machine's, with its daylight-saving rules for that date)."""
    typed = text.strip()
    if typed.lower() == "now":
        return now
    span = _SPAN.fullmatch(typed)
    if span is not None:
        try:
            return now - timedelta(seconds=int(span.group(1)) * _SECONDS[span.group(2).lower()])
        except OverflowError:
            raise MomentError(f"{typed!r} reaches back before the year 1; type a shorter time ago") from None
    try:
        parsed = datetime.fromisoformat(typed)
    except ValueError:
        raise MomentError(f"{typed!r} is no time I can read; type {FORMS}") from None
    if parsed.tzinfo is not None:
        return parsed
    return parsed.astimezone() if zone is None else parsed.replace(tzinfo=zone)
