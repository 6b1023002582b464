"""Each policy gate, pass and fail, with a detail a user can act on."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st
from studbook.daemon.domain.gates import evaluate, held_stage
from studbook.daemon.domain.model import (
    ArtifactFile,
    Dataset,
    Environment,
    Metric,
    Model,
    ModelVersion,
    Signature,
    TensorSpec,
)
from studbook.daemon.domain.policy import GATE_KINDS, HolderMetric, MetricThreshold, StageGates

SIG = Signature(inputs=(TensorSpec("x", "float32", (-1, 4)),), outputs=(TensorSpec("y", "float32", (-1,)),))
BREAKING = Signature(inputs=(TensorSpec("x", "float32", (-1, 8)),), outputs=(TensorSpec("y", "float32", (-1,)),))


def version(number=2, **fields):
    fields.setdefault("model", "fraud")
    return ModelVersion(number=number, **fields)


def only(results):
    assert len(results) == 1, results
    return results[0]


def test_no_gates_yield_no_results():
    assert evaluate(StageGates(), version(), None, None) == []


def test_required_metadata_passes_when_present():
    full = version(model_card="# card", signature=SIG, environment=Environment(python_version="3.11"),
                   datasets=[Dataset("txns", "1")], tags={"team": "risk"})  # fmt: skip

    results = evaluate(
        StageGates(require=("model_card", "signature", "environment", "dataset", "tag:team")), full, None, None
    )

    assert [r.gate for r in results] == ["require.model_card", "require.signature", "require.environment",
                                         "require.dataset", "require.tag:team"]  # fmt: skip
    assert all(r.passed for r in results)


def test_required_metadata_fails_naming_what_is_missing():
    results = evaluate(StageGates(require=("model_card", "signature", "environment", "dataset", "tag:team")),
                       version(model_card="  "), None, None)  # fmt: skip

    assert not any(r.passed for r in results)
    assert results[0].detail == "version 2 lacks a model card"
    assert results[4].detail == "tag 'team' is missing"


def test_a_stage_can_require_the_files_be_kept_by_the_registry():
    gates = StageGates(require=("kept_files",))

    kept = only(evaluate(gates, version(kept=True), None, None))
    referenced = only(evaluate(gates, version(kept=False), None, None))

    assert (kept.gate, kept.passed) == ("require.kept_files", True)
    assert not referenced.passed
    assert referenced.detail == "version 2 lacks a copy of its files kept by the registry"


def test_a_metric_below_its_threshold_fails_with_the_figures():
    candidate = version(metrics=[Metric("auc", 0.87, split="validation")])

    result = only(
        evaluate(StageGates(metrics=(MetricThreshold("auc", ">=", 0.90, "validation"),)), candidate, None, None)
    )

    assert not result.passed
    assert result.detail == "metrics.auc 0.87 < 0.9 on validation"


def test_a_metric_meeting_its_threshold_passes():
    candidate = version(metrics=[Metric("loss", 0.2)])

    result = only(evaluate(StageGates(metrics=(MetricThreshold("loss", "<=", 0.3),)), candidate, None, None))

    assert result.passed and result.detail == "metrics.loss 0.2 <= 0.3"


def test_a_metric_not_recorded_on_the_split_fails():
    candidate = version(metrics=[Metric("auc", 0.99)])

    result = only(evaluate(StageGates(metrics=(MetricThreshold("auc", ">=", 0.9, "test"),)), candidate, None, None))

    assert not result.passed and "not recorded on test" in result.detail


@given(actual=st.floats(-1e6, 1e6), bound=st.floats(-1e6, 1e6), op=st.sampled_from([">=", ">", "<=", "<", "=="]))
def test_a_threshold_passes_exactly_when_the_comparison_holds(actual, bound, op):
    expected = {">=": actual >= bound, ">": actual > bound, "<=": actual <= bound, "<": actual < bound,
                "==": actual == bound}[op]  # fmt: skip

    result = only(
        evaluate(
            StageGates(metrics=(MetricThreshold("m", op, bound),)), version(metrics=[Metric("m", actual)]), None, None
        )
    )

    assert result.passed is expected


def test_beating_the_holder_passes_within_tolerance_and_fails_beyond_it():
    holder = version(1, metrics=[Metric("auc", 0.90), Metric("loss", 0.30)])
    candidate = version(2, metrics=[Metric("auc", 0.895), Metric("loss", 0.305)])
    metrics = (HolderMetric("auc"), HolderMetric("loss", lower_is_better=True))

    lenient = evaluate(StageGates(beat_holder=metrics, tolerance=0.01), candidate, holder, None)
    strict = evaluate(StageGates(beat_holder=metrics), candidate, holder, None)

    assert all(r.passed for r in lenient)
    assert not any(r.passed for r in strict)
    assert strict[0].detail == "metrics.auc 0.895 is worse than holder version 1's 0.9 (tolerance 0)"


def test_beat_holder_passes_without_a_holder_and_fails_when_the_candidate_lacks_the_metric():
    holder = version(1, metrics=[Metric("auc", 0.9)])
    gates = StageGates(beat_holder=(HolderMetric("auc"),))

    assert only(evaluate(gates, version(), None, None)).passed
    assert not only(evaluate(gates, version(), holder, None)).passed


def test_a_compatible_signature_passes():
    result = only(
        evaluate(StageGates(signature_compatible=True), version(signature=SIG), version(1, signature=SIG), None)
    )

    assert result.passed


def test_a_breaking_signature_needs_a_major_bump():
    holder = version(1, signature=SIG, semver="1.2.0")
    minor = version(2, signature=BREAKING, semver="1.3.0")
    major = version(3, signature=BREAKING, semver="2.0.0")
    gates = StageGates(signature_compatible=True)

    refused = only(evaluate(gates, minor, holder, None))
    allowed = only(evaluate(gates, major, holder, None))

    assert not refused.passed and "needs a major semver bump" in refused.detail and "1.2.0 -> 1.3.0" in refused.detail
    assert allowed.passed


def test_file_verification_reports_what_the_re_hash_found():
    gates = StageGates(verify_files=True)

    assert only(evaluate(gates, version(), None, True)).passed
    changed = only(evaluate(gates, version(), None, False, "changed: model.bin"))
    unknown = only(evaluate(gates, version(), None, None, "not local"))

    assert not changed.passed and changed.detail == "changed: model.bin"
    assert not unknown.passed and "could not be re-verified: not local" in unknown.detail


def test_the_name_pattern_must_match_the_whole_model_name():
    gates = StageGates(name_pattern="fraud-[a-z]+")

    assert only(evaluate(gates, version(model="fraud-eu"), None, None)).passed
    assert not only(evaluate(gates, version(model="fraud-eu-2"), None, None)).passed


def test_approvals_are_reported_but_never_fail():
    result = only(evaluate(StageGates(approvals=2), version(), None, None))

    assert result.passed and "needs 2 approval(s)" in result.detail


def test_from_passes_when_the_candidate_holds_an_allowed_stage():
    result = only(evaluate(StageGates(from_stages=("staging",)), version(3), None, None, target="production",
                           held="staging"))  # fmt: skip

    assert result.gate == "from"
    assert result.passed
    assert result.detail == "version 3 holds staging; production may be reached from: staging"


def test_from_fails_when_the_candidate_holds_another_stage_or_none():
    gates = StageGates(from_stages=("staging",))

    elsewhere = only(evaluate(gates, version(3), None, None, target="production", held="development"))
    nowhere = only(evaluate(gates, version(3), None, None, target="production"))

    assert not elsewhere.passed
    assert elsewhere.detail == "version 3 holds development; production may be reached from: staging"
    assert not nowhere.passed
    assert nowhere.detail == "version 3 holds no stage; production may be reached from: staging"


def test_from_none_admits_a_version_holding_no_stage():
    gates = StageGates(from_stages=("staging", "none"))

    assert only(evaluate(gates, version(), None, None, target="production", held=None)).passed
    assert only(evaluate(gates, version(), None, None, target="production", held="staging")).passed
    assert not only(evaluate(gates, version(), None, None, target="production", held="development")).passed


def test_from_comes_first_among_the_verdicts():
    gates = StageGates(from_stages=("staging",), require=("model_card",), name_pattern="fraud")

    results = evaluate(gates, version(), None, None, held="staging")

    assert [r.gate for r in results] == ["from", "require.model_card", "name_pattern"]


def test_a_version_holds_the_stage_the_model_lists_it_for():
    model = Model("fraud", stage_holders={"staging": 3, "production": 2}, aliases={"champion": 3})

    assert held_stage(model, 3) == "staging"
    assert held_stage(model, 2) == "production"
    assert held_stage(model, 1) is None


def test_a_rollback_skips_every_gate_by_default_and_approvals_always():
    gates = StageGates(from_stages=("staging",), require=("model_card",), metrics=(MetricThreshold("auc", ">=", 0.9),),
                       verify_files=True, approvals=2)  # fmt: skip
    named = StageGates(verify_files=True, approvals=2, rollback_skips=())

    assert gates.for_rollback().empty
    assert evaluate(gates.for_rollback(), version(), None, None) == []
    assert named.for_rollback().approvals == 0
    assert [r.gate for r in evaluate(named.for_rollback(), version(), None, True)] == ["verify_files"]


ALL_GATES = StageGates(
    from_stages=("staging",), require=("model_card",), metrics=(MetricThreshold("auc", ">=", 0.9),),
    beat_holder=(HolderMetric("auc"),), signature_compatible=True, verify_files=True, name_pattern="fraud",
    approvals=1, forbid_flags=("dangerous-*",),
)  # fmt: skip


def kind_of(gate: str) -> str:
    return gate.split(".")[0]


@given(st.lists(st.sampled_from(GATE_KINDS), unique=True))
def test_a_rollback_runs_exactly_the_gate_kinds_it_does_not_skip(skips):
    gates = replace(ALL_GATES, rollback_skips=tuple(skips))

    results = evaluate(gates.for_rollback(), version(), version(1), True)

    assert {kind_of(r.gate) for r in results} == set(GATE_KINDS) - set(skips)


def test_a_gate_table_judging_nothing_is_empty():
    assert StageGates().empty
    assert StageGates(tolerance=0.5, rollback_skips=()).empty
    assert not StageGates(approvals=1).empty
    assert not StageGates(from_stages=("staging",)).empty


def test_forbid_flags_names_each_file_and_the_flags_it_carries():
    gates = StageGates(forbid_flags=("dangerous-*", "remote-code"))
    clean = version(
        files=[
            ArtifactFile("model.safetensors", 8, "a" * 64, "safetensors"),
            ArtifactFile("model.pkl", 8, "b" * 64, "pickle", ("unsafe-format", "unknown-global:my.Model")),
        ]
    )
    unsafe = version(files=[
        ArtifactFile("model.pkl", 8, "b" * 64, "pickle", ("unsafe-format", "dangerous-global:posix.system")),
        ArtifactFile("config.json", 8, "c" * 64, "", ("remote-code:modeling_x.py",)),
    ])  # fmt: skip

    [passed] = evaluate(gates, clean, None, None)
    [refused] = evaluate(gates, unsafe, None, None)

    assert (passed.gate, passed.passed) == ("forbid_flags", True)
    assert (refused.gate, refused.passed) == ("forbid_flags", False)
    assert "model.pkl: dangerous-global:posix.system" in refused.detail
    assert "config.json: remote-code:modeling_x.py" in refused.detail
    assert "unsafe-format" not in refused.detail


def test_forbid_flags_holds_back_a_version_an_older_daemon_flagged_unsafe_global():
    older = version(files=[ArtifactFile("model.pkl", 8, "b" * 64, "pickle",
                                        ("unsafe-format", "unsafe-global:posix.system"))])  # fmt: skip
    ordinary = version(files=[ArtifactFile("model.pkl", 8, "b" * 64, "pickle",
                                           ("unsafe-format", "unsafe-global:torch.nn.modules.linear.Linear"))])  # fmt: skip

    [refused] = evaluate(StageGates(forbid_flags=("dangerous-*",)), older, None, None)
    [passed] = evaluate(StageGates(forbid_flags=("dangerous-*",)), ordinary, None, None)

    assert not refused.passed and "unsafe-global:posix.system" in refused.detail
    assert passed.passed
