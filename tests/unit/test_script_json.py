"""The shape `--json` gives scripts, whatever the message: numbers, plain enum words, metrics by key."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st
from studbook.cli import output
from studbook.v1 import access_pb2, drops_pb2, events_pb2, registry_pb2, resources_pb2, stages_pb2

CREATED = datetime(2026, 11, 3, 13, 5, 12, tzinfo=UTC)


def version(**fields: object) -> resources_pb2.ModelVersion:
    ready = resources_pb2.VERSION_STATUS_READY
    v = resources_pb2.ModelVersion(name="models/fraud/versions/12", number=12, status=ready, **fields)  # type: ignore[arg-type]
    v.create_time.FromDatetime(CREATED)
    return v


def test_integers_are_numbers_enums_plain_words_times_rfc_3339() -> None:
    data = json.loads(output.json_text(version(total_size=2**40, file_count=3)))

    assert (data["number"], data["total_size"], data["file_count"]) == (12, 2**40, 3)
    assert data["status"] == "ready"
    assert data["change_kind"] == "unspecified"
    assert datetime.fromisoformat(data["create_time"]) == CREATED


def test_a_metric_logged_once_is_an_object_keyed_by_its_name() -> None:
    v = version()
    v.metrics.add(key="auc", value=0.93, split="test", step=12)
    v.metrics.add(key="f1", value=0.5)

    metrics = output.message_dict(v)["metrics"]

    assert metrics["auc"] == {"value": 0.93, "split": "test", "step": 12, "time": None}
    assert metrics["f1"] == {"value": 0.5, "split": "", "step": None, "time": None}


def test_a_metric_on_several_splits_is_a_list_in_the_order_given() -> None:
    v = version()
    v.metrics.add(key="auc", value=0.91, split="test")
    v.metrics.add(key="auc", value=0.95, split="validation")

    assert [(m["split"], m["value"]) for m in output.message_dict(v)["metrics"]["auc"]] == [
        ("test", 0.91), ("validation", 0.95)]  # fmt: skip


@given(st.lists(st.tuples(st.sampled_from(["auc", "loss", "f1"]), st.sampled_from(["", "test", "val"]),
                          st.floats(allow_nan=False, allow_infinity=False)), max_size=8))  # fmt: skip
def test_no_observation_is_lost_or_moved_to_another_key(observations: list[tuple[str, str, float]]) -> None:
    v = version(metrics=[resources_pb2.Metric(key=k, split=s, value=x) for k, s, x in observations])

    metrics = output.message_dict(v)["metrics"]
    flattened = sorted(
        (key, m["split"], m["value"])
        for key, found in metrics.items()
        for m in (found if isinstance(found, list) else [found])
    )

    assert flattened == sorted(observations)
    assert all(isinstance(found, list) == (len(found) > 1) for found in metrics.values() if isinstance(found, list))


def test_nested_messages_and_lists_of_them_are_converted_too() -> None:
    listing = registry_pb2.ListModelVersionsResponse(versions=[version()], total_size=41)
    event = events_pb2.Event(revision=7, role=access_pb2.ROLE_MAINTAINER, version=version())
    promotion = stages_pb2.Promotion(state=stages_pb2.PROMOTION_STATE_PENDING_APPROVAL, target="production")

    listed = output.message_dict(listing)
    happened = json.loads(output.json_line(event))

    assert listed["total_size"] == 41 and listed["versions"][0]["number"] == 12
    assert (happened["revision"], happened["role"], happened["version"]["status"]) == (7, "maintainer", "ready")
    # Stage names are the registry's own words, not an enum: kept as they are.
    assert output.message_dict(promotion)["state"] == "pending_approval"
    assert output.message_dict(promotion)["target"] == "production"


def test_a_diffs_metric_changes_are_keyed_by_name_too() -> None:
    change = registry_pb2.MetricChange(key="auc", split="test", base=0.9, target=0.93,
                                       change=registry_pb2.CHANGE_TYPE_CHANGED)  # fmt: skip
    diff = registry_pb2.VersionDiff(metrics=[change])

    changed = output.message_dict(diff)["metrics"]["auc"]

    assert (changed["base"], changed["target"], changed["change"]) == (0.9, 0.93, "changed")
    assert "step" not in changed  # a change is not an observation


def test_an_enum_number_this_client_does_not_know_stays_a_number() -> None:
    drop = drops_pb2.Drop(name="drops/1")
    drop.state = 99  # type: ignore[assignment]  # as sent by a newer daemon

    assert output.message_dict(drop)["state"] == 99
