"""Stages and aliases over real gRPC: promote, validate only, roll back, history at a time."""

from __future__ import annotations

import time

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from studbook.v1 import registry_pb2, stages_pb2
from support.rpc import error_info, register, stubs


@pytest.fixture
def api(shared_daemon):
    with shared_daemon.channel() as channel:
        yield stubs(channel)


def promote(api, model, number, target, **fields):
    return api.stages.PromoteModelVersion(stages_pb2.PromoteModelVersionRequest(
        name=f"models/{model}/versions/{number}", target=target, **fields))  # fmt: skip


def holders(api, model):
    return dict(api.models.GetModel(registry_pb2.GetModelRequest(name=f"models/{model}")).stage_holders)


def test_promotion_moves_the_stage_and_records_who_and_why(api, model_id):
    register(api, model_id)
    promotion = promote(api, model_id, 1, "production", reason="beats baseline")

    assert promotion.state == stages_pb2.PROMOTION_STATE_APPLIED
    assert promotion.name.startswith(f"models/{model_id}/promotions/")
    assert holders(api, model_id) == {"production": f"models/{model_id}/versions/1"}
    history = api.stages.GetStageHistory(stages_pb2.GetStageHistoryRequest(model=f"models/{model_id}"))
    assert history.changes[0].reason == "beats baseline"
    assert history.changes[0].actor


def test_validate_only_changes_nothing(api, model_id):
    register(api, model_id)

    checked = promote(api, model_id, 1, "production", validate_only=True)

    assert checked.state == stages_pb2.PROMOTION_STATE_VALIDATED
    assert all(g.passed for g in checked.gate_results)
    assert holders(api, model_id) == {}


def test_an_archived_version_cannot_be_promoted(api, model_id):
    version = register(api, model_id)
    api.versions.ArchiveModelVersion(registry_pb2.ArchiveModelVersionRequest(name=version.name))

    with pytest.raises(grpc.RpcError) as raised:
        promote(api, model_id, 1, "staging")

    assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_info(raised.value).reason == "VERSION_NOT_READY"


def test_a_stale_model_etag_aborts_the_promotion(api, model_id):
    register(api, model_id)
    register(api, model_id, storage_uri="s3://b/2")
    etag = api.models.GetModel(registry_pb2.GetModelRequest(name=f"models/{model_id}")).etag
    promote(api, model_id, 1, "production", expected_etag=etag)

    with pytest.raises(grpc.RpcError) as raised:
        promote(api, model_id, 2, "production", expected_etag=etag)

    assert raised.value.code() == grpc.StatusCode.ABORTED
    assert holders(api, model_id)["production"].endswith("/versions/1")


def test_rollback_walks_back_through_earlier_holders(api, model_id):
    for i in range(3):
        register(api, model_id, storage_uri=f"s3://b/{i}")
        promote(api, model_id, i + 1, "production")

    first = api.stages.RollbackStage(
        stages_pb2.RollbackStageRequest(model=f"models/{model_id}", stage="production", reason="latency")
    )
    second = api.stages.RollbackStage(stages_pb2.RollbackStageRequest(model=f"models/{model_id}", stage="production"))

    assert first.version.endswith("/versions/2") and first.rollback
    assert second.version.endswith("/versions/1")
    with pytest.raises(grpc.RpcError) as raised:
        api.stages.RollbackStage(stages_pb2.RollbackStageRequest(model=f"models/{model_id}", stage="production"))
    assert error_info(raised.value).reason == "NO_PREVIOUS_HOLDER"


def test_history_answers_who_held_production_at_a_time(api, model_id):
    register(api, model_id)
    register(api, model_id, storage_uri="s3://b/2")
    promote(api, model_id, 1, "production")
    time.sleep(0.05)
    between = Timestamp()
    between.GetCurrentTime()
    time.sleep(0.05)
    promote(api, model_id, 2, "production")

    then = api.stages.GetStageHistory(
        stages_pb2.GetStageHistoryRequest(model=f"models/{model_id}", stage="production", at=between)
    )
    everything = api.stages.GetStageHistory(
        stages_pb2.GetStageHistoryRequest(model=f"models/{model_id}", stage="production")
    )

    assert then.holders_at["production"] == f"models/{model_id}/versions/1"
    assert [c.version for c in everything.changes] == [f"models/{model_id}/versions/2", f"models/{model_id}/versions/1"]


def test_a_version_moving_to_production_leaves_staging(api, model_id):
    register(api, model_id)
    promote(api, model_id, 1, "staging")

    promote(api, model_id, 1, "production")

    assert holders(api, model_id) == {"production": f"models/{model_id}/versions/1"}


def test_aliases_are_free_names_that_can_be_removed(api, model_id):
    register(api, model_id)
    promote(api, model_id, 1, "champion")

    api.stages.DeleteAlias(stages_pb2.DeleteAliasRequest(model=f"models/{model_id}", alias="champion"))

    model = api.models.GetModel(registry_pb2.GetModelRequest(name=f"models/{model_id}"))
    assert dict(model.aliases) == {}


def test_reserved_or_invalid_targets_are_refused(api, model_id):
    register(api, model_id)
    for target in ("latest", "7", "Prod"):
        with pytest.raises(grpc.RpcError) as raised:
            promote(api, model_id, 1, target)
        assert error_info(raised.value).reason == "INVALID_NAME"


def test_history_at_a_time_after_a_stage_was_vacated_shows_it_empty(api, model_id):
    register(api, model_id)
    promote(api, model_id, 1, "staging")
    promote(api, model_id, 1, "production")
    after = Timestamp()
    after.GetCurrentTime()

    then = api.stages.GetStageHistory(stages_pb2.GetStageHistoryRequest(model=f"models/{model_id}", at=after))

    assert dict(then.holders_at) == {"production": f"models/{model_id}/versions/1"}


def test_promotions_filter_by_state_with_the_one_filter_syntax(api, model_id):
    register(api, model_id)
    promote(api, model_id, 1, "staging")

    applied = api.stages.ListPromotions(stages_pb2.ListPromotionsRequest(
        parent=f"models/{model_id}", filter="state = applied"))  # fmt: skip
    pending = api.stages.ListPromotions(stages_pb2.ListPromotionsRequest(
        parent=f"models/{model_id}", filter='state = "PENDING_APPROVAL"'))  # fmt: skip
    with pytest.raises(grpc.RpcError) as raised:
        api.stages.ListPromotions(stages_pb2.ListPromotionsRequest(parent=f"models/{model_id}", filter="state = done"))

    assert [p.target for p in applied.promotions] == ["staging"]
    assert list(pending.promotions) == []
    assert error_info(raised.value).reason == "INVALID_FILTER"
    assert "pending_approval" in raised.value.details()
