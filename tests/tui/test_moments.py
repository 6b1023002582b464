"""Reading typed moments, writing times with their zone, and explaining who held a stage when."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st
from studbook.tui.as_of import holdings
from studbook.tui.timefmt import TimeFormat
from studbook.v1 import stages_pb2

NOW = datetime(2026, 11, 3, 14, 5, 12, tzinfo=UTC)
ZONES = st.integers(-14 * 60, 14 * 60).map(lambda minutes: timezone(timedelta(minutes=minutes)))


# Reading typed times is specified once, in tests/unit/test_times.py: the UI uses the same parser.


@given(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1), timezones=ZONES), ZONES)
def test_the_ui_reads_a_zone_less_time_in_its_own_zone(moment: datetime, zone: timezone) -> None:
    times = TimeFormat(lambda: NOW, zone=zone)

    written = times.moment(moment)

    assert times.parse(written) == moment.replace(microsecond=0)
    assert times.parse(written.rsplit(" ", 1)[0]) == moment.replace(microsecond=0)


def test_the_display_zone_is_written_as_an_offset() -> None:
    times = TimeFormat(lambda: NOW, zone=timezone(timedelta(hours=-5, minutes=-30)))

    assert times.moment(NOW) == "2026-11-03 08:35:12 -05:30"
    assert TimeFormat(lambda: NOW, zone=UTC).moment(NOW) == "2026-11-03 14:05:12 +00:00"
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

    assert [h.label for h in found][:1] == [label for label in ("production", "staging", "canary") if label in holders][
        :1
    ]
    assert {h.label: h.version for h in found} == holders
    for holding in found:
        last = max((c for c in made[: max(0, minute + 1)] if c.stage == holding.label), key=lambda c: c.revision)
        assert holding.change == last
