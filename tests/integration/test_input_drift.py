"""Input drift over gRPC against a real daemon: reference statistics at registration and set
afterwards, windows logged against the holder of the stage, their drift and the report."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from studbook.client import Client, StudbookError
from studbook.client.stats import categories, histogram
from studbook.daemon.domain.drift import categories as domain_categories
from studbook.daemon.domain.drift import feature_drift
from studbook.daemon.domain.drift import histogram as domain_histogram

EDGES = [0.0, 18.0, 30.0, 50.0, 120.0]
REFERENCE = {"age": {"edges": EDGES, "counts": [10, 40, 30, 20]}, "country": {"categories": {"de": 12, "fr": 8}}}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def sb(shared_daemon: Any) -> Iterator[Client]:
    with Client(shared_daemon.address) as client:
        yield client


def released(sb: Client, *, reference: Any = REFERENCE) -> str:
    """A model whose version 1 (with `reference`) holds production."""
    model = unique("fraud")
    sb.register(model, uri=f"s3://bucket/{model}/1", git=False, reference_statistics=reference)
    sb.promote(f"{model}@1", "production")
    return model


def test_a_window_is_attributed_to_the_holder_and_its_drift_is_the_oracles(sb: Client) -> None:
    model = released(sb)
    window = {"age": {"edges": EDGES, "counts": [40, 30, 20, 10]}, "country": {"categories": {"de": 2, "it": 18}},
              "income": histogram([1.0, 2.0, 3.0], bins=2)}  # fmt: skip

    drift = sb.log_input_statistics(model, "production", window, segment="eu")

    assert drift.version == f"models/{model}/versions/1" and drift.segment == "eu"
    found = {f.feature: f for f in drift.features}
    age = feature_drift(
        domain_histogram("age", EDGES, [10, 40, 30, 20]), domain_histogram("age", EDGES, [40, 30, 20, 10])
    )
    country = feature_drift(domain_categories("country", {"de": 12, "fr": 8}),
                            domain_categories("country", {"de": 2, "it": 18}))  # fmt: skip
    assert found["age"].psi == pytest.approx(age.psi) and found["age"].ks == pytest.approx(age.ks)
    assert found["country"].psi == pytest.approx(country.psi) and found["country"].ks == pytest.approx(country.ks)
    assert found["income"].no_reference and found["income"].psi == 0
    assert drift.max_psi == pytest.approx(max(age.psi, country.psi))
    assert drift.max_ks == pytest.approx(max(age.ks, country.ks))


def test_windows_follow_promotions_and_the_report_is_newest_first(sb: Client) -> None:
    model = released(sb)
    start = datetime.now(UTC)
    sb.log_input_statistics(model, "production", REFERENCE, window_end=start)
    sb.register(model, uri=f"s3://bucket/{model}/2", git=False)
    sb.promote(f"{model}@2", "production")
    later = sb.log_input_statistics(model, "production", {"age": {"edges": EDGES, "counts": [1, 1, 1, 1]}})

    assert later.version == f"models/{model}/versions/2"
    assert later.features[0].no_reference  # version 2 has no reference
    report = sb.get_input_drift(model, "production")
    assert [w.version.rsplit("/", 1)[1] for w in report] == ["2", "1"]
    assert report[1].max_psi == pytest.approx(0, abs=1e-12)
    assert [w.version for w in sb.get_input_drift(model, "production", version=1)] == [f"models/{model}/versions/1"]
    assert len(sb.get_input_drift(model, "production", last=1)) == 1
    assert sb.get_input_drift(model, "production", since=datetime.now(UTC) + timedelta(minutes=5)) == []


def test_a_window_before_any_holder_or_far_ahead_is_refused(sb: Client) -> None:
    model = released(sb)
    with pytest.raises(StudbookError) as refused:
        sb.log_input_statistics(model, "production", REFERENCE, window_end=datetime(2020, 1, 1, tzinfo=UTC))
    assert refused.value.code == "FAILED_PRECONDITION" and refused.value.reason == "NO_STAGE_HOLDER"
    assert "2020-01-01" in refused.value.message
    with pytest.raises(StudbookError) as refused:
        sb.log_input_statistics(model, "production", REFERENCE, window_end=datetime.now(UTC) + timedelta(hours=1))
    assert refused.value.code == "INVALID_ARGUMENT"


def test_edges_other_than_the_references_are_refused(sb: Client) -> None:
    model = released(sb)
    with pytest.raises(StudbookError) as refused:
        sb.log_input_statistics(model, "production", {"age": histogram([20, 40], [0, 10, 120])})
    assert refused.value.reason == "BINS_MISMATCH" and refused.value.metadata["feature"] == "age"
    with pytest.raises(StudbookError) as refused:
        sb.log_input_statistics(model, "production", {"age": categories(["a"])})
    assert refused.value.reason == "BINS_MISMATCH"
    assert sb.get_input_drift(model, "production") == []


def test_a_retry_with_the_same_request_id_records_nothing_twice(sb: Client) -> None:
    model = released(sb)
    first = sb.log_input_statistics(model, "production", REFERENCE, request_id="window-1")
    again = sb.log_input_statistics(model, "production", REFERENCE, request_id="window-1")

    assert again == first
    assert len(sb.get_input_drift(model, "production")) == 1
    events = []
    for response in sb.watch(0, filter=f'model = "{model}"'):
        if response.HasField("bookmark"):
            break
        events.append(response.event)
    logged = [e for e in events if e.type == "production.inputs_logged"]
    assert len(logged) == 1
    assert logged[0].inputs_logged.stage == "production" and logged[0].inputs_logged.features == 2
    assert logged[0].inputs_logged.version == f"models/{model}/versions/1"


def test_reference_statistics_are_set_once(sb: Client) -> None:
    model = released(sb, reference=None)
    assert sb.log_input_statistics(model, "production", REFERENCE).features[0].no_reference

    assert sb.set_reference_statistics(model, 1, REFERENCE) == 2
    with pytest.raises(StudbookError) as refused:
        sb.set_reference_statistics(model, 1, REFERENCE)
    assert refused.value.code == "ALREADY_EXISTS"
    assert not sb.log_input_statistics(model, "production", REFERENCE).features[0].no_reference


def test_invalid_statistics_are_refused_with_the_feature_named(sb: Client) -> None:
    model = unique("fraud")
    with pytest.raises(StudbookError) as refused:
        sb.register(model, uri="s3://b/x", git=False, reference_statistics={"age": {"edges": [1, 0], "counts": [1]}})
    assert refused.value.reason == "INVALID_STATISTICS" and refused.value.metadata["feature"] == "age"
