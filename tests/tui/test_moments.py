"""Reading typed moments, writing times with their zone, and explaining who held a stage when."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from studbook.tui.as_of import holdings
from studbook.tui.moments import MomentError, parse_moment
from studbook.tui.timefmt import TimeFormat, stamp_text, zone_label
from studbook.v1 import stages_pb2

NOW = datetime(2026, 11, 3, 14, 5, 12, tzinfo=timezone.utc)
ZONES = st.integers(-14 * 60, 14 * 60).map(lambda minutes: timezone(timedelta(minutes=minutes)))
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


@given(st.integers(0, 999_999), st.sampled_from(sorted(UNITS)), st.booleans(), st.booleans())
def test_a_span_counts_back_from_now(amount: int, unit: str, ago: bool, spaced: bool) -> None:
    typed = f"{amount}{' ' if spaced else ''}{unit}{' ago' if ago else ''}"
    back = timedelta(seconds=amount * UNITS[unit])

    if back < NOW - datetime.min.replace(tzinfo=timezone.utc):
        assert parse_moment(typed, NOW) == NOW - back
    else:
        with pytest.raises(MomentError, match="before the year 1"):
            parse_moment(typed, NOW)


@given(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1)), ZONES)
def test_a_time_without_a_zone_is_read_in_the_display_zone(moment: datetime, zone: timezone) -> None:
    typed = moment.strftime("%Y-%m-%d %H:%M:%S")

    parsed = parse_moment(typed, NOW, zone)

    assert parsed.utcoffset() == zone.utcoffset(None) and parsed.replace(tzinfo=None) == moment.replace(microsecond=0)


@given(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1), timezones=ZONES), ZONES)
def test_a_time_with_a_zone_keeps_it_whatever_the_display_zone(moment: datetime, display: timezone) -> None:
    assert parse_moment(moment.isoformat(), NOW, display) == moment


@pytest.mark.parametrize("typed", ["", "yesterday", "3 days", "1y", "-3d", "2026-13-01", "ago"])
def test_anything_else_is_refused_with_the_forms_that_work(typed: str) -> None:
    with pytest.raises(MomentError, match="1h ago"):
        parse_moment(typed, NOW)


def test_now_is_now() -> None:
    assert parse_moment(" NOW ", NOW) == NOW


@given(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1), timezones=ZONES), ZONES)
def test_a_written_time_names_its_zone_and_reads_back_as_the_same_moment(moment: datetime, zone: timezone) -> None:
    text = stamp_text(moment, zone)
    day, clock, label = text.split(" ")

    offset = zone.utcoffset(None)
    assert label == ("UTC" if not offset else zone_label(moment.astimezone(zone)))
    read = datetime.fromisoformat(f"{day} {clock}{'+00:00' if label == 'UTC' else label[3:]}")
    assert read == moment.replace(microsecond=0)


def test_the_display_zone_is_written_as_an_offset() -> None:
    times = TimeFormat(lambda: NOW, zone=timezone(timedelta(hours=-5, minutes=-30)))

    assert times.moment(NOW) == "2026-11-03 08:35:12 UTC-05:30"
    assert TimeFormat(lambda: NOW, zone=timezone.utc).moment(NOW) == "2026-11-03 14:05:12 UTC"
    assert TimeFormat(lambda: NOW, hidden=True).moment(NOW) == "…"


def _change(stage: str, number: int, minute: int, revision: int) -> stages_pb2.StageChange:
    change = stages_pb2.StageChange(stage=stage, version=f"models/m/versions/{number}", revision=revision)
    change.time.FromDatetime(NOW + timedelta(minutes=minute))
    return change


@given(st.lists(st.tuples(st.sampled_from(["production", "staging", "canary"]), st.integers(1, 5)), max_size=12),
       st.integers(-1, 13))  # fmt: skip
def test_each_holder_is_explained_by_its_last_change_at_or_before_the_moment(changes, minute) -> None:  # type: ignore[no-untyped-def]
    # One change a minute, oldest first; the history lists them newest first.
    made = [_change(stage, number, index, index + 1) for index, (stage, number) in enumerate(changes)]
    at = NOW + timedelta(minutes=minute)
    holders = {c.stage: c.version for c in made[: max(0, minute + 1)]}  # what the daemon would answer

    found = holdings(holders, reversed(made), at)

    assert [h.label for h in found][:1] == [l for l in ("production", "staging", "canary") if l in holders][:1]
    assert {h.label: h.version for h in found} == holders
    for holding in found:
        last = max((c for c in made[: max(0, minute + 1)] if c.stage == holding.label), key=lambda c: c.revision)
        assert holding.change == last
