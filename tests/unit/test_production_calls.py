"""What the client sends for `observe` and `production_record`, and how the CLI reads its
`MODEL@STAGE` and `KEY=VALUE` arguments."""

from __future__ import annotations

import argparse
import math
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from studbook.cli.production_commands import metric_pair, stage_target
from studbook.client import calls, names

WHEN = datetime(2026, 6, 1, 12, tzinfo=UTC)


def test_observe_sends_each_metric_as_a_point_of_the_stage_with_a_fresh_request_id() -> None:
    first = calls.observe("fraud@production", {"auc": 0.91, "latency_ms": 12}, window_end=WHEN, segment="eu")
    second = calls.observe("fraud", {"auc": 0.9}, stage="production")

    request = first.request
    assert (first.service, first.method, first.idempotent) == ("ProductionService", "LogProductionMetrics", True)
    assert (request.model, request.stage) == ("models/fraud", "production")
    assert [(p.key, p.value, p.segment, p.window_end.ToDatetime(tzinfo=UTC)) for p in request.points] == [
        ("auc", 0.91, "eu", WHEN), ("latency_ms", 12.0, "eu", WHEN)]  # fmt: skip
    assert not second.request.points[0].HasField("window_end")
    assert request.request_id and request.request_id != second.request.request_id
    assert calls.observe("fraud@production", {"auc": 1.0}, request_id="mine").request.request_id == "mine"


def test_production_record_sends_its_filters() -> None:
    call = calls.production_record("models/fraud", stage="production", keys=["auc"], segment="eu", since=WHEN,
                                   version=7)  # fmt: skip

    assert (call.request.model, call.request.stage, list(call.request.keys)) == ("models/fraud", "production", ["auc"])
    assert (call.request.segment, call.request.version) == ("eu", "7")
    assert call.request.since.ToDatetime(tzinfo=UTC) == WHEN and not call.request.HasField("until")


@pytest.mark.parametrize(
    ("model", "stage", "says"),
    [("fraud", "", "name a stage"), ("fraud@3", "", "name a stage"), ("fraud@latest", "", "name a stage"),
     ("fraud@production", "staging", "already names stage")],
)  # fmt: skip
def test_a_target_that_names_no_stage_or_two_is_refused_before_sending(model: str, stage: str, says: str) -> None:
    with pytest.raises(names.InvalidName, match=says):
        calls.observe(model, {"auc": 0.9}, stage=stage)
    with pytest.raises(ValueError, match="must be a number"):
        calls.observe("fraud@production", {"auc": "high"})  # type: ignore[dict-item]


@given(st.text(max_size=20), st.text(max_size=20))
def test_metric_pair_reads_key_equals_a_finite_number_and_nothing_else(key: str, value: str) -> None:
    text = f"{key}={value}"
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    key_kept = text.partition("=")[0].strip()
    if key_kept and math.isfinite(number):
        assert metric_pair(text) == (key_kept, number)
    else:
        with pytest.raises(argparse.ArgumentTypeError, match="KEY=NUMBER"):
            metric_pair(text)


def test_stage_target_takes_model_at_stage_only() -> None:
    assert stage_target("fraud@production") == ("fraud", "production")
    assert stage_target("models/fraud/versions/canary") == ("fraud", "canary")
    for text in ("fraud", "fraud@3", "fraud@latest", "a@b@c"):
        with pytest.raises(argparse.ArgumentTypeError):
            stage_target(text)


def test_a_metrics_logged_event_line_names_the_stage_the_count_the_keys_and_the_holders() -> None:
    from studbook.cli import views
    from studbook.v1 import events_pb2, production_pb2

    event = events_pb2.Event(
        revision=12, type="production.metrics_logged", subject="models/fraud/stages/production", actor="serving",
        production_metrics=production_pb2.ProductionMetricsLogged(
            stage="production", count=3, keys=["auc", "latency_ms"],
            versions=["models/fraud/versions/2", "models/fraud/versions/1"]),
    )  # fmt: skip

    assert views.event_line(event).split() == ["#12", "production.metrics_logged", "fraud@production", "3", "points",
                                               "(auc,", "latency_ms)", "to", "fraud@2,", "fraud@1", "by", "serving"]  # fmt: skip
