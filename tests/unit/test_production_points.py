"""The rules a production log call's points follow, and the compact attribution kept for retries."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from studbook.daemon.domain.errors import InvalidArgument
from studbook.daemon.domain.names import METRIC_KEY
from studbook.daemon.domain.production import (
    EARLIEST,
    MAX_FUTURE,
    MAX_POINTS_PER_CALL,
    ProductionPoint,
    expand_runs,
    run_lengths,
    validate_points,
)

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)

times = st.datetimes(min_value=datetime(1960, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC))
points = st.builds(
    ProductionPoint,
    key=st.one_of(st.from_regex(METRIC_KEY, fullmatch=True), st.text(max_size=10)),
    value=st.floats(allow_nan=True, allow_infinity=True),
    window_end=st.one_of(st.none(), times),
    segment=st.text(max_size=70),
)


def breaks_a_rule(point: ProductionPoint) -> bool:
    end = point.window_end or NOW
    return (
        not METRIC_KEY.fullmatch(point.key)
        or not math.isfinite(point.value)
        or len(point.segment) > 64
        or not point.segment.isprintable()
        or end > NOW + MAX_FUTURE
        or end < EARLIEST
    )


@given(st.lists(points, min_size=1, max_size=8))
def test_a_batch_passes_exactly_when_no_point_breaks_a_rule_and_is_stamped_with_the_call_time(
    batch: list[ProductionPoint],
) -> None:
    bad = [i for i, p in enumerate(batch) if breaks_a_rule(p)]
    if bad:
        with pytest.raises(InvalidArgument) as raised:
            validate_points(batch, NOW)
        assert raised.value.metadata["field"].startswith(f"points[{bad[0]}].")
        return
    stamped = validate_points(batch, NOW)
    assert [p.window_end for p in stamped] == [p.window_end or NOW for p in batch]
    assert [(p.key, p.value, p.segment) for p in stamped] == [(p.key, p.value, p.segment) for p in batch]


def test_the_bounds_of_a_window_end_and_of_a_batch() -> None:
    assert validate_points([ProductionPoint("auc", 1.0, NOW + MAX_FUTURE)], NOW)
    reasons = {}
    for name, batch in {
        "future": [ProductionPoint("auc", 1.0, NOW + MAX_FUTURE + timedelta(microseconds=1))],
        "past": [ProductionPoint("auc", 1.0, EARLIEST - timedelta(microseconds=1))],
        "empty": [],
        "many": [ProductionPoint("auc", 1.0)] * (MAX_POINTS_PER_CALL + 1),
    }.items():
        with pytest.raises(InvalidArgument) as raised:
            validate_points(batch, NOW)
        reasons[name] = raised.value.reason
    assert reasons == {"future": "WINDOW_END_IN_FUTURE", "past": "WINDOW_END_OUT_OF_RANGE", "empty": "NO_POINTS",
                       "many": "TOO_MANY_POINTS"}  # fmt: skip


@given(st.lists(st.integers(1, 4), max_size=200))
def test_run_lengths_keep_the_attribution_of_every_point_in_order(numbers: list[int]) -> None:
    runs = run_lengths(numbers)

    assert expand_runs(runs) == numbers
    assert all(a[0] != b[0] for a, b in zip(runs, runs[1:]))
