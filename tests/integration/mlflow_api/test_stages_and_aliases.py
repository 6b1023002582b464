"""Stage transitions and aliases through MLflow's endpoints: studbook's promotions, gates and
approvals decide, and MLflow's error JSON tells the client why not."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import stop_daemon  # type: ignore[import-not-found]
from support.mlflow_http import MlflowHttp, start_with_mlflow

POLICY = """
[[models]]
pattern = "gated-*"
[models.gates.production]
require = ["model_card"]

[[models]]
pattern = "appr-*"
[models.gates.production]
approvals = 1
"""


@pytest.fixture(scope="module")
def gated() -> Iterator[MlflowHttp]:
    root = Path(tempfile.mkdtemp(prefix="sb-"))
    (root / "policy.toml").write_text(POLICY)
    daemon, api = start_with_mlflow(root, "--policy", str(root / "policy.toml"))
    yield api
    stop_daemon(daemon)
    shutil.rmtree(root, ignore_errors=True)


def model_with(api: MlflowHttp, name: str, versions: int) -> None:
    api.ok("POST", "registered-models/create", name=name)
    for n in range(1, versions + 1):
        api.ok("POST", "model-versions/create", name=name, source=f"s3://b/{name}/{n}")


def stage_of(api: MlflowHttp, name: str, version: int) -> str:
    return str(api.ok("GET", "model-versions/get", name=name, version=str(version))["model_version"]["current_stage"])


def transition(api: MlflowHttp, name: str, version: int, stage: str, **extra: object):  # type: ignore[no-untyped-def]
    return api.post("model-versions/transition-stage", name=name, version=str(version), stage=stage, **extra)


def test_transitions_move_versions_between_stages(gated: MlflowHttp) -> None:
    name = f"m-{uuid.uuid4().hex[:8]}"
    model_with(gated, name, 2)
    answer = transition(gated, name, 1, "Staging")
    assert answer.status == 200 and answer.body["model_version"]["current_stage"] == "Staging"
    assert transition(gated, name, 1, "production").body["model_version"]["current_stage"] == "Production"
    assert stage_of(gated, name, 1) == "Production"
    transition(gated, name, 2, "Production")
    # A stage holds one version in studbook: version 1 left Production when version 2 entered.
    assert (stage_of(gated, name, 1), stage_of(gated, name, 2)) == ("None", "Production")
    assert transition(gated, name, 2, "None").body["model_version"]["current_stage"] == "None"


def test_archive_existing_versions_archives_the_holder_replaced(gated: MlflowHttp) -> None:
    name = f"m-{uuid.uuid4().hex[:8]}"
    model_with(gated, name, 2)
    transition(gated, name, 1, "Production")
    assert transition(gated, name, 2, "Production", archive_existing_versions=True).status == 200
    assert (stage_of(gated, name, 1), stage_of(gated, name, 2)) == ("Archived", "Production")


def test_latest_versions_per_stage(gated: MlflowHttp) -> None:
    name = f"m-{uuid.uuid4().hex[:8]}"
    model_with(gated, name, 4)
    transition(gated, name, 2, "Production")
    transition(gated, name, 3, "Staging")
    transition(gated, name, 1, "Archived")
    every = gated.ok("GET", "registered-models/get-latest-versions", name=name)["model_versions"]
    assert sorted((v["current_stage"], v["version"]) for v in every) == [
        ("Archived", "1"), ("None", "4"), ("Production", "2"), ("Staging", "3"),
    ]  # fmt: skip
    some = gated.ok("POST", "registered-models/get-latest-versions", name=name, stages=["Production", "None"])
    assert sorted(v["version"] for v in some["model_versions"]) == ["2", "4"]
    model = gated.ok("GET", "registered-models/get", name=name)["registered_model"]
    assert len(model["latest_versions"]) == 4


def test_a_refused_gate_answers_in_mlflow_error_json_naming_it(gated: MlflowHttp) -> None:
    name = f"gated-{uuid.uuid4().hex[:8]}"
    model_with(gated, name, 1)
    answer = transition(gated, name, 1, "Production")
    assert answer.status == 400
    assert answer.error_code == "BAD_REQUEST"
    assert "model card" in answer.body["message"]
    assert answer.body["details"]["reason"] == "GATE_NOT_MET"
    assert "model_card" in answer.body["details"]["gates"]
    assert stage_of(gated, name, 1) == "None"


def test_a_promotion_waiting_for_approval_says_so(gated: MlflowHttp) -> None:
    name = f"appr-{uuid.uuid4().hex[:8]}"
    model_with(gated, name, 1)
    answer = transition(gated, name, 1, "Production", role="maintainer")
    assert answer.status == 202
    assert answer.error_code == "INVALID_STATE"
    assert "approval" in answer.body["message"] and f"models/{name}/promotions/" in answer.body["message"]
    assert stage_of(gated, name, 1) == "None"


def test_roles_apply_to_transitions(gated: MlflowHttp) -> None:
    name = f"m-{uuid.uuid4().hex[:8]}"
    model_with(gated, name, 1)
    answer = transition(gated, name, 1, "Staging", role="contributor")
    assert answer.status == 403 and answer.error_code == "PERMISSION_DENIED"
    assert "maintainer" in answer.body["message"]
    assert transition(gated, name, 1, "Archived", role="contributor").status == 403
    assert stage_of(gated, name, 1) == "None"


def test_an_unknown_stage_is_an_invalid_parameter(gated: MlflowHttp) -> None:
    name = f"m-{uuid.uuid4().hex[:8]}"
    model_with(gated, name, 1)
    answer = transition(gated, name, 1, "Canary")
    assert answer.status == 400 and answer.error_code == "INVALID_PARAMETER_VALUE"


def test_aliases_are_studbook_aliases(gated: MlflowHttp) -> None:
    name = f"m-{uuid.uuid4().hex[:8]}"
    model_with(gated, name, 2)
    assert gated.ok("POST", "registered-models/alias", name=name, alias="champion", version="1") == {}
    # Setting it again to the same version is fine, as in MLflow.
    gated.ok("POST", "registered-models/alias", name=name, alias="champion", version="1")
    by_alias = gated.ok("GET", "registered-models/alias", name=name, alias="champion")["model_version"]
    assert by_alias["version"] == "1" and by_alias["aliases"] == ["champion"]
    gated.ok("POST", "registered-models/alias", name=name, alias="champion", version="2")
    model = gated.ok("GET", "registered-models/get", name=name)["registered_model"]
    assert model["aliases"] == [{"alias": "champion", "version": "2"}]
    assert gated.ok("DELETE", "registered-models/alias", name=name, alias="champion") == {}
    gone = gated.get("registered-models/alias", name=name, alias="champion")
    assert gone.status == 404 and gone.error_code == "RESOURCE_DOES_NOT_EXIST"


@pytest.mark.parametrize("alias", ["production", "Production", "STAGING"])
def test_an_alias_named_like_a_stage_is_refused_and_says_why(gated: MlflowHttp, alias: str) -> None:
    name = f"m-{uuid.uuid4().hex[:8]}"
    model_with(gated, name, 1)

    answer = gated.post("registered-models/alias", name=name, alias=alias, version="1")

    assert answer.status == 400 and answer.error_code == "INVALID_PARAMETER_VALUE"
    assert answer.body["details"]["reason"] == "ALIAS_IS_STAGE"
    assert f"{alias!r} is a stage of model {name!r}" in answer.body["message"]
    assert "transition-stage" in answer.body["message"]
    assert stage_of(gated, name, 1) == "None"
    assert "aliases" not in gated.ok("GET", "registered-models/get", name=name)["registered_model"]


def test_an_alias_in_upper_case_is_refused_with_the_name_to_use(gated: MlflowHttp) -> None:
    name = f"m-{uuid.uuid4().hex[:8]}"
    model_with(gated, name, 1)

    answer = gated.post("registered-models/alias", name=name, alias="Champion", version="1")

    assert answer.status == 400 and answer.error_code == "INVALID_PARAMETER_VALUE"
    assert "use 'champion' instead of 'Champion'" in answer.body["message"]


def test_latest_in_none_skips_any_number_of_newer_archived_versions(gated: MlflowHttp) -> None:
    name = f"m-{uuid.uuid4().hex[:8]}"
    model_with(gated, name, 7)
    transition(gated, name, 7, "Production")
    for number in (6, 5, 4, 3):
        transition(gated, name, number, "Archived")
    found = gated.ok("POST", "registered-models/get-latest-versions", name=name, stages=["None", "Archived"])
    assert sorted((v["current_stage"], v["version"]) for v in found["model_versions"]) == [
        ("Archived", "6"), ("None", "2"),
    ]  # fmt: skip
