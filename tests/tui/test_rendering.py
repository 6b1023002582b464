"""Pure rendering helpers: relative times, braille charts, metric summaries, diff deltas, promote rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from studbook.tui import cells
from studbook.tui.diff_rows import delta_text
from studbook.tui.screens.promote import needs_typed_confirmation, suggested_target
from studbook.tui.timefmt import HIDDEN, TimeFormat, relative
from studbook.tui.version_text import metric_series, metric_summary, version_series
from studbook.tui.widgets.line_chart import BRAILLE_BASE, Series, plot_lines
from studbook.v1 import registry_pb2, resources_pb2

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(2, "just now"), (42, "42s ago"), (300, "5m ago"), (3 * 3600, "3h ago"), (2 * 86400, "2d ago"),
     (200 * 86400, "6mo ago"), (800 * 86400, "2y ago"), (-600, "in 10m")],
)  # fmt: skip
def test_relative_times_read_like_a_person_would_say_them(seconds: int, text: str) -> None:
    assert relative(NOW - timedelta(seconds=seconds), NOW) == text


def test_hidden_times_keep_screenshots_stable() -> None:
    stamp = resources_pb2.ModelVersion().create_time
    stamp.FromDatetime(NOW)
    times = TimeFormat(hidden=True)

    assert times.ago(stamp) == HIDDEN and times.absolute(stamp) == HIDDEN
    assert TimeFormat().ago(resources_pb2.ModelVersion().create_time) == ""


def test_a_rising_series_is_drawn_from_bottom_left_to_top_right() -> None:
    rows = plot_lines([Series("auc", ((0, 0.0), (1, 1.0)))], width=4, height=2)

    assert rows[1][0][0] != " " and rows[0][-1][0] != " "
    assert rows[0][0][0] == " " and rows[1][-1][0] == " "
    assert all(owner in (0, -1) for row in rows for _, owner in row)


@given(
    st.lists(st.tuples(st.floats(-1e6, 1e6), st.floats(-1e6, 1e6)), min_size=1, max_size=50),
    st.integers(1, 40),
    st.integers(1, 12),
)
def test_any_series_fits_the_requested_size_in_braille(points, width: int, height: int) -> None:  # type: ignore[no-untyped-def]
    rows = plot_lines([Series("s", tuple(points))], width, height)

    assert len(rows) == height and all(len(row) == width for row in rows)
    assert all(c == " " or BRAILLE_BASE <= ord(c) <= BRAILLE_BASE + 0xFF for row in rows for c, _ in row)


def _metric(key: str, value: float, step: int | None = None, split: str = "") -> resources_pb2.Metric:
    metric = resources_pb2.Metric(key=key, value=value, split=split)
    if step is not None:
        metric.step = step
    return metric


def test_metric_summary_keeps_the_last_step_and_counts_steps() -> None:
    observations = [_metric("loss", 0.9, 1, "train"), _metric("loss", 0.4, 3, "train"), _metric("loss", 0.6, 2, "train"),
                    _metric("auc", 0.91)]  # fmt: skip

    rows = metric_summary(observations)

    assert [(r.key, r.split, r.value, r.steps) for r in rows] == [
        ("auc", "", 0.91, ""),
        ("loss", "train", 0.4, "3 steps"),
    ]


def test_series_across_versions_and_per_step_are_in_order() -> None:
    versions = [resources_pb2.ModelVersion(number=n, metrics=[_metric("auc", 0.9 + n / 100)]) for n in (3, 1, 2)]
    steps = [_metric("loss", 0.5, 2, "val"), _metric("loss", 0.9, 1, "val"), _metric("auc", 0.8)]

    (across,) = version_series(versions, "auc")
    (curve,) = metric_series(steps, "loss")

    assert [x for x, _ in across.points] == [1.0, 2.0, 3.0]
    assert curve.label == "val" and curve.points == ((1.0, 0.9), (2.0, 0.5))


def _change(base: float, target: float, better: bool | None) -> registry_pb2.MetricChange:
    change = registry_pb2.MetricChange(key="auc", change=registry_pb2.CHANGE_TYPE_CHANGED, base=base, target=target,
                                       delta=target - base, relative_delta=(target - base) / base)  # fmt: skip
    if better is not None:
        change.better = better
    return change


def test_deltas_are_coloured_by_the_daemons_better_field() -> None:
    assert delta_text(_change(0.9, 0.93, True)) == ("+0.03 (+3.3%) ▲", "good")
    assert delta_text(_change(0.3, 0.35, False))[1] == "bad"
    assert delta_text(_change(1.0, 2.0, None)) == ("+1 (+100.0%)", None)
    added = registry_pb2.MetricChange(key="f1", change=registry_pb2.CHANGE_TYPE_ADDED, target=0.7)
    assert delta_text(added) == ("added", "good")


def test_production_and_the_last_stage_need_the_model_name_typed() -> None:
    stages = ["development", "staging", "live"]

    assert needs_typed_confirmation("production", stages)
    assert needs_typed_confirmation("live", stages)
    assert not needs_typed_confirmation("staging", stages)
    assert not needs_typed_confirmation("champion", stages)


def test_the_suggested_target_is_the_next_stage() -> None:
    stages = ["development", "staging", "production"]

    assert suggested_target(resources_pb2.ModelVersion(), stages) == "development"
    assert suggested_target(resources_pb2.ModelVersion(stages=["staging"]), stages) == "production"
    assert suggested_target(resources_pb2.ModelVersion(stages=["production"]), stages) == "production"


def test_the_key_metric_prefers_the_configured_order() -> None:
    metrics = [_metric("recall", 0.7), _metric("f1", 0.8), _metric("auc", 0.9)]

    assert cells.key_metric(metrics, ("auc", "f1")) == "auc 0.9"
    assert cells.key_metric(metrics, ("loss",)) == "recall 0.7"
    assert cells.key_metric([], ("auc",)) == ""
