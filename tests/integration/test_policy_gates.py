"""Policy gates over real gRPC: a daemon started with --policy refuses, holds for approval, reloads, and
gates rollbacks as the policy says."""

from __future__ import annotations

import os
from pathlib import Path

import grpc
import pytest
from studbook.v1 import events_pb2, registry_pb2, resources_pb2, stages_pb2
from support.rpc import error_info, register, stubs

POLICY = """
[[models]]
pattern = "keep-*"
[models.gates.production]
require = ["kept_files"]

[[models]]
pattern = "thr-*"
[models.gates.production]
require = ["model_card"]
metrics = ["auc >= 0.90@validation"]

[[models]]
pattern = "beat-*"
[models.gates.production]
beat_holder = ["auc"]
tolerance = 0.01

[[models]]
pattern = "appr-*"
[models.gates.production]
approvals = 2

[[models]]
pattern = "files-*"
[models.gates.production]
verify_files = true

[[models]]
pattern = "from-*"
[models.gates.production]
from = ["staging"]

[[models]]
pattern = "rbdef-*"
[models.gates.production]
metrics = ["auc >= 0.8"]
beat_holder = ["auc"]

[[models]]
pattern = "rbm-*"
[models.gates.production]
metrics = ["auc >= 0.8"]
beat_holder = ["auc"]
rollback_skips = ["beat_holder"]

[[models]]
pattern = "rbf-*"
[models.gates.production]
metrics = ["auc >= 0.5"]
verify_files = true
rollback_skips = []

[[models]]
pattern = "rjb-*"
[models.gates.production]
beat_holder = ["auc"]
approvals = 1

[[models]]
pattern = "rjf-*"
[models.gates.production]
verify_files = true
approvals = 2

[[models]]
pattern = "rjp-*"
[models.gates.production]
approvals = 1
"""


def actor(name):
    return (("x-studbook-actor", name),)


def auc(value, split=""):
    return [resources_pb2.Metric(key="auc", value=value, split=split)]


def promote(api, model, number, target="production", who="asker", **fields):
    return api.stages.PromoteModelVersion(stages_pb2.PromoteModelVersionRequest(
        name=f"models/{model}/versions/{number}", target=target, **fields), metadata=actor(who))  # fmt: skip


def holder(api, model, stage="production"):
    return dict(api.models.GetModel(registry_pb2.GetModelRequest(name=f"models/{model}")).stage_holders).get(stage)


def rollback(api, model, stage="production"):
    return api.stages.RollbackStage(stages_pb2.RollbackStageRequest(model=f"models/{model}", stage=stage),
                                    metadata=actor("oncall"))  # fmt: skip


def history(api, model):
    return list(api.stages.GetStageHistory(stages_pb2.GetStageHistoryRequest(model=f"models/{model}")).changes)


def etag(api, model):
    return api.models.GetModel(registry_pb2.GetModelRequest(name=f"models/{model}")).etag


def register_folders(api, model, root: Path, count: int) -> list[Path]:
    """Registers `count` versions from folders of distinct content, referenced where they lie
    (not kept, so a test can alter them); returns the folders."""
    folders = []
    for number in range(1, count + 1):
        folder = root / f"{model}-{number}"
        folder.mkdir()
        (folder / "model.bin").write_bytes(f"{model} {number} ".encode() * 100)
        api.versions.RegisterModelVersion(registry_pb2.RegisterModelVersionRequest(
            parent=f"models/{model}", source_path=str(folder), keep_in_place=True,
            version=resources_pb2.ModelVersion(metrics=auc(0.9))))  # fmt: skip
        folders.append(folder)
    return folders


def write_policy(path: Path, text: str, bump: int = 0) -> None:
    path.write_text(text)
    # An explicit, distinct mtime: two edits within the file system's clock tick must still differ.
    stamp = 1_700_000_000_000_000_000 + bump * 1_000_000_000
    os.utime(path, ns=(stamp, stamp))


@pytest.fixture
def policy_file(short_dir):
    path = short_dir / "policy.toml"
    write_policy(path, POLICY)
    return path


@pytest.fixture
def api(daemon_factory, policy_file):
    daemon = daemon_factory("--policy", str(policy_file))
    with daemon.channel() as channel:
        yield stubs(channel)


def test_a_metric_threshold_refuses_the_promotion_naming_every_failed_gate(api):
    register(api, "thr-a", metrics=auc(0.87, "validation"))

    with pytest.raises(grpc.RpcError) as raised:
        promote(api, "thr-a", 1)

    assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "metrics.auc 0.87 < 0.9 on validation" in raised.value.details()
    assert "lacks a model card" in raised.value.details()
    info = error_info(raised.value)
    assert info.reason == "GATE_NOT_MET"
    assert info.metadata["gates"] == "require.model_card,metrics.auc"
    assert holder(api, "thr-a") is None


def test_a_version_meeting_the_gates_is_promoted(api):
    register(api, "thr-b", metrics=auc(0.95, "validation"), model_card="# fraud model")

    promotion = promote(api, "thr-b", 1)

    assert promotion.state == stages_pb2.PROMOTION_STATE_APPLIED
    assert holder(api, "thr-b") == "models/thr-b/versions/1"


def test_validate_only_shows_every_gate_and_changes_nothing(api):
    register(api, "thr-c", metrics=auc(0.87, "validation"))

    checked = promote(api, "thr-c", 1, validate_only=True)

    assert checked.state == stages_pb2.PROMOTION_STATE_FAILED
    verdicts = {g.gate: g.passed for g in checked.gate_results}
    assert verdicts == {"version_ready": True, "not_current_holder": True, "require.model_card": False,
                        "metrics.auc": False, "forbid_flags": True}  # fmt: skip
    assert holder(api, "thr-c") is None


def test_a_candidate_must_beat_the_holder_within_the_tolerance(api):
    register(api, "beat-a", metrics=auc(0.90), storage_uri="s3://b/1")
    register(api, "beat-a", metrics=auc(0.80), storage_uri="s3://b/2")
    register(api, "beat-a", metrics=auc(0.895), storage_uri="s3://b/3")
    promote(api, "beat-a", 1)

    with pytest.raises(grpc.RpcError) as raised:
        promote(api, "beat-a", 2)
    promote(api, "beat-a", 3)

    assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "metrics.auc 0.8 is worse than holder version 1's 0.9" in raised.value.details()
    assert holder(api, "beat-a") == "models/beat-a/versions/3"


def test_approvals_hold_the_promotion_until_two_others_approve(api):
    register(api, "appr-a")

    pending = promote(api, "appr-a", 1, who="alice")
    with pytest.raises(grpc.RpcError) as self_approval:
        api.stages.ApprovePromotion(stages_pb2.ApprovePromotionRequest(name=pending.name), metadata=actor("alice"))
    first = api.stages.ApprovePromotion(stages_pb2.ApprovePromotionRequest(name=pending.name, comment="ok"),
                                        metadata=actor("bob"))  # fmt: skip
    held = holder(api, "appr-a")
    second = api.stages.ApprovePromotion(stages_pb2.ApprovePromotionRequest(name=pending.name), metadata=actor("carol"))

    assert pending.state == stages_pb2.PROMOTION_STATE_PENDING_APPROVAL
    assert self_approval.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_info(self_approval.value).reason == "SELF_APPROVAL"
    assert first.state == stages_pb2.PROMOTION_STATE_PENDING_APPROVAL and held is None
    assert second.state == stages_pb2.PROMOTION_STATE_APPLIED
    assert [a.actor for a in second.approvals] == ["bob", "carol"]
    assert holder(api, "appr-a") == "models/appr-a/versions/1"


def test_one_approver_cannot_approve_twice(api):
    register(api, "appr-b")
    pending = promote(api, "appr-b", 1, who="alice")
    api.stages.ApprovePromotion(stages_pb2.ApprovePromotionRequest(name=pending.name), metadata=actor("bob"))

    with pytest.raises(grpc.RpcError) as raised:
        api.stages.ApprovePromotion(stages_pb2.ApprovePromotionRequest(name=pending.name), metadata=actor("bob"))

    assert error_info(raised.value).reason == "ALREADY_APPROVED"
    assert holder(api, "appr-b") is None


def test_files_are_re_hashed_and_a_changed_file_refuses_the_promotion(api, tmp_path):
    good, bad = tmp_path / "good", tmp_path / "bad"
    for folder in (good, bad):
        folder.mkdir()
        (folder / "model.bin").write_bytes(folder.name.encode() * 100)
    for folder in (good, bad):
        api.versions.RegisterModelVersion(registry_pb2.RegisterModelVersionRequest(
            parent="models/files-a", source_path=str(folder), keep_in_place=True))  # fmt: skip
    (bad / "model.bin").write_bytes(b"tampered")

    checked = promote(api, "files-a", 1, validate_only=True)
    with pytest.raises(grpc.RpcError) as raised:
        promote(api, "files-a", 2)

    assert [g.passed for g in checked.gate_results if g.gate == "verify_files"] == [True]
    assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "changed: model.bin" in raised.value.details()


def test_a_kept_version_is_verified_from_the_store_not_from_its_source_folder(api, short_dir, tmp_path):
    source = tmp_path / "kept"
    source.mkdir()
    (source / "model.bin").write_bytes(b"kept weights " * 100)
    version = api.versions.RegisterModelVersion(registry_pb2.RegisterModelVersionRequest(
        parent="models/files-k", source_path=str(source))).version  # fmt: skip
    (source / "model.bin").write_bytes(b"the source may change: the registry keeps its own copy")
    passed = promote(api, "files-k", 1, validate_only=True)
    sha = version.files[0].sha256
    blob = short_dir / "data" / "blobs" / "sha256" / sha[:2] / sha[2:4] / sha
    blob.write_bytes(b"rotted in the store")

    with pytest.raises(grpc.RpcError) as raised:
        promote(api, "files-k", 1)

    assert version.kept
    assert [(g.passed, g.detail) for g in passed.gate_results if g.gate == "verify_files"] == [
        (True, "all 1 kept file(s) match their registered sha256")
    ]
    assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "kept copies differ" in raised.value.details() and "model.bin" in raised.value.details()


def test_a_stage_that_requires_kept_files_refuses_a_version_kept_in_place(api, tmp_path):
    (tmp_path / "model.bin").write_bytes(b"weights")
    for keep_in_place in (True, False):
        api.versions.RegisterModelVersion(registry_pb2.RegisterModelVersionRequest(
            parent="models/keep-a", source_path=str(tmp_path / "model.bin"), keep_in_place=keep_in_place,
            request_id=f"keep-{keep_in_place}"))  # fmt: skip
        (tmp_path / "model.bin").write_bytes(b"other weights")

    with pytest.raises(grpc.RpcError) as refused:
        promote(api, "keep-a", 1)
    applied = promote(api, "keep-a", 2)

    assert error_info(refused.value).metadata["gates"] == "require.kept_files"
    assert ("require.kept_files", True) in [(g.gate, g.passed) for g in applied.gate_results]


def test_an_edited_policy_applies_to_the_next_promotion_and_a_broken_one_is_ignored(api, policy_file):
    register(api, "open-a", storage_uri="s3://b/1", metrics=auc(0.5))
    register(api, "open-a", storage_uri="s3://b/2", metrics=auc(0.5))
    promote(api, "open-a", 1)

    write_policy(
        policy_file,
        POLICY + '\n[[models]]\npattern = "open-*"\n[models.gates.production]\nmetrics = ["auc >= 0.9"]\n',
        bump=1,
    )
    with pytest.raises(grpc.RpcError) as tightened:
        promote(api, "open-a", 2)
    write_policy(policy_file, "[[models]]\npattern = 3\n", bump=2)
    with pytest.raises(grpc.RpcError) as still_tight:
        promote(api, "open-a", 2)

    assert "metrics.auc 0.5 < 0.9" in tightened.value.details()
    assert still_tight.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert holder(api, "open-a") == "models/open-a/versions/1"


def test_an_invalid_policy_stops_the_daemon_from_starting(daemon_factory, short_dir):
    path = short_dir / "broken.toml"
    path.write_text("[[models]]\npattern = 'a'\n[models.gates.production]\napprovals = -1\n")

    with pytest.raises(RuntimeError) as raised:
        daemon_factory("--policy", str(path))

    assert "models[0].gates.production.approvals" in str(raised.value)


def test_a_version_coming_from_an_allowed_stage_may_be_promoted(api):
    register(api, "from-a")
    promote(api, "from-a", 1, target="staging")

    checked = promote(api, "from-a", 1, validate_only=True)
    applied = promote(api, "from-a", 1)

    verdict = [g for g in checked.gate_results if g.gate == "from"]
    assert [(g.passed, g.detail) for g in verdict] == [
        (True, "version 1 holds staging; production may be reached from: staging")
    ]
    assert applied.state == stages_pb2.PROMOTION_STATE_APPLIED
    assert holder(api, "from-a") == "models/from-a/versions/1"
    assert holder(api, "from-a", "staging") is None


def test_a_version_skipping_the_allowed_stage_is_refused_naming_the_from_gate(api):
    register(api, "from-b")

    checked = promote(api, "from-b", 1, validate_only=True)
    with pytest.raises(grpc.RpcError) as raised:
        promote(api, "from-b", 1)

    assert checked.state == stages_pb2.PROMOTION_STATE_FAILED
    assert {g.gate: g.passed for g in checked.gate_results}["from"] is False
    assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "version 1 holds no stage; production may be reached from: staging" in raised.value.details()
    assert error_info(raised.value).reason == "GATE_NOT_MET"
    assert error_info(raised.value).metadata["gates"] == "from"
    assert holder(api, "from-b") is None


def test_by_default_a_rollback_skips_every_gate(api):
    register(api, "rbdef-a", metrics=auc(0.85), storage_uri="s3://b/1")
    register(api, "rbdef-a", metrics=auc(0.95), storage_uri="s3://b/2")
    promote(api, "rbdef-a", 1)
    promote(api, "rbdef-a", 2)

    rolled = rollback(api, "rbdef-a")

    # Version 1 is worse than the holder it replaces, which beat_holder would refuse.
    assert rolled.rollback and rolled.version == "models/rbdef-a/versions/1"
    assert list(rolled.gate_results) == []
    assert holder(api, "rbdef-a") == "models/rbdef-a/versions/1"


def test_a_rollback_running_a_metrics_gate_the_previous_holder_fails_is_refused_and_changes_nothing(api, policy_file):
    register(api, "rbm-a", metrics=auc(0.85), storage_uri="s3://b/1")
    register(api, "rbm-a", metrics=auc(0.95), storage_uri="s3://b/2")
    promote(api, "rbm-a", 1)
    promote(api, "rbm-a", 2)
    write_policy(
        policy_file,
        POLICY.replace(
            'metrics = ["auc >= 0.8"]\nbeat_holder = ["auc"]\nrollback_skips',
            'metrics = ["auc >= 0.9"]\nbeat_holder = ["auc"]\nrollback_skips',
        ),
        bump=1,
    )
    before = (etag(api, "rbm-a"), history(api, "rbm-a"))

    with pytest.raises(grpc.RpcError) as raised:
        rollback(api, "rbm-a")

    assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert raised.value.details() == "rollback refused: metrics.auc 0.85 < 0.9"
    info = error_info(raised.value)
    # beat_holder is skipped: version 1 is worse than version 2 but that is not held against it.
    assert (info.reason, info.metadata["gates"], info.metadata["version"]) == ("GATE_NOT_MET", "metrics.auc", "1")
    assert holder(api, "rbm-a") == "models/rbm-a/versions/2"
    assert (etag(api, "rbm-a"), history(api, "rbm-a")) == before


def test_a_rollback_verifying_files_is_refused_when_the_previous_holders_file_was_altered(api, short_dir):
    folders = register_folders(api, "rbf-a", short_dir, 2)
    promote(api, "rbf-a", 1)
    promote(api, "rbf-a", 2)
    (folders[0] / "model.bin").write_bytes(b"tampered")
    before = (etag(api, "rbf-a"), history(api, "rbf-a"))

    with pytest.raises(grpc.RpcError) as raised:
        rollback(api, "rbf-a")

    assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "rollback refused:" in raised.value.details() and "changed: model.bin" in raised.value.details()
    assert error_info(raised.value).metadata["gates"] == "verify_files"
    assert holder(api, "rbf-a") == "models/rbf-a/versions/2"
    assert (etag(api, "rbf-a"), history(api, "rbf-a")) == before


def test_the_gates_a_rollback_ran_are_on_its_promotion(api, short_dir):
    register_folders(api, "rbf-b", short_dir, 2)
    promote(api, "rbf-b", 1)
    promote(api, "rbf-b", 2)

    rolled = rollback(api, "rbf-b")
    stored = api.stages.GetPromotion(stages_pb2.GetPromotionRequest(name=rolled.name))

    verdicts = [(g.gate, g.passed, g.detail) for g in rolled.gate_results]
    assert verdicts == [("metrics.auc", True, "metrics.auc 0.9 >= 0.5"),
                        ("verify_files", True, "all 1 file(s) match their registered sha256"),
                        ("forbid_flags", True, "no file carries a flag in dangerous-*, unsafe-ops, remote-code")]  # fmt: skip
    assert [(g.gate, g.passed, g.detail) for g in stored.gate_results] == verdicts
    assert rolled.rollback and rolled.previous_version == "models/rbf-b/versions/2"
    assert holder(api, "rbf-b") == "models/rbf-b/versions/1"


# -- the last approval judges the promotion again -----------------------------------------


def approve(api, promotion, who="bob"):
    return api.stages.ApprovePromotion(stages_pb2.ApprovePromotionRequest(name=promotion.name), metadata=actor(who))


def stored(api, promotion):
    return api.stages.GetPromotion(stages_pb2.GetPromotionRequest(name=promotion.name))


def test_an_approval_fails_the_promotion_when_the_holder_it_must_beat_changed_while_it_waited(api):
    register(api, "rjb-a", metrics=auc(0.80), storage_uri="s3://b/1")
    register(api, "rjb-a", metrics=auc(0.90), storage_uri="s3://b/2")
    weaker = promote(api, "rjb-a", 1, who="alice")
    stronger = promote(api, "rjb-a", 2, who="alice")
    approve(api, stronger)

    with pytest.raises(grpc.RpcError) as raised:
        approve(api, weaker)

    assert weaker.state == stages_pb2.PROMOTION_STATE_PENDING_APPROVAL
    assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "metrics.auc 0.8 is worse than holder version 2's 0.9" in raised.value.details()
    info = error_info(raised.value)
    assert (info.reason, info.metadata["gates"], info.metadata["promotion"]) == ("GATE_NOT_MET", "beat_holder.auc",
                                                                                 weaker.name)  # fmt: skip
    failed = stored(api, weaker)
    assert failed.state == stages_pb2.PROMOTION_STATE_FAILED
    assert [(g.gate, g.passed) for g in failed.gate_results] == [
        ("version_ready", True), ("not_current_holder", True), ("beat_holder.auc", False),
        ("forbid_flags", True)]  # fmt: skip
    assert [a.actor for a in failed.approvals] == ["bob"]
    assert holder(api, "rjb-a") == "models/rjb-a/versions/2"


def test_a_failed_approval_is_recorded_as_a_promotion_update_and_changes_no_stage(api):
    register(api, "rjb-b", metrics=auc(0.80), storage_uri="s3://b/1")
    register(api, "rjb-b", metrics=auc(0.90), storage_uri="s3://b/2")
    weaker = promote(api, "rjb-b", 1, who="alice")
    approve(api, promote(api, "rjb-b", 2, who="alice"))
    before = (etag(api, "rjb-b"), history(api, "rjb-b"))

    with pytest.raises(grpc.RpcError):
        approve(api, weaker)

    stream = api.events.Watch(events_pb2.WatchRequest(
        start_revision=0, filter='model = "rjb-b" AND type = "promotion.updated"'), timeout=10)  # fmt: skip
    updated = next(iter(stream)).event
    stream.cancel()
    assert (updated.subject, updated.actor) == (weaker.name, "bob")
    assert updated.promotion.state == stages_pb2.PROMOTION_STATE_FAILED
    assert (etag(api, "rjb-b"), history(api, "rjb-b")) == before


def test_an_approval_applies_a_promotion_whose_gates_still_pass_and_records_the_fresh_verdicts(api):
    register(api, "rjb-c", metrics=auc(0.90), storage_uri="s3://b/1")
    register(api, "rjb-c", metrics=auc(0.80), storage_uri="s3://b/2")
    stronger = promote(api, "rjb-c", 1, who="alice")
    approve(api, promote(api, "rjb-c", 2, who="alice"))

    applied = approve(api, stronger)

    assert [g.detail for g in stronger.gate_results if g.gate == "beat_holder.auc"] == ["no current holder to beat"]
    assert applied.state == stages_pb2.PROMOTION_STATE_APPLIED
    assert applied.previous_version == "models/rjb-c/versions/2"
    fresh = [(g.passed, g.detail) for g in stored(api, stronger).gate_results if g.gate == "beat_holder.auc"]
    assert fresh == [(True, "metrics.auc 0.9 is within holder version 2's 0.8 (tolerance 0)")]
    assert holder(api, "rjb-c") == "models/rjb-c/versions/1"


def test_the_last_approval_re_hashes_the_files_and_fails_the_promotion_when_one_was_altered(api, short_dir):
    folders = register_folders(api, "rjf-a", short_dir, 1)
    pending = promote(api, "rjf-a", 1, who="alice")
    first = approve(api, pending, who="bob")
    (folders[0] / "model.bin").write_bytes(b"tampered")

    with pytest.raises(grpc.RpcError) as raised:
        approve(api, pending, who="carol")

    assert [g.passed for g in pending.gate_results if g.gate == "verify_files"] == [True]
    assert first.state == stages_pb2.PROMOTION_STATE_PENDING_APPROVAL
    assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "changed: model.bin" in raised.value.details()
    assert error_info(raised.value).metadata["gates"] == "verify_files"
    assert stored(api, pending).state == stages_pb2.PROMOTION_STATE_FAILED
    assert holder(api, "rjf-a") is None


def test_the_last_approval_applies_when_the_files_still_match(api, short_dir):
    register_folders(api, "rjf-b", short_dir, 1)
    pending = promote(api, "rjf-b", 1, who="alice")
    approve(api, pending, who="bob")

    applied = approve(api, pending, who="carol")

    assert applied.state == stages_pb2.PROMOTION_STATE_APPLIED
    assert [(g.gate, g.passed) for g in applied.gate_results if g.gate == "verify_files"] == [("verify_files", True)]
    assert [a.actor for a in applied.approvals] == ["bob", "carol"]
    assert holder(api, "rjf-b") == "models/rjf-b/versions/1"


def test_the_last_approval_judges_by_the_policy_in_force_now(api, policy_file):
    register(api, "rjp-a", metrics=auc(0.5))
    pending = promote(api, "rjp-a", 1, who="alice")
    write_policy(policy_file, POLICY.replace('pattern = "rjp-*"\n[models.gates.production]\napprovals = 1',
                                             'pattern = "rjp-*"\n[models.gates.production]\napprovals = 1\n'
                                             'metrics = ["auc >= 0.9"]'), bump=1)  # fmt: skip

    with pytest.raises(grpc.RpcError) as raised:
        approve(api, pending)

    assert error_info(raised.value).metadata["gates"] == "metrics.auc"
    assert "metrics.auc 0.5 < 0.9" in raised.value.details()
    assert stored(api, pending).state == stages_pb2.PROMOTION_STATE_FAILED
    assert holder(api, "rjp-a") is None
