"""How MLflow's records become studbook's: model ids, tags, params, metric histories, request ids."""

from __future__ import annotations

import math
import re

from hypothesis import given
from hypothesis import strategies as st
from studbook.cli.importers.mlflow_mapping import (
    MAX_TAGS,
    fit_params,
    fit_tags,
    label_for,
    metrics_from,
    model_id_for,
    request_id,
    version_draft,
)
from studbook.cli.importers.mlflow_source import MetricPoint, SourceRun, SourceVersion, resolve_location

# The registry's own rule for model ids (daemon/domain/names.py), restated as the specification.
MODEL_ID = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")


@given(st.text(max_size=300))
def test_any_mlflow_name_becomes_a_valid_model_id_or_none(name: str) -> None:
    made = model_id_for(name)
    assert made is None or MODEL_ID.fullmatch(made)


@given(st.from_regex(MODEL_ID, fullmatch=True))
def test_a_name_that_is_already_a_model_id_is_kept(name: str) -> None:
    if not name.endswith("-"):
        assert model_id_for(name) == name


def test_names_people_give_mlflow_models() -> None:
    assert model_id_for("Fraud Detector") == "fraud-detector"
    assert model_id_for("team/churn_v2") == "team-churn_v2"
    assert model_id_for("!!!") is None


def test_an_alias_is_kept_only_as_it_is() -> None:
    assert label_for("champion") == "champion"
    assert label_for("Prod") is None  # renaming would break `models:/NAME@Prod`
    assert label_for("latest") is None


@given(st.dictionaries(st.text(max_size=20), st.text(max_size=1100), max_size=80))
def test_tags_kept_are_those_the_registry_holds_and_the_rest_are_named(tags: dict[str, str]) -> None:
    fitted = fit_tags(tags)

    assert len(fitted.kept) <= MAX_TAGS
    assert all(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.:/-]{0,127}", k) and len(v) <= 1024 for k, v in fitted.kept.items())
    assert len(fitted.kept) + len(fitted.left_out) == len(tags)


def test_earlier_tags_win_a_key() -> None:
    assert fit_tags({"owner": "version"}, {"owner": "run"}).kept == {"owner": "version"}


def test_params_with_keys_the_registry_refuses_are_left_out_and_said() -> None:
    fitted = fit_params({"lr": "0.1", "bad key": "1"})
    assert fitted.kept == {"lr": "0.1"} and fitted.left_out == [
        "param 'bad key': the registry's param keys are letters, digits and _.:/@-"
    ]


points = st.builds(
    MetricPoint,
    key=st.sampled_from(["auc", "loss", "val/f1"]),
    value=st.floats(allow_nan=True, allow_infinity=True),
    step=st.integers(0, 1000),
    timestamp_ms=st.integers(0, 2**41),
)


@given(st.lists(points, max_size=50))
def test_every_finite_point_is_kept_and_the_others_are_counted(logged: list[MetricPoint]) -> None:
    metrics, left_out = metrics_from(logged)

    finite = [p for p in logged if math.isfinite(p.value)]
    assert sorted((m.key, m.value) for m in metrics) == sorted((p.key, p.value) for p in finite)
    if len(finite) < len(logged):
        assert any("not a finite number" in line for line in left_out)


def test_a_metric_logged_once_at_step_zero_is_a_summary_and_a_history_keeps_its_steps() -> None:
    metrics, _ = metrics_from([MetricPoint("loss", 0.2, 0, 1000), MetricPoint("auc", 0.5, 0, 1000),
                               MetricPoint("auc", 0.7, 1, 2000)])  # fmt: skip

    by_key = {(m.key, m.step if m.HasField("step") else None, m.value) for m in metrics}
    assert by_key == {("loss", None, 0.2), ("auc", 0, 0.5), ("auc", 1, 0.7)}
    assert {m.time.ToMilliseconds() for m in metrics} == {1000, 2000}


def test_request_ids_depend_on_the_records_identity_alone() -> None:
    one = SourceVersion("m", 3, creation_ms=1700000000000)
    again = SourceVersion("m", 3, creation_ms=1700000000000, description="edited since")
    recreated = SourceVersion("m", 3, creation_ms=1700000000001)  # deleted and registered anew in MLflow

    assert request_id(one.identity) == request_id(again.identity) != request_id(recreated.identity)


def test_a_draft_carries_the_run_and_keeps_mlflows_number_and_time() -> None:
    run = SourceRun("r1", params={"lr": "0.1"}, tags={"team": "a", "mlflow.source.git.commit": "c0ffee"},
                    metrics=[MetricPoint("auc", 0.9, 0, 5)])  # fmt: skip
    version = SourceVersion("Fraud", 7, creation_ms=1_700_000_000_123, run_id="r1", tags={"ok": "1"})

    draft = version_draft("fraud", version, run, actor="me@host")

    request = draft.request
    assert request.number == 7 and request.parent == "models/fraud"
    assert request.source_create_time.ToMilliseconds() == 1_700_000_000_123
    assert dict(request.version.tags) == {"ok": "1", "run.team": "a"}
    assert request.version.run.run_id == "r1" and request.version.run.code_commit == "c0ffee"
    assert dict(request.version.params) == {"lr": "0.1"}
    assert request.version.created_from == "mlflow:Fraud/7"  # how a second run knows it


def test_a_runs_uri_is_resolved_through_the_runs_artifact_root() -> None:
    run = SourceRun("abc", artifact_uri="file:///store/1/abc/artifacts")
    version = SourceVersion("m", 1, 0, source="runs:/abc/model", run_id="abc")

    assert resolve_location(version, run) == "file:///store/1/abc/artifacts/model"


def test_a_history_longer_than_one_call_carries_is_kept_whole_for_logging_after() -> None:
    run = SourceRun("r1", metrics=[MetricPoint("loss", 1.0 / (step + 1), step, step) for step in range(25_000)])

    draft = version_draft("m", SourceVersion("m", 1, creation_ms=1, run_id="r1"), run, actor="me")

    assert len(draft.request.version.metrics) == 10_000
    assert len(draft.later_metrics) == 15_000
    assert [m.step for m in [*draft.request.version.metrics, *draft.later_metrics]] == list(range(25_000))
    assert draft.left_out == []
