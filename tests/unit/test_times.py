"""The one reader of times typed on the command line, and how printed times show their zone."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from studbook.cli import times

NOW = datetime(2026, 11, 3, 13, 5, 12, tzinfo=UTC)
SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


@pytest.fixture(autouse=True)
def local_zone() -> Iterator[None]:
    times.use_utc(False)
    yield
    times.use_utc(False)


@given(
    st.integers(min_value=0, max_value=10**5),  # 10**5 weeks: about 1900 years back
    st.sampled_from(sorted(SECONDS)),
    st.sampled_from(["", " ", "  "]),
    st.sampled_from(["", " ago", " AGO", "  ago"]),
)
def test_a_span_reaches_back_from_now(count: int, unit: str, gap: str, ago: str) -> None:
    assert times.parse_moment(f"{count}{gap}{unit}{ago}", now=NOW) == NOW - timedelta(seconds=count * SECONDS[unit])


@pytest.mark.parametrize(
    ("text", "back"),
    [("1h", timedelta(hours=1)), ("30m", timedelta(minutes=30)), ("3d", timedelta(days=3)),
     ("2w", timedelta(weeks=2)), ("1h ago", timedelta(hours=1)), ("90s", timedelta(seconds=90)),
     ("now", timedelta(0)), (" NOW ", timedelta(0))],
)  # fmt: skip
def test_the_forms_a_person_types(text: str, back: timedelta) -> None:
    assert times.parse_moment(text, now=NOW) == NOW - back


@given(st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)))
def test_an_iso_time_with_a_zone_is_that_instant(moment: datetime) -> None:
    assert times.parse_moment(moment.isoformat(), now=NOW) == moment
    assert times.parse_moment(moment.isoformat().replace("+00:00", "Z"), now=NOW) == moment


def test_an_iso_time_without_a_zone_is_local_time_or_utc_with_utc() -> None:
    local = times.parse_moment("2026-01-31 09:30", now=NOW)
    times.use_utc(True)
    utc = times.parse_moment("2026-01-31T09:30", now=NOW)

    assert local.tzinfo is not None and local.replace(tzinfo=None) == datetime(2026, 1, 31, 9, 30)
    assert local.utcoffset() == datetime(2026, 1, 31, 9, 30).astimezone().utcoffset()
    assert utc == datetime(2026, 1, 31, 9, 30, tzinfo=UTC)
    assert times.parse_moment("2026-01-31", now=NOW) == datetime(2026, 1, 31, tzinfo=UTC)


@pytest.mark.parametrize("text", ["", "1", "h", "1.5h", "-3d", "1y", "1h30m", "in 1h", "last week", "3 days ago",
                                  "2026-13-01", "31/01/2026", "1h agoo"])  # fmt: skip
def test_anything_else_is_refused_naming_the_accepted_forms(text: str) -> None:
    with pytest.raises(times.InvalidTime, match="1h.*ago.*2026-01-31"):
        times.parse_moment(text, now=NOW)


@given(st.text(max_size=20))
def test_any_text_is_read_or_refused_with_a_message_never_a_crash(text: str) -> None:
    try:
        parsed = times.parse_moment(text, now=NOW)
    except times.InvalidTime as error:
        assert str(error)
    else:
        assert parsed.tzinfo is not None


def test_today_and_yesterday_are_the_start_of_the_day_in_the_display_zone() -> None:
    times.use_utc(True)
    assert times.parse_moment("today", now=NOW) == datetime(2026, 11, 3, tzinfo=UTC)
    assert times.parse_moment(" Yesterday ", now=NOW) == datetime(2026, 11, 2, tzinfo=UTC)


def test_a_span_too_long_for_the_calendar_says_so() -> None:
    with pytest.raises(times.InvalidTime, match="shorter span"):
        times.parse_moment("999999999w", now=NOW)


def test_printed_times_carry_their_offset() -> None:
    plus_one = timezone(timedelta(hours=1))
    times.use_utc(True)
    assert times.format_moment(NOW) == "2026-11-03 13:05:12 +00:00"
    assert times.format_moment(NOW.astimezone(plus_one)) == "2026-11-03 13:05:12 +00:00"
    times.use_utc(False)
    shown = times.format_moment(NOW)
    local = NOW.astimezone()
    assert shown == f"{local:%Y-%m-%d %H:%M:%S} {times.offset(local)}"


@given(st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59))
def test_offsets_are_spelled_as_rfc_3339_does(minutes: int) -> None:
    zone = timezone(timedelta(minutes=minutes))
    spelled = times.offset(NOW.astimezone(zone))

    assert datetime.fromisoformat(f"2026-11-03T00:00:00{spelled}").utcoffset() == timedelta(minutes=minutes)
    assert len(spelled) == 6 and spelled[0] in "+-" and spelled[3] == ":"


@pytest.fixture
def in_berlin(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    import time

    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("in_berlin")
def test_local_time_is_the_zone_of_tz_with_its_offset_on_that_date() -> None:
    assert times.format_moment(NOW) == "2026-11-03 14:05:12 +01:00"
    assert times.format_moment(datetime(2026, 7, 1, 12, tzinfo=UTC)) == "2026-07-01 14:00:00 +02:00"
    assert times.parse_moment("2026-07-01 14:00", now=NOW) == datetime(2026, 7, 1, 12, tzinfo=UTC)
    assert times.parse_moment("yesterday", now=NOW) == datetime(2026, 11, 1, 23, tzinfo=UTC)
    # The day summer time ended (2026-10-25) began at +02:00, though noon was at +01:00.
    assert times.parse_moment("today", now=datetime(2026, 10, 25, 12, tzinfo=UTC)) == datetime(
        2026, 10, 24, 22, tzinfo=UTC)  # fmt: skip
    times.use_utc(True)
    assert times.format_moment(NOW) == "2026-11-03 13:05:12 +00:00"
