"""RenameModel over real gRPC, on each catalog backend: everything a model holds follows it to the
new name, the old name is gone, a restart keeps it, the audit chain still verifies, and what would
leave things inconsistent is refused with a reason."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from studbook.v1 import (
    audit_pb2,
    audit_pb2_grpc,
    events_pb2,
    hooks_pb2,
    hooks_pb2_grpc,
    lineage_pb2,
    production_pb2,
    production_pb2_grpc,
    registry_pb2,
    resources_pb2,
    stages_pb2,
)
from support.rpc import Stubs, error_info, register, stubs
from support.waiting import wait_for

POLICY = """
[[models]]
pattern = "held-*"
[models.gates.production]
approvals = 1

[[models]]
pattern = "watched-*"
[models.monitors.production]
metrics = ["auc >= 0.90"]
"""


@pytest.fixture(params=["duckdb", "postgres"])
def start(request: pytest.FixtureRequest, daemon_factory, short_dir: Path):  # type: ignore[no-untyped-def]
    """Starts (and starts again) a daemon on one backend, with a policy holding `held-*` for approval."""
    policy = short_dir / "policy.toml"
    policy.write_text(POLICY)
    extra = ["--policy", str(policy)]
    if request.param == "postgres":
        extra += ["--catalog", request.getfixturevalue("postgres_catalog").url]

    def started():  # type: ignore[no-untyped-def]
        return daemon_factory(*extra)

    return started


@pytest.fixture
def daemon(start):  # type: ignore[no-untyped-def]
    return start()


@pytest.fixture
def api(daemon) -> Iterator[Stubs]:  # type: ignore[no-untyped-def]
    with daemon.channel() as channel:
        yield stubs(channel)


def rename(api: Stubs, old: str, new: str, **fields: str) -> resources_pb2.Model:
    return api.models.RenameModel(registry_pb2.RenameModelRequest(name=f"models/{old}", new_model_id=new, **fields))


def refused(call) -> grpc.RpcError:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.RpcError) as raised:
        call()
    return raised.value


def get_model(api: Stubs, model: str) -> resources_pb2.Model:
    return api.models.GetModel(registry_pb2.GetModelRequest(name=f"models/{model}"))


def promote(api: Stubs, name: str, target: str) -> stages_pb2.Promotion:
    return api.stages.PromoteModelVersion(stages_pb2.PromoteModelVersionRequest(name=name, target=target,
                                                                               reason="best so far"))  # fmt: skip


def search(api: Stubs, parent: str, text: str) -> list[str]:
    found = api.versions.ListModelVersions(registry_pb2.ListModelVersionsRequest(parent=parent, filter=text))
    return sorted(v.name for v in found.versions)


def make_churn(api: Stubs) -> None:
    """churn: two versions (2 fine-tuned from 1), metrics with a series, staging, production, an
    alias and a promotion history; `scorer` 1 is derived from churn 2 (lineage on the other end)."""
    api.models.CreateModel(registry_pb2.CreateModelRequest(
        model_id="churn", model=resources_pb2.Model(description="who leaves", tags={"team": "growth"})))  # fmt: skip
    register(api, "churn", tags={"team": "risk"}, metrics=[resources_pb2.Metric(key="auc", value=0.81)])
    register(api, "churn", tags={"team": "risk", "data": "2026-02"},
             metrics=[resources_pb2.Metric(key="auc", value=0.93)],
             parents=[resources_pb2.ParentVersion(version="models/churn/versions/1")])  # fmt: skip
    api.versions.LogMetrics(registry_pb2.LogMetricsRequest(name="models/churn/versions/2", metrics=[
        resources_pb2.Metric(key="loss", value=0.5, step=1), resources_pb2.Metric(key="loss", value=0.3, step=2)]))  # fmt: skip
    register(api, "scorer", parents=[resources_pb2.ParentVersion(version="models/churn/versions/2")])
    promote(api, "models/churn/versions/1", "production")
    promote(api, "models/churn/versions/2", "production")
    promote(api, "models/churn/versions/1", "staging")
    promote(api, "models/churn/versions/2", "champion")


def test_everything_a_model_holds_follows_it_to_its_new_name_and_a_restart_keeps_it(start, daemon, api):
    make_churn(api)
    before = get_model(api, "churn")

    renamed = rename(api, "churn", "churn-v2", expected_etag=before.etag, reason="the team's naming scheme")

    assert renamed.name == "models/churn-v2" and renamed.etag != before.etag
    assert_everything_under_the_new_name(api)
    third = register(api, "churn-v2")
    assert third.name == "models/churn-v2/versions/3"

    daemon.kill()
    with start().channel() as channel:
        again = stubs(channel)
        assert_everything_under_the_new_name(again)
        verdict = audit_pb2_grpc.AuditServiceStub(channel).VerifyAuditTrail(audit_pb2.VerifyAuditTrailRequest())
    assert verdict.intact, verdict.problem


def assert_everything_under_the_new_name(api: Stubs) -> None:
    gone = refused(lambda: get_model(api, "churn"))
    assert (gone.code(), error_info(gone).reason) == (grpc.StatusCode.NOT_FOUND, "MODEL_NOT_FOUND")
    gone = refused(lambda: api.versions.GetModelVersion(registry_pb2.GetModelVersionRequest(
        name="models/churn/versions/1")))  # fmt: skip
    assert gone.code() == grpc.StatusCode.NOT_FOUND

    model = get_model(api, "churn-v2")
    assert (model.description, dict(model.tags)) == ("who leaves", {"team": "growth"})
    assert dict(model.stage_holders) == {"staging": "models/churn-v2/versions/1",
                                         "production": "models/churn-v2/versions/2"}  # fmt: skip
    assert dict(model.aliases) == {"champion": "models/churn-v2/versions/2"}
    assert model.latest_version >= 2

    second = api.versions.GetModelVersion(registry_pb2.GetModelVersionRequest(name="models/churn-v2/versions/2"))
    assert [p.version for p in second.parents] == ["models/churn-v2/versions/1"]
    assert {m.key: m.value for m in second.metrics}["auc"] == pytest.approx(0.93)
    assert sorted(second.aliases) == ["champion"] and list(second.stages) == ["production"]
    series = api.versions.ListMetrics(registry_pb2.ListMetricsRequest(name="models/churn-v2/versions/2", key="loss"))
    assert [(m.step, m.value) for m in series.metrics] == [(1, 0.5), (2, 0.3)]

    # Searches by tag (PostgreSQL reads a derived tag table), metric and stage, per model and across models.
    assert search(api, "models/-", 'tags.team = "risk"') == ["models/churn-v2/versions/1", "models/churn-v2/versions/2"]
    assert search(api, "models/churn-v2", 'tags.data = "2026-02"') == ["models/churn-v2/versions/2"]
    assert search(api, "models/-", "metrics.auc > 0.9") == ["models/churn-v2/versions/2"]
    assert search(api, "models/-", 'stage = "staging"') == ["models/churn-v2/versions/1"]

    # Lineage from both ends: the parent inside the model, the child in another model.
    scorer = api.versions.GetModelVersion(registry_pb2.GetModelVersionRequest(name="models/scorer/versions/1"))
    assert [p.version for p in scorer.parents] == ["models/churn-v2/versions/2"]
    upstream = api.lineage.GetLineage(lineage_pb2.GetLineageRequest(
        name="models/scorer/versions/1", direction=lineage_pb2.LINEAGE_DIRECTION_UPSTREAM))  # fmt: skip
    assert {n.name for n in upstream.nodes} >= {"models/churn-v2/versions/2", "models/churn-v2/versions/1"}
    assert not [n.name for n in upstream.nodes if n.name.startswith("models/churn/")]
    downstream = api.lineage.GetLineage(lineage_pb2.GetLineageRequest(
        name="models/churn-v2/versions/1", direction=lineage_pb2.LINEAGE_DIRECTION_DOWNSTREAM))  # fmt: skip
    assert {n.name for n in downstream.nodes} >= {"models/churn-v2/versions/2", "models/scorer/versions/1"}

    # The stage history and the promotions, from before the rename too.
    history = api.stages.GetStageHistory(stages_pb2.GetStageHistoryRequest(model="models/churn-v2",
                                                                           stage="production"))  # fmt: skip
    assert [(c.model, c.version, c.previous_version) for c in history.changes] == [
        ("models/churn-v2", "models/churn-v2/versions/2", "models/churn-v2/versions/1"),
        ("models/churn-v2", "models/churn-v2/versions/1", ""),
    ]
    promotions = api.stages.ListPromotions(stages_pb2.ListPromotionsRequest(parent="models/churn-v2")).promotions
    assert len(promotions) == 4 and all(p.name.startswith("models/churn-v2/promotions/") for p in promotions)
    assert all(p.version.startswith("models/churn-v2/versions/") for p in promotions)


def test_the_event_names_both_names_and_earlier_events_keep_the_old_one(daemon):  # type: ignore[no-untyped-def]
    with daemon.channel() as channel:
        check_the_event(stubs(channel), channel)


def check_the_event(api: Stubs, channel: grpc.Channel) -> None:
    make_churn(api)
    rename(api, "churn", "churn-v2", reason="naming scheme")

    stream = api.events.Watch(events_pb2.WatchRequest(start_revision=0, bookmark_interval_seconds=1))
    seen: list[events_pb2.Event] = []
    for reply in stream:
        if reply.WhichOneof("kind") == "bookmark":
            break
        seen.append(reply.event)
    stream.cancel()

    renamed = [e for e in seen if e.type == "model.renamed"]
    assert len(renamed) == 1
    event = renamed[0]
    assert (event.subject, event.model) == ("models/churn", "churn-v2")
    assert event.renamed.previous_name == "models/churn" and event.renamed.model.name == "models/churn-v2"
    assert event.renamed.reason == "naming scheme"
    earlier = [e for e in seen if e.revision < event.revision and e.type == "version.created" and e.model != "scorer"]
    assert [e.subject for e in earlier] == ["models/churn/versions/1", "models/churn/versions/2"]

    # The audit export gives the rename the model's state before it, under the old name.
    exported = [r for r in audit_pb2_grpc.AuditServiceStub(channel).ExportAuditTrail(
        audit_pb2.ExportAuditTrailRequest()) if r.event.type == "model.renamed"]  # fmt: skip
    assert [(r.event.revision, r.before.subject) for r in exported] == [(event.revision, "models/churn")]
    assert r_before_model(exported[0]) == "models/churn"


def r_before_model(record: audit_pb2.AuditRecord) -> str:
    return record.before.model_snapshot.name or record.before.renamed.model.name


def test_what_would_leave_things_inconsistent_is_refused_with_a_reason(api):
    make_churn(api)
    api.models.CreateModel(registry_pb2.CreateModelRequest(model_id="taken"))
    stale = get_model(api, "churn").etag
    api.models.UpdateModel(registry_pb2.UpdateModelRequest(model=resources_pb2.Model(
        name="models/churn", description="who leaves, and when")))  # fmt: skip

    cases = {
        "STALE_ETAG": (lambda: rename(api, "churn", "churn-v2", expected_etag=stale), grpc.StatusCode.ABORTED),
        "MODEL_EXISTS": (lambda: rename(api, "churn", "taken"), grpc.StatusCode.ALREADY_EXISTS),
        "INVALID_NAME": (lambda: rename(api, "churn", "Churn V2"), grpc.StatusCode.INVALID_ARGUMENT),
        "SAME_NAME": (lambda: rename(api, "churn", "churn"), grpc.StatusCode.INVALID_ARGUMENT),
        "MODEL_NOT_FOUND": (lambda: rename(api, "nobody", "somebody"), grpc.StatusCode.NOT_FOUND),
    }
    for reason, (call, code) in cases.items():
        error = refused(call)
        assert (error.code(), error_info(error).reason) == (code, reason), reason

    # Nothing moved: the model is whole under its name.
    assert dict(get_model(api, "churn").aliases) == {"champion": "models/churn/versions/2"}
    assert search(api, "models/-", 'tags.team = "risk"') == ["models/churn/versions/1", "models/churn/versions/2"]


def test_a_promotion_waiting_for_approval_holds_the_rename_until_it_is_settled(api):
    register(api, "held-fraud")
    pending = promote(api, "models/held-fraud/versions/1", "production")
    assert pending.state == stages_pb2.PROMOTION_STATE_PENDING_APPROVAL

    error = refused(lambda: rename(api, "held-fraud", "fraud"))
    info = error_info(error)
    assert (error.code(), info.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "PROMOTION_PENDING")
    assert info.metadata["promotion"] == pending.name and "cancel" in error.details()

    api.stages.CancelPromotion(stages_pb2.CancelPromotionRequest(name=pending.name))
    renamed = rename(api, "held-fraud", "fraud")
    assert renamed.name == "models/fraud"
    cancelled = api.stages.ListPromotions(stages_pb2.ListPromotionsRequest(parent="models/fraud")).promotions
    assert [p.state for p in cancelled] == [stages_pb2.PROMOTION_STATE_CANCELLED]


def test_another_daemon_on_the_same_catalog_follows_a_rename(daemon_factory, short_dir: Path,
                                                             postgres_catalog) -> None:  # fmt: skip
    first = daemon_factory("--catalog", postgres_catalog.url)
    second = daemon_factory("--catalog", postgres_catalog.url, data_dir=short_dir / "other")
    with first.channel() as one, second.channel() as two:
        a, b = stubs(one), stubs(two)
        make_churn(a)
        # The second daemon has the model and its versions in its caches before the rename.
        assert dict(get_model(b, "churn").aliases) == {"champion": "models/churn/versions/2"}
        b.versions.GetModelVersion(registry_pb2.GetModelVersionRequest(name="models/scorer/versions/1"))

        rename(a, "churn", "churn-v2")

        wait_for(lambda: followed(b), "the second daemon to follow the rename")
        assert_everything_under_the_new_name(b)
        third = register(b, "churn-v2")
        assert third.name == "models/churn-v2/versions/3"
        assert get_model(a, "churn-v2").latest_version == 3


def followed(api: Stubs) -> bool:
    try:
        get_model(api, "churn-v2")
    except grpc.RpcError:
        return False
    return True


def test_a_hook_on_the_old_name_hears_the_rename(daemon, receiver) -> None:  # type: ignore[no-untyped-def]
    with daemon.channel() as channel:
        hooks_pb2_grpc.HookServiceStub(channel).AddHook(hooks_pb2.AddHookRequest(
            url=receiver.url, events=["model.*"], model_pattern="churn", secret="s" * 24, name="churn-watch"))  # fmt: skip
        api = stubs(channel)
        api.models.CreateModel(registry_pb2.CreateModelRequest(model_id="churn"))
        rename(api, "churn", "retention", reason="clearer")
        got = receiver.wait_for(lambda r: any(x.json["type"] == "model.renamed" for x in r))

    renamed = next(r.json for r in got if r.json["type"] == "model.renamed")
    assert (renamed["model"], renamed["resource"]["renamed"]["previous_name"]) == ("retention", "models/churn")
    assert renamed["resource"]["renamed"]["model"]["name"] == "models/retention"


def test_a_registration_to_the_old_name_is_told_the_new_one_until_the_name_is_taken_again(start, daemon, api):
    register(api, "churn")
    rename(api, "churn", "retention")

    error = refused(lambda: register(api, "churn"))
    info = error_info(error)
    assert (error.code(), info.reason, info.metadata["renamed_to"]) == (
        grpc.StatusCode.FAILED_PRECONDITION, "MODEL_RENAMED", "retention")  # fmt: skip
    assert "register into 'retention'" in error.details()

    daemon.kill()
    with start().channel() as channel:
        again = stubs(channel)
        assert error_info(refused(lambda: register(again, "churn"))).reason == "MODEL_RENAMED"
        again.models.CreateModel(registry_pb2.CreateModelRequest(model_id="churn"))
        assert register(again, "churn").name == "models/churn/versions/1"
        assert get_model(again, "retention").latest_version == 1


def test_production_feedback_follows_a_rename(daemon) -> None:  # type: ignore[no-untyped-def]
    """Production points, input windows against the reference statistics, and the monitor's breach
    with its candidate are read under the new name, and nothing remains under the old one."""
    reference = [production_pb2.FeatureStatistics(
        feature="age", histogram=production_pb2.Histogram(edges=[0, 30, 60, 120], counts=[5, 3, 2]))]  # fmt: skip
    with daemon.channel() as channel:
        api, production = stubs(channel), production_pb2_grpc.ProductionServiceStub(channel)
        for auc in (0.95, 0.91):
            api.versions.RegisterModelVersion(registry_pb2.RegisterModelVersionRequest(
                parent="models/watched-a", reference_statistics=reference,
                version=resources_pb2.ModelVersion(storage_uri="s3://b/m", metrics=[
                    resources_pb2.Metric(key="auc", value=auc)])))  # fmt: skip
        promote(api, "models/watched-a/versions/1", "production")
        promote(api, "models/watched-a/versions/2", "production")
        logged = production.LogProductionMetrics(production_pb2.LogProductionMetricsRequest(
            model="models/watched-a", stage="production", points=[production_pb2.ProductionPoint(key="auc", value=0.7)]))  # fmt: skip
        assert [s.breached for s in logged.changed] == [True]
        production.LogInputStatistics(production_pb2.LogInputStatisticsRequest(
            model="models/watched-a", stage="production", features=[production_pb2.FeatureStatistics(
                feature="age", histogram=production_pb2.Histogram(edges=[0, 30, 60, 120], counts=[1, 1, 8]))]))  # fmt: skip

        rename(api, "watched-a", "watched-b")

        record = production.GetProductionRecord(production_pb2.GetProductionRecordRequest(
            model="models/watched-b", stage="production"))  # fmt: skip
        points = {h.version: [s.value for series in h.series for s in series.samples] for h in record.holders}
        assert points == {"models/watched-b/versions/1": [], "models/watched-b/versions/2": [0.7]}
        drift = production.GetInputDrift(production_pb2.GetInputDriftRequest(model="models/watched-b",
                                                                             stage="production"))  # fmt: skip
        assert [w.version for w in drift.windows] == ["models/watched-b/versions/2"]
        assert drift.windows[0].max_psi > 0.2
        states = production.ListMonitorStates(production_pb2.ListMonitorStatesRequest(model="models/watched-b"))
        assert [(s.model, s.stage, s.breached) for s in states.states] == [("models/watched-b", "production", True)]
        candidate = production.GetRollbackCandidate(production_pb2.GetRollbackCandidateRequest(
            model="models/watched-b", stage="production"))  # fmt: skip
        assert (candidate.holder, candidate.version) == ("models/watched-b/versions/2", "models/watched-b/versions/1")
        gone = refused(lambda: production.GetProductionRecord(production_pb2.GetProductionRecordRequest(
            model="models/watched-a", stage="production")))  # fmt: skip
        assert gone.code() == grpc.StatusCode.NOT_FOUND
