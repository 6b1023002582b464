"""Monitors over real gRPC against a daemon started with a policy: a degrading series records one
drift.detected naming the right rollback candidate, a recovery records drift.cleared,
auto_rollback puts the candidate back (or records why not), and input drift breaches too."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator

import grpc
import pytest
from conftest import start_daemon, stop_daemon
from studbook.v1 import (
    events_pb2,
    hooks_pb2,
    hooks_pb2_grpc,
    production_pb2,
    production_pb2_grpc,
    registry_pb2,
    resources_pb2,
    stages_pb2,
)
from support.rpc import Stubs, register, stubs
from support.waiting import wait_for

POLICY = """
[[models]]
pattern = "watch-*"
[models.monitors.production]
metrics = ["auc >= 0.90"]
windows = 3
rank_by = "auc"

[[models]]
pattern = "auto-*"
[models.monitors.production]
metrics = ["auc drop > 5%"]
windows = 2
auto_rollback = true

[[models]]
pattern = "gated-*"
[models.gates.production]
metrics = ["auc >= 0.8"]
rollback_skips = ["beat_holder"]
[models.monitors.production]
metrics = ["auc >= 0.9"]
auto_rollback = true

[[models]]
pattern = "drift-*"
[models.monitors.production]
drift = ["psi > 0.2"]
windows = 2
"""

EDGES = [0.0, 18.0, 30.0, 50.0, 120.0]


@pytest.fixture
def policy_file(short_dir):
    path = short_dir / "policy.toml"
    path.write_text(POLICY)
    return path


@pytest.fixture(params=["duckdb", "postgres"])
def channel(request, daemon_factory, policy_file) -> Iterator[grpc.Channel]:
    """A daemon with the policy, on each backend: the monitor's reads and state are the store's."""
    extra: tuple[str, ...] = ()
    if request.param == "postgres":
        extra = ("--catalog", request.getfixturevalue("postgres_catalog").url)
    daemon = daemon_factory("--policy", str(policy_file), *extra)
    with daemon.channel() as opened:
        yield opened


def production(channel: grpc.Channel) -> production_pb2_grpc.ProductionServiceStub:
    return production_pb2_grpc.ProductionServiceStub(channel)


def observe(channel: grpc.Channel, model: str, value: float) -> production_pb2.LogProductionMetricsResponse:
    """One window (ending now) of production auc for the stage's holder."""
    return production(channel).LogProductionMetrics(production_pb2.LogProductionMetricsRequest(
        model=f"models/{model}", stage="production", points=[production_pb2.ProductionPoint(key="auc", value=value)]))  # fmt: skip


def release(api: Stubs, model: str, evaluation: float, **fields: object) -> None:
    """Registers the next version with its evaluation auc and promotes it into production."""
    version = register(api, model, metrics=[resources_pb2.Metric(key="auc", value=evaluation)],
                       storage_uri=f"s3://b/{model}/{evaluation}", **fields)  # fmt: skip
    api.stages.PromoteModelVersion(stages_pb2.PromoteModelVersionRequest(name=version.name, target="production"))


def holder(api: Stubs, model: str) -> str:
    return dict(api.models.GetModel(registry_pb2.GetModelRequest(name=f"models/{model}")).stage_holders)["production"]


def events(api: Stubs, model: str, kind: str) -> list[events_pb2.Event]:
    """The model's events of one type, read until the replay's bookmark."""
    found = []
    stream = api.events.Watch(events_pb2.WatchRequest(start_revision=0, filter=f'model = "{model}"'), timeout=10)
    for reply in stream:
        if reply.WhichOneof("kind") == "bookmark":
            break
        if reply.event.type == kind:
            found.append(reply.event)
    stream.cancel()
    return found


def test_a_series_degrading_over_three_windows_records_one_breach_naming_the_best_earlier_holder(channel):
    api = stubs(channel)
    model = "watch-a"
    release(api, model, 0.95)
    observe(channel, model, 0.96)  # v1 served well
    release(api, model, 0.97)
    observe(channel, model, 0.91)  # v2 served worse: a plain rollback brings it back
    release(api, model, 0.96)

    quiet = [observe(channel, model, value).changed for value in (0.85, 0.86)]
    breach = observe(channel, model, 0.84).changed
    still = observe(channel, model, 0.83).changed

    assert quiet == [[], []] and list(still) == []
    assert len(breach) == 1
    state = breach[0]
    assert (state.model, state.stage, state.version, state.breached) == (
        f"models/{model}", "production", f"models/{model}/versions/3", True)  # fmt: skip
    (finding,) = state.findings
    assert (finding.rule, finding.subject, finding.breached, finding.windows_in_breach) == (
        "auc >= 0.90",
        "auc",
        True,
        3,
    )
    assert finding.observed == pytest.approx(0.84) and finding.threshold == pytest.approx(0.90)
    candidate = state.candidate
    assert candidate.version == f"models/{model}/versions/1"
    assert candidate.rollback_brings_back == f"models/{model}/versions/2"
    assert [(r.version, r.basis) for r in candidate.ranking] == [
        (f"models/{model}/versions/1", production_pb2.CANDIDATE_BASIS_PRODUCTION),
        (f"models/{model}/versions/2", production_pb2.CANDIDATE_BASIS_PRODUCTION),
    ]
    assert candidate.ranking[0].value == pytest.approx(0.96)
    assert candidate.summary.startswith("v1 held production from ")
    assert candidate.summary.endswith(
        f"with auc 0.96; `studbook rollback {model} production` brings back v2, "
        f"`studbook promote {model}@1 production` brings back v1"
    )
    detected = events(api, model, "drift.detected")
    assert len(detected) == 1
    assert detected[0].actor == "monitors" and detected[0].revision == state.revision
    assert detected[0].monitor_state.revision == state.revision
    assert detected[0].monitor_state.candidate.version == f"models/{model}/versions/1"
    listed = production(channel).ListMonitorStates(production_pb2.ListMonitorStatesRequest(breached_only=True))
    assert [(s.model, s.version) for s in listed.states] == [(f"models/{model}", f"models/{model}/versions/3")]
    asked = production(channel).GetRollbackCandidate(
        production_pb2.GetRollbackCandidateRequest(model=f"models/{model}", stage="production"))  # fmt: skip
    assert (asked.holder, asked.version, asked.summary) == (state.version, candidate.version, candidate.summary)


def test_three_passing_windows_clear_the_breach(channel):
    api = stubs(channel)
    model = "watch-b"
    release(api, model, 0.95)
    for value in (0.8, 0.8, 0.8):
        observe(channel, model, value)

    passing = [observe(channel, model, 0.95).changed for _ in range(3)]

    assert [len(c) for c in passing] == [0, 0, 1]
    cleared = passing[2][0]
    assert not cleared.breached and cleared.findings[0].breached is False
    assert len(events(api, model, "drift.cleared")) == 1
    listed = production(channel).ListMonitorStates(production_pb2.ListMonitorStatesRequest(model=f"models/{model}"))
    assert [(s.breached, s.revision) for s in listed.states] == [(False, cleared.revision)]


def test_auto_rollback_puts_the_candidate_back_with_the_breach_as_its_reason(channel):
    api = stubs(channel)
    model = "auto-a"
    release(api, model, 0.95)
    observe(channel, model, 0.94)
    release(api, model, 0.95)
    observe(channel, model, 0.85)  # more than 5% below its evaluation auc 0.95: one window of two

    changed = observe(channel, model, 0.86).changed

    assert holder(api, model) == f"models/{model}/versions/1"
    detected, cleared = changed
    assert detected.breached and detected.auto_rollback.startswith(f"models/{model}/promotions/")
    assert not cleared.breached and cleared.version == f"models/{model}/versions/1"
    latest = api.stages.GetStageHistory(stages_pb2.GetStageHistoryRequest(model=f"models/{model}")).changes[0]
    assert latest.rollback and latest.actor == "monitors"
    assert "auto_rollback" in latest.reason and "auc drop > 5%" in latest.reason and "v2" in latest.reason
    assert f"revision {detected.revision}" in latest.reason
    # v1 breaching in turn is not rolled back again: versions that both breach would flap.
    observe(channel, model, 0.5)
    (again,) = observe(channel, model, 0.5).changed
    assert again.breached and again.version == f"models/{model}/versions/1"
    assert again.auto_rollback.startswith("not performed: v1 was itself put back by auto_rollback")
    assert holder(api, model) == f"models/{model}/versions/1"


def test_a_rollback_gate_refusing_the_candidate_is_recorded_not_raised(channel, policy_file):
    api = stubs(channel)
    model = "gated-a"
    release(api, model, 0.85)
    release(api, model, 0.95)
    policy_file.write_text(POLICY.replace('metrics = ["auc >= 0.8"]', 'metrics = ["auc >= 0.9"]'))
    # A distinct mtime: the daemon picks up a changed file by it.
    os.utime(policy_file, ns=(1_700_000_000_000_000_000, 1_700_000_000_000_000_000))

    changed = observe(channel, model, 0.5).changed

    (state,) = changed
    assert state.breached and state.auto_rollback.startswith("refused: rollback refused: metrics.auc 0.85 < 0.9")
    assert holder(api, model) == f"models/{model}/versions/2"
    listed = production(channel).ListMonitorStates(production_pb2.ListMonitorStatesRequest(breached_only=True))
    assert [s.auto_rollback for s in listed.states] == [state.auto_rollback]


def statistics(age_counts: list[float]) -> list[production_pb2.FeatureStatistics]:
    return [production_pb2.FeatureStatistics(feature="age", histogram=production_pb2.Histogram(edges=EDGES,
                                                                                             counts=age_counts))]  # fmt: skip


def test_input_statistics_drifting_for_two_windows_breach_naming_the_feature(channel):
    api = stubs(channel)
    model = "drift-a"
    api.versions.RegisterModelVersion(registry_pb2.RegisterModelVersionRequest(
        parent=f"models/{model}", version=resources_pb2.ModelVersion(storage_uri="s3://b/d"),
        reference_statistics=statistics([10, 40, 30, 20])))  # fmt: skip
    api.stages.PromoteModelVersion(stages_pb2.PromoteModelVersionRequest(name=f"models/{model}/versions/1",
                                                                         target="production"))  # fmt: skip

    def window(counts: list[float]) -> production_pb2.LogInputStatisticsResponse:
        return production(channel).LogInputStatistics(production_pb2.LogInputStatisticsRequest(
            model=f"models/{model}", stage="production", features=statistics(counts)))  # fmt: skip

    calm = window([11, 39, 30, 20])
    first = window([40, 30, 20, 10])
    second = window([45, 30, 15, 10])

    assert calm.drift.max_psi < 0.2 and list(calm.changed) == [] and list(first.changed) == []
    (state,) = second.changed
    (finding,) = state.findings
    assert (finding.rule, finding.subject, finding.windows_in_breach) == ("psi > 0.2", "age", 2)
    assert finding.observed == pytest.approx(second.drift.max_psi)
    # No earlier holder: nothing to put back.
    assert state.candidate.version == "" and "no earlier holder" in state.candidate.summary


def test_a_webhook_on_drift_events_gets_the_findings_and_the_candidate_in_its_body(daemon_factory, policy_file,
                                                                                  receiver):  # fmt: skip
    daemon = daemon_factory("--policy", str(policy_file))
    with daemon.channel() as channel:
        hooks_pb2_grpc.HookServiceStub(channel).AddHook(hooks_pb2.AddHookRequest(
            url=receiver.url, events=["drift.*"], name="oncall", secret="a-secret-of-16-chars"))  # fmt: skip
        api = stubs(channel)
        release(api, "watch-h", 0.95)
        observe(channel, "watch-h", 0.96)
        release(api, "watch-h", 0.95)
        for value in (0.5, 0.5, 0.5, 0.95, 0.95, 0.95):
            observe(channel, "watch-h", value)
        got = receiver.wait_for(lambda r: len(r) == 2)

    detected, cleared = (r.json for r in got)
    assert (detected["type"], cleared["type"]) == ("drift.detected", "drift.cleared")
    state = detected["resource"]["monitor_state"]
    assert state["breached"] and state["findings"][0]["rule"] == "auc >= 0.90"
    assert state["findings"][0]["windows_in_breach"] == "3"  # int64 is a string in the API's JSON
    assert state["candidate"]["version"] == "models/watch-h/versions/1"
    assert "brings it back" in state["candidate"]["summary"]
    assert cleared["resource"]["monitor_state"].get("breached", False) is False


def test_on_a_shared_catalog_one_breach_is_recorded_and_acted_on_once(short_dir, policy_file, postgres_catalog):
    """Two daemons log a breaching series at once: the writers' shared lock lets exactly one of
    them see the transition, record drift.detected and roll back."""
    daemons = [start_daemon(short_dir / f"{n}-data", short_dir / f"{n}.sock", "--catalog", postgres_catalog.url,
                            "--policy", str(policy_file)) for n in ("a", "b")]  # fmt: skip
    try:
        channels = [d.channel() for d in daemons]
        api = stubs(channels[0])
        model = "auto-shared"
        release(api, model, 0.95)
        observe(channels[0], model, 0.95)
        release(api, model, 0.95)
        wait_for(lambda: holder(stubs(channels[1]), model).endswith("/2"), "B to see v2 hold production", 30)

        def flood(channel: grpc.Channel) -> None:
            for _ in range(4):
                observe(channel, model, 0.5)

        threads = [threading.Thread(target=flood, args=(c,)) for c in channels]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        detected = [e for e in events(api, model, "drift.detected")
                    if e.monitor_state.version == f"models/{model}/versions/2"]  # fmt: skip
        rollbacks = [c for c in api.stages.GetStageHistory(stages_pb2.GetStageHistoryRequest(
            model=f"models/{model}")).changes if c.rollback]  # fmt: skip
        assert len(detected) == 1
        assert [(c.actor, c.version) for c in rollbacks] == [("monitors", f"models/{model}/versions/1")]
        assert holder(api, model) == f"models/{model}/versions/1"
        for channel in channels:
            channel.close()
    finally:
        for daemon in daemons:
            stop_daemon(daemon)


def test_on_a_shared_catalog_a_rollback_through_one_daemon_clears_the_breach_for_the_other_at_once(
    short_dir, policy_file, postgres_catalog
):
    """A person rolls back the breached holder through daemon A: A checks the stage again before
    the rollback returns, so B, asked right after, already says the breach is over (and its
    badge query, in breach only, lists nothing), with one drift.cleared recorded."""
    daemons = [start_daemon(short_dir / f"{n}-data", short_dir / f"{n}.sock", "--catalog", postgres_catalog.url,
                            "--policy", str(policy_file)) for n in ("a", "b")]  # fmt: skip
    try:
        a, b = (d.channel() for d in daemons)
        api = stubs(a)
        model = "watch-shared"
        release(api, model, 0.95)
        release(api, model, 0.95)
        for value in (0.5, 0.5, 0.5):
            observe(a, model, value)

        def states(breached_only: bool) -> list[production_pb2.MonitorState]:
            return list(production(b).ListMonitorStates(production_pb2.ListMonitorStatesRequest(
                model=f"models/{model}", breached_only=breached_only)).states)  # fmt: skip

        breached = wait_for(lambda: states(True) or None, "B to know the model and see its breach", 30)
        api.stages.RollbackStage(stages_pb2.RollbackStageRequest(model=f"models/{model}", stage="production",
                                                                 reason="v2 breached"))  # fmt: skip
        (after,) = states(False)
        in_breach = states(True)

        assert [(s.breached, s.version) for s in breached] == [(True, f"models/{model}/versions/2")]
        assert not after.breached and after.version == f"models/{model}/versions/1"
        assert in_breach == []
        assert len(events(stubs(b), model, "drift.cleared")) == 1
        a.close()
        b.close()
    finally:
        for daemon in daemons:
            stop_daemon(daemon)


def test_the_candidate_falls_back_to_evaluation_metrics_and_refuses_what_it_cannot_rank(channel):
    api = stubs(channel)
    model = "plain-a"  # no monitor: ranked by the model's usual key metric
    for evaluation in (0.91, 0.97, 0.93):
        release(api, model, evaluation)

    def ask(**fields: object) -> production_pb2.RollbackCandidate:
        return production(channel).GetRollbackCandidate(production_pb2.GetRollbackCandidateRequest(
            model=f"models/{model}", **fields))  # fmt: skip

    found = ask(stage="production")
    lower_first = ask(stage="production", key="-auc")

    assert [(r.version.rsplit("/", 1)[1], r.basis) for r in found.ranking] == [
        ("2", production_pb2.CANDIDATE_BASIS_EVALUATION), ("1", production_pb2.CANDIDATE_BASIS_EVALUATION)]  # fmt: skip
    assert "with evaluation auc 0.97 (no production record)" in found.summary
    assert lower_first.version == f"models/{model}/versions/1"
    for fields, code in [({"stage": "production", "key": "-"}, grpc.StatusCode.INVALID_ARGUMENT),
                         ({"stage": "canary"}, grpc.StatusCode.NOT_FOUND)]:  # fmt: skip
        with pytest.raises(grpc.RpcError) as raised:
            ask(**fields)
        assert raised.value.code() == code


def test_a_person_rolling_back_the_breached_holder_clears_the_breach_at_once(channel):
    api = stubs(channel)
    model = "watch-r"
    release(api, model, 0.95)
    release(api, model, 0.95)
    for value in (0.5, 0.5, 0.5):
        observe(channel, model, value)

    api.stages.RollbackStage(stages_pb2.RollbackStageRequest(model=f"models/{model}", stage="production",
                                                             reason="v2 breached"))  # fmt: skip

    (state,) = (
        production(channel).ListMonitorStates(production_pb2.ListMonitorStatesRequest(model=f"models/{model}")).states
    )
    (cleared,) = events(api, model, "drift.cleared")
    assert not state.breached and state.version == f"models/{model}/versions/1"
    assert cleared.monitor_state.version == f"models/{model}/versions/1" and cleared.actor == "monitors"
