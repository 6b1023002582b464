"""A rollback to a named earlier holder (RollbackStageRequest.version, `studbook rollback --to`):
it puts back that version through the rollback's own rules (gates, dry run), and refuses a
version that never held the stage."""

from __future__ import annotations

import os

import grpc
import pytest
from studbook.v1 import registry_pb2, resources_pb2, stages_pb2
from support.rpc import error_info, register, stubs

POLICY = """
[[models]]
pattern = "gated-*"
[models.gates.production]
metrics = ["auc >= 0.8"]
rollback_skips = ["beat_holder"]
"""


def actor(name):
    return (("x-studbook-actor", name),)


def auc(value):
    return [resources_pb2.Metric(key="auc", value=value)]


def promote(api, model, number):
    api.stages.PromoteModelVersion(stages_pb2.PromoteModelVersionRequest(
        name=f"models/{model}/versions/{number}", target="production"), metadata=actor("asker"))  # fmt: skip


def rollback(api, model, to, **fields):
    return api.stages.RollbackStage(stages_pb2.RollbackStageRequest(
        model=f"models/{model}", stage="production", version=to, **fields), metadata=actor("oncall"))  # fmt: skip


def holder(api, model):
    return dict(api.models.GetModel(registry_pb2.GetModelRequest(name=f"models/{model}")).stage_holders).get(
        "production"
    )


@pytest.fixture
def api(daemon_factory, short_dir):
    policy = short_dir / "policy.toml"
    policy.write_text(POLICY)
    daemon = daemon_factory("--policy", str(policy))
    with daemon.channel() as channel:
        yield stubs(channel)


def three_holders(api, model, aucs=(0.95, 0.9, 0.85)):
    for value in aucs:
        register(api, model, metrics=auc(value), storage_uri=f"s3://b/{model}/{value}")
    for number in (1, 2, 3):
        promote(api, model, number)


def test_a_rollback_to_a_named_earlier_holder_puts_it_back_past_the_previous_one(api):
    three_holders(api, "plain")

    rolled = rollback(api, "plain", "1", reason="v1 served best")

    assert rolled.rollback and rolled.version == "models/plain/versions/1"
    assert rolled.previous_version == "models/plain/versions/3"
    assert rolled.reason == "v1 served best"
    assert holder(api, "plain") == "models/plain/versions/1"


def test_the_version_may_be_named_by_its_canonical_name_and_a_dry_run_changes_nothing(api):
    three_holders(api, "named")

    checked = rollback(api, "named", "models/named/versions/1", validate_only=True)

    assert checked.state == stages_pb2.PROMOTION_STATE_VALIDATED
    assert checked.version == "models/named/versions/1"
    assert holder(api, "named") == "models/named/versions/3"


@pytest.mark.parametrize(("to", "reason"), [("9", "NOT_A_PREVIOUS_HOLDER"), ("3", "ALREADY_HOLDS_TARGET")])
def test_a_version_that_never_held_the_stage_or_holds_it_now_is_refused(api, to, reason):
    three_holders(api, f"never-{to}")
    register(api, f"never-{to}", storage_uri="s3://b/x")

    with pytest.raises(grpc.RpcError) as raised:
        rollback(api, f"never-{to}", to, reason="try")

    assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_info(raised.value).reason == reason
    assert holder(api, f"never-{to}") == f"models/never-{to}/versions/3"


def test_a_version_of_another_model_or_a_malformed_one_is_an_invalid_argument(api):
    three_holders(api, "other")

    for to in ("models/someone-else/versions/1", "first", "0"):
        with pytest.raises(grpc.RpcError) as raised:
            rollback(api, "other", to, reason="try")
        assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert error_info(raised.value).metadata["field"] == "version"


def test_the_rollback_gates_judge_the_named_version(api, short_dir):
    three_holders(api, "gated-a", aucs=(0.9, 0.85, 0.95))
    policy = short_dir / "policy.toml"
    policy.write_text(POLICY.replace("auc >= 0.8", "auc >= 0.88"))
    # A distinct mtime: the daemon picks up a changed file by it.
    os.utime(policy, ns=(1_700_000_000_000_000_000, 1_700_000_000_000_000_000))

    checked = rollback(api, "gated-a", "2", validate_only=True)
    with pytest.raises(grpc.RpcError) as raised:
        rollback(api, "gated-a", "2", reason="back")

    assert checked.state == stages_pb2.PROMOTION_STATE_FAILED
    assert "metrics.auc 0.85 < 0.88" in raised.value.details()
    assert error_info(raised.value).reason == "GATE_NOT_MET"
    assert holder(api, "gated-a") == "models/gated-a/versions/3"
    assert rollback(api, "gated-a", "1", reason="back").version == "models/gated-a/versions/1"
