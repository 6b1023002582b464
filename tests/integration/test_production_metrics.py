"""LogProductionMetrics over real gRPC, on each backend: points land on the version that held the
stage at their window_end, a retry records nothing twice, and a restart keeps them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from conftest import stop_daemon
from google.protobuf.timestamp_pb2 import Timestamp
from studbook.v1 import (
    access_pb2,
    access_pb2_grpc,
    events_pb2,
    production_pb2,
    production_pb2_grpc,
    resources_pb2,
    stages_pb2,
)
from support.rpc import Stubs, error_info, register, stubs


@pytest.fixture(params=["duckdb", "postgres"])
def served(request: pytest.FixtureRequest, daemon_factory) -> Iterator[tuple[object, tuple[str, ...]]]:  # type: ignore[no-untyped-def]
    """A fresh daemon on each backend, and the arguments that start it again on the same catalog."""
    extra: tuple[str, ...] = ()
    if request.param == "postgres":
        extra = ("--catalog", request.getfixturevalue("postgres_catalog").url)
    yield daemon_factory(*extra), extra


def token(channel: grpc.Channel, name: str, role: str) -> tuple[tuple[str, str], ...]:
    """Call metadata bearing a new token of `role`."""
    reply = access_pb2_grpc.AccessServiceStub(channel).CreateToken(
        access_pb2.CreateTokenRequest(display_name=name, role=access_pb2.Role.Value(f"ROLE_{role.upper()}"))
    )
    return (("authorization", f"Bearer {reply.secret}"),)


def stamp(value: datetime) -> Timestamp:
    message = Timestamp()
    message.FromDatetime(value)
    return message


def point(key: str, value: float, at: datetime | None = None, segment: str = "") -> production_pb2.ProductionPoint:
    message = production_pb2.ProductionPoint(key=key, value=value, segment=segment)
    if at is not None:
        message.window_end.CopyFrom(stamp(at))
    return message


def log(channel: grpc.Channel, model: str, stage: str, points: list[production_pb2.ProductionPoint],
        request_id: str = "", **call: object) -> production_pb2.LogProductionMetricsResponse:  # fmt: skip
    return production_pb2_grpc.ProductionServiceStub(channel).LogProductionMetrics(
        production_pb2.LogProductionMetricsRequest(model=f"models/{model}", stage=stage, points=points,
                                                   request_id=request_id), **call)  # fmt: skip


def promote(api: Stubs, model: str, number: int, stage: str = "production") -> None:
    api.stages.PromoteModelVersion(stages_pb2.PromoteModelVersionRequest(name=f"models/{model}/versions/{number}",
                                                                         target=stage))  # fmt: skip


def change_times(api: Stubs, model: str, stage: str = "production") -> list[datetime]:
    """The times of the stage's changes, oldest first, as the daemon recorded them."""
    history = api.stages.GetStageHistory(stages_pb2.GetStageHistoryRequest(model=f"models/{model}", stage=stage))
    return [c.time.ToDatetime(tzinfo=UTC) for c in reversed(history.changes)]


def record(
    channel: grpc.Channel, model: str, stage: str = "production", **query: object
) -> production_pb2.ProductionRecord:
    return production_pb2_grpc.ProductionServiceStub(channel).GetProductionRecord(
        production_pb2.GetProductionRecordRequest(model=f"models/{model}", stage=stage, **query))  # fmt: skip


def series_of(found: production_pb2.ProductionRecord) -> dict[str, dict[tuple[str, str], list[float]]]:
    """version -> (key, segment) -> values, oldest first."""
    return {h.version: {(s.key, s.segment): [x.value for x in s.samples] for s in h.series} for h in found.holders}


def promoted_and_rolled_back(api: Stubs) -> list[datetime]:
    """fraud: v1 takes production, v2 replaces it, a rollback puts v1 back. Each has its own
    evaluation auc (and a validation one, which is not the reference)."""
    for i in (1, 2):
        metrics = [resources_pb2.Metric(key="auc", value=0.9 + i / 100, step=2),
                   resources_pb2.Metric(key="auc", value=0.1, step=1)]  # fmt: skip
        metrics.append(resources_pb2.Metric(key="auc", value=0.5, split="validation"))
        register(api, "fraud", storage_uri=f"s3://b/{i}", metrics=metrics)
        promote(api, "fraud", i)
    api.stages.RollbackStage(stages_pb2.RollbackStageRequest(model="models/fraud", stage="production"))
    return change_times(api, "fraud")


def test_points_across_a_promotion_and_a_rollback_land_on_their_holders(served) -> None:  # type: ignore[no-untyped-def]
    daemon, _ = served
    us = timedelta(microseconds=1)
    with daemon.channel() as channel:
        api = stubs(channel)
        first, second, back = promoted_and_rolled_back(api)
        sent = [point("auc", 0.91, first), point("auc", 0.90, second - us), point("auc", 0.85, second),
                point("latency_ms", 12.0, back - us, "eu"), point("auc", 0.92, back), point("auc", 0.93)]  # fmt: skip
        watch = api.events.Watch(
            events_pb2.WatchRequest(start_revision=-1, filter='type = "production.metrics_logged"')
        )
        reply = log(channel, "fraud", "production", sent)
        event = next(r.event for r in watch if r.HasField("event"))
        watch.cancel()
        whole = record(channel, "fraud")
        only_v2_auc = record(channel, "fraud", keys=["auc"], version="2")
        eu = record(channel, "fraud", segment="eu")
        window = record(channel, "fraud", since=stamp(second), until=stamp(back))
        only_v1 = record(channel, "fraud", version="models/fraud/versions/1")
        by_stage_name = record(channel, "fraud", version="production")

    v1, v2 = "models/fraud/versions/1", "models/fraud/versions/2"
    assert reply.recorded == 6
    assert list(reply.versions) == [v1, v1, v2, v2, v1, v1]
    assert not reply.changed
    assert event.subject == "models/fraud/stages/production" and event.model == "fraud"
    logged = event.production_metrics
    assert (logged.stage, logged.count, list(logged.versions), list(logged.keys)) == (
        "production", 6, [v1, v2], ["auc", "latency_ms"])  # fmt: skip
    assert logged.first_window_end.ToDatetime(tzinfo=UTC) == first
    assert logged.last_window_end.ToDatetime(tzinfo=UTC) >= back
    assert series_of(whole) == {
        v1: {("auc", ""): [0.91, 0.90, 0.92, 0.93]},
        v2: {("auc", ""): [0.85], ("latency_ms", "eu"): [12.0]},
    }
    assert [[(t.start.ToDatetime(tzinfo=UTC), t.rollback) for t in h.tenures] for h in whole.holders] == [
        [(first, False), (back, True)], [(second, False)]]  # fmt: skip
    assert not whole.holders[0].tenures[-1].HasField("end")
    assert whole.holders[1].tenures[0].end.ToDatetime(tzinfo=UTC) == back
    assert all(t.promotion.startswith("models/fraud/promotions/") for h in whole.holders for t in h.tenures)
    assert [dict(h.evaluation) for h in whole.holders] == [{"auc": 0.91}, {"auc": 0.92}]
    assert series_of(only_v2_auc) == {v2: {("auc", ""): [0.85]}}
    assert series_of(eu) == {v1: {}, v2: {("latency_ms", "eu"): [12.0]}}
    # The window [second, back) is v2's tenure alone.
    assert series_of(window) == {v2: {("auc", ""): [0.85], ("latency_ms", "eu"): [12.0]}}
    assert series_of(by_stage_name) == series_of(only_v1)
    assert [h.version for h in only_v1.holders] == [v1]


def test_a_retry_with_the_same_request_id_records_nothing_twice_even_after_a_restart(served, daemon_factory) -> None:  # type: ignore[no-untyped-def]
    daemon, extra = served
    with daemon.channel() as channel:
        api = stubs(channel)
        first, second, _ = promoted_and_rolled_back(api)
        batch = [point("auc", 0.9, first), point("auc", 0.8, second)]
        once = log(channel, "fraud", "production", batch, request_id="batch-7")
        twice = log(channel, "fraud", "production", batch, request_id="batch-7")
        other = log(channel, "fraud", "production", batch[:1], request_id="batch-8")
        events = list_events(api)
    stop_daemon(daemon)
    again = daemon_factory(*extra)
    with again.channel() as channel:
        after_restart = log(channel, "fraud", "production", batch, request_id="batch-7")
        events_after = list_events(stubs(channel))
        kept = record(channel, "fraud")

    assert (once.recorded, list(once.versions)) == (2, ["models/fraud/versions/1", "models/fraud/versions/2"])
    assert twice == once and after_restart == once
    assert other.recorded == 1
    assert series_of(kept) == {"models/fraud/versions/1": {("auc", ""): [0.9, 0.9]},
                               "models/fraud/versions/2": {("auc", ""): [0.8]}}  # fmt: skip
    assert [e.production_metrics.count for e in events] == [2, 1]
    assert events_after == events


def list_events(api: Stubs) -> list[events_pb2.Event]:
    found = []
    for reply in api.events.Watch(
        events_pb2.WatchRequest(start_revision=0, filter='type = "production.metrics_logged"')
    ):
        if reply.HasField("bookmark"):
            break
        found.append(reply.event)
    return found


def test_a_time_no_version_held_the_stage_is_refused_and_nothing_is_recorded(served) -> None:  # type: ignore[no-untyped-def]
    daemon, _ = served
    with daemon.channel() as channel:
        api = stubs(channel)
        register(api, "fraud")
        with pytest.raises(grpc.RpcError) as never_held:
            log(channel, "fraud", "production", [point("auc", 0.9)])
        promote(api, "fraud", 1)
        (held_from,) = change_times(api, "fraud")
        before = held_from - timedelta(seconds=1)
        with pytest.raises(grpc.RpcError) as before_first:
            log(channel, "fraud", "production", [point("auc", 0.9, held_from), point("auc", 0.8, before)])
        events = list_events(api)

    assert never_held.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_info(never_held.value).reason == "NO_STAGE_HOLDER"
    assert "promote one first" in never_held.value.details()
    info = error_info(before_first.value)
    assert (info.reason, info.metadata["stage"]) == ("NO_STAGE_HOLDER", "production")
    assert info.metadata["time"] == before.isoformat(timespec="seconds").replace("+00:00", "Z")
    assert events == []


@pytest.mark.parametrize(
    ("points", "reason"),
    [
        ([], "NO_POINTS"),
        ([point("auc", 0.9)] * 10_001, "TOO_MANY_POINTS"),
        ([point("9auc", 0.9)], "INVALID_METRIC"),
        ([point("auc", float("nan"))], "INVALID_METRIC"),
        ([point("auc", 0.9, segment="x" * 65)], "INVALID_SEGMENT"),
        # Built when the test runs, not when it is collected (minutes earlier in a long run).
        (lambda: [point("auc", 0.9, datetime.now(UTC) + timedelta(minutes=5))], "WINDOW_END_IN_FUTURE"),
        ([point("auc", 0.9, datetime(1969, 1, 1, tzinfo=UTC))], "WINDOW_END_OUT_OF_RANGE"),
        ([production_pb2.ProductionPoint(key="auc", value=0.9, window_end=Timestamp(seconds=10**12))], "INVALID_TIME"),
        ([point("auc", 0.9, segment="eu\x00")], "INVALID_SEGMENT"),
    ],
)
def test_a_malformed_batch_is_refused_with_its_reason(shared_daemon, model_id, points, reason) -> None:  # type: ignore[no-untyped-def]
    with shared_daemon.channel() as channel:
        api = stubs(channel)
        register(api, model_id)
        promote(api, model_id, 1)
        with pytest.raises(grpc.RpcError) as raised:
            log(channel, model_id, "production", points() if callable(points) else points)

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_info(raised.value).reason == reason


def test_an_unknown_stage_or_model_is_not_found(shared_daemon, model_id) -> None:  # type: ignore[no-untyped-def]
    with shared_daemon.channel() as channel:
        register(stubs(channel), model_id)
        with pytest.raises(grpc.RpcError) as stage:
            log(channel, model_id, "canary", [point("auc", 0.9)])
        with pytest.raises(grpc.RpcError) as model:
            log(channel, "no-such-model", "production", [point("auc", 0.9)])

    assert (stage.value.code(), error_info(stage.value).reason) == (grpc.StatusCode.NOT_FOUND, "STAGE_NOT_FOUND")
    assert error_info(model.value).reason == "MODEL_NOT_FOUND"


def test_a_viewer_is_refused_and_a_contributor_logs(shared_daemon, model_id) -> None:  # type: ignore[no-untyped-def]
    with shared_daemon.channel() as channel:
        api = stubs(channel)
        register(api, model_id)
        promote(api, model_id, 1)
        viewer = token(channel, f"{model_id}-viewer", "viewer")
        contributor = token(channel, f"{model_id}-serving", "contributor")
        with pytest.raises(grpc.RpcError) as refused:
            log(channel, model_id, "production", [point("auc", 0.9)], metadata=viewer)
        logged = log(channel, model_id, "production", [point("auc", 0.9)], metadata=contributor)

    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert logged.recorded == 1


def test_a_record_of_a_stage_nobody_held_is_empty_and_bad_queries_say_what_to_fix(shared_daemon, model_id) -> None:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    with shared_daemon.channel() as channel:
        register(stubs(channel), model_id)
        empty = record(channel, model_id)
        refusals = {}
        for name, query in {
            "range": {"since": stamp(now), "until": stamp(now - timedelta(hours=1))},
            "key": {"keys": ["9bad"]},
            "version": {"version": "7"},
            "other model": {"version": "models/other/versions/1"},
            "stage": {"stage": "canary"},
        }.items():
            with pytest.raises(grpc.RpcError) as raised:
                record(channel, model_id, **query)
            refusals[name] = error_info(raised.value).reason

    assert list(empty.holders) == [] and empty.stage == "production"
    assert refusals == {"range": "INVALID_TIME_RANGE", "key": "INVALID_METRIC", "version": "VERSION_NOT_FOUND",
                        "other model": "INVALID_NAME", "stage": "STAGE_NOT_FOUND"}  # fmt: skip


def test_points_logged_between_stage_changes_follow_each_change(served) -> None:  # type: ignore[no-untyped-def]
    daemon, _ = served
    with daemon.channel() as channel:
        api = stubs(channel)
        for i in (1, 2):
            register(api, "fraud", storage_uri=f"s3://b/{i}")
        promote(api, "fraud", 1)
        answers = [log(channel, "fraud", "production", [point("auc", 0.9)]).versions[0]]
        promote(api, "fraud", 2)
        answers.append(log(channel, "fraud", "production", [point("auc", 0.8)]).versions[0])
        api.stages.RollbackStage(stages_pb2.RollbackStageRequest(model="models/fraud", stage="production"))
        answers.append(log(channel, "fraud", "production", [point("auc", 0.9)]).versions[0])

    assert answers == ["models/fraud/versions/1", "models/fraud/versions/2", "models/fraud/versions/1"]


def test_concurrent_retries_of_one_request_record_it_once(shared_daemon, model_id) -> None:  # type: ignore[no-untyped-def]
    from concurrent.futures import ThreadPoolExecutor

    with shared_daemon.channel() as channel:
        api = stubs(channel)
        register(api, model_id)
        promote(api, model_id, 1)
        batch = [point("auc", 0.9), point("auc", 0.8)]
        with ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(lambda _: log(channel, model_id, "production", batch, request_id="same"),
                                    range(16)))  # fmt: skip
        found = record(channel, model_id)

    assert {(a.recorded, tuple(a.versions)) for a in answers} == {(2, (f"models/{model_id}/versions/1",) * 2)}
    assert series_of(found) == {f"models/{model_id}/versions/1": {("auc", ""): [0.9, 0.8]}}


def test_a_daemon_attributes_by_a_stage_change_another_daemon_made_on_their_shared_catalog(
    short_dir, postgres_catalog
) -> None:  # type: ignore[no-untyped-def]
    from conftest import start_daemon

    daemons = [start_daemon(short_dir / f"{name}-data", short_dir / f"{name}.sock", "--catalog", postgres_catalog.url)
               for name in ("a", "b")]  # fmt: skip
    try:
        with daemons[0].channel() as first, daemons[1].channel() as second:
            register(stubs(first), "fraud", storage_uri="s3://b/1")
            register(stubs(first), "fraud", storage_uri="s3://b/2")
            promote(stubs(first), "fraud", 1)
            before = log(first, "fraud", "production", [point("auc", 0.9)]).versions[0]
            promote(stubs(second), "fraud", 2)
            after = log(first, "fraud", "production", [point("auc", 0.8)]).versions[0]
    finally:
        for daemon in daemons:
            stop_daemon(daemon)

    assert (before, after) == ("models/fraud/versions/1", "models/fraud/versions/2")
