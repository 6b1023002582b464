"""What `studbook metrics` shows: a sparkline per series, the summary table, every step, the JSON."""

from __future__ import annotations

import math
import sys

from hypothesis import example, given
from hypothesis import strategies as st
from studbook.cli import metrics_view
from studbook.v1 import resources_pb2

FINITE = st.floats(allow_nan=False, allow_infinity=False)


@given(st.lists(FINITE, min_size=1, max_size=200), st.integers(min_value=1, max_value=60))
@example([sys.float_info.max] * 3, 1)  # fsum's exact partial sums passed the largest float
def test_a_sparkline_fits_its_width_and_spans_lowest_to_highest(values: list[float], width: int) -> None:
    line = metrics_view.sparkline(values, width)

    assert len(line) == min(len(values), width)
    assert set(line) <= set(metrics_view.BARS)
    if len(values) <= width and min(values) < max(values):
        assert line[values.index(min(values))] == "▁"
        assert line[values.index(max(values))] == "█"


@given(st.lists(FINITE, min_size=2, max_size=30, unique=True))
def test_a_higher_value_never_gets_a_lower_bar(values: list[float]) -> None:
    line = metrics_view.sparkline(values, 30)
    bar_of = dict(zip(values, line))

    ordered = [metrics_view.BARS.index(bar_of[v]) for v in sorted(values)]
    assert ordered == sorted(ordered)


def test_a_flat_series_sits_mid_height_and_a_rising_one_climbs() -> None:
    assert metrics_view.sparkline([0.5] * 4) == "▄▄▄▄"
    assert metrics_view.sparkline([0, 1, 2, 3, 4, 5, 6, 7]) == "▁▂▃▄▅▆▇█"
    assert metrics_view.sparkline([]) == ""


def test_values_that_are_not_finite_leave_gaps() -> None:
    assert metrics_view.sparkline([1.0, math.nan, 2.0, math.inf]) == "▁ █ "
    assert metrics_view.sparkline([math.nan]) == " "


def test_a_long_series_is_averaged_into_the_width() -> None:
    assert metrics_view.sparkline([0.0] * 50 + [1.0] * 50, 10) == "▁▁▁▁▁█████"


def series() -> list[metrics_view.Series]:
    metrics = [resources_pb2.Metric(key="loss", split="train", step=step, value=1 / (step + 1)) for step in range(5)]
    metrics.append(resources_pb2.Metric(key="auc", value=0.93))
    return metrics_view.series_of(metrics)


def test_the_summary_has_a_row_per_key_and_split_with_its_curve() -> None:
    lines = metrics_view.summary_table(series()).splitlines()

    assert lines[0].split() == ["KEY", "SPLIT", "STEPS", "FIRST", "LAST", "MIN", "MAX", "TREND"]
    assert lines[1].split() == ["loss", "train", "5", "1", "0.2", "0.2", "1", "█▄▂▁▁"]
    assert lines[2].split() == ["auc", "-", "-", "0.93", "0.93", "0.93", "0.93"]  # one value: no curve


def test_the_curve_shrinks_to_fit_the_terminal_but_never_below_eight_bars() -> None:
    long = metrics_view.series_of([resources_pb2.Metric(key="loss", step=i, value=i) for i in range(100)])

    wide = metrics_view.summary_table(long, columns=200).splitlines()
    narrow = metrics_view.summary_table(long, columns=78).splitlines()
    tiny = metrics_view.summary_table(long, columns=20).splitlines()

    assert len(wide[1].split()[-1]) == metrics_view.SPARK_WIDTH
    assert max(len(line) for line in narrow) <= 78
    assert len(tiny[1].split()[-1]) == metrics_view.MIN_SPARK


def test_the_steps_table_lists_every_observation() -> None:
    lines = metrics_view.steps_table(series()[:1]).splitlines()

    assert [line.split()[:3] for line in lines[1:]] == [["0", "train", "1"], ["1", "train", "0.5"],
                                                         ["2", "train", "0.3333"], ["3", "train", "0.25"],
                                                         ["4", "train", "0.2"]]  # fmt: skip


def test_json_is_keyed_by_metric_then_split() -> None:
    data = metrics_view.as_json("models/fraud/versions/3", series())

    assert data["version"] == "models/fraud/versions/3"
    assert [p["step"] for p in data["metrics"]["loss"]["train"]] == [0, 1, 2, 3, 4]
    assert data["metrics"]["auc"] == {"": [{"step": None, "value": 0.93, "time": None}]}
    nan = metrics_view.as_json("v", metrics_view.series_of([resources_pb2.Metric(key="x", value=math.nan)]))
    assert nan["metrics"]["x"][""][0]["value"] == "NaN"
