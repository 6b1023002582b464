"""The demo's simulated clock: spread over the span, never ahead of real time, real once its writes are done."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from studbook.daemon.app.clock import SimulatedClock

REAL = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


@given(days=st.floats(min_value=0.01, max_value=60), writes=st.integers(min_value=1, max_value=500),
       extra=st.integers(min_value=0, max_value=20))  # fmt: skip
def test_times_rise_from_the_span_back_to_real_time_and_then_follow_it(days: float, writes: int, extra: int) -> None:
    span = timedelta(days=days)
    clock = SimulatedClock(span, writes, real=lambda: REAL)
    seen = [clock()]
    for _ in range(writes + extra):
        clock.advance()
        seen.append(clock())

    assert seen[0] == REAL - span
    assert seen == sorted(seen) and all(t <= REAL for t in seen)
    assert seen[writes] == REAL and not clock.running


def test_it_follows_the_real_clock_once_caught_up() -> None:
    now = [REAL]
    clock = SimulatedClock(timedelta(days=14), 2, real=lambda: now[0])
    clock.advance()
    halfway = clock()
    clock.advance()
    now[0] = REAL + timedelta(hours=3)

    assert halfway == REAL - timedelta(days=7)
    assert clock() == REAL + timedelta(hours=3)


@pytest.mark.parametrize(("span", "writes"), [(timedelta(0), 3), (timedelta(days=1), 0)])
def test_a_clock_without_span_or_writes_is_refused(span: timedelta, writes: int) -> None:
    with pytest.raises(ValueError):
        SimulatedClock(span, writes)
