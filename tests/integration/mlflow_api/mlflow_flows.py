"""Flows of MLflow's own client against studbook's MLflow endpoint; run inside MLflow's venv by
test_mlflow_client.py (`python mlflow_flows.py FLOW`). Written from MLflow's documented client
API. A flow exits non-zero, with the failed assertion, when studbook answers otherwise."""

from __future__ import annotations

import os
import sys
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

FLOWS: dict[str, Callable[[], None]] = {}


def flow(function: Callable[[], None]) -> Callable[[], None]:
    FLOWS[function.__name__] = function
    return function


def unique(prefix: str = "m") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def as_role(role: str) -> None:
    """MLflow's client reads its token for every request."""
    os.environ["MLFLOW_TRACKING_TOKEN"] = os.environ[f"STUDBOOK_TEST_TOKEN_{role.upper()}"]


def refused(call: Callable[[], object], error_code: str) -> MlflowException:
    try:
        call()
    except MlflowException as error:
        assert error.error_code == error_code, (error.error_code, error.message)
        return error
    raise AssertionError(f"expected {error_code}, the call succeeded")


@flow
def models_and_versions() -> None:
    client = MlflowClient()
    name = unique()
    model = client.create_registered_model(name, tags={"team": "risk"}, description="scores fraud")
    assert model.name == name and model.tags == {"team": "risk"} and model.description == "scores fraud"
    for n in range(1, 6):
        version = client.create_model_version(name, f"s3://bucket/{name}/{n}", run_id=f"run-{n}",
                                              tags={"n": str(n)}, description=f"v{n}")  # fmt: skip
        assert version.version == str(n) and version.status == "READY" and version.current_stage == "None"
    got = client.get_model_version(name, "3")
    assert (got.source, got.run_id, got.tags, got.description) == (f"s3://bucket/{name}/3", "run-3", {"n": "3"}, "v3")

    client.set_registered_model_tag(name, "owner", "ana")
    client.delete_registered_model_tag(name, "team")
    client.update_registered_model(name, description="scores fraud, v2")
    model = client.get_registered_model(name)
    assert model.tags == {"owner": "ana"} and model.description == "scores fraud, v2"
    client.set_model_version_tag(name, "2", "checked", "yes")
    client.delete_model_version_tag(name, "2", "n")
    client.update_model_version(name, "2", description="checked by hand")
    two = client.get_model_version(name, "2")
    assert two.tags == {"checked": "yes"} and two.description == "checked by hand"

    found = client.search_model_versions(f"name = '{name}' AND run_id IN ('run-1', 'run-4')")
    assert sorted(v.version for v in found) == ["1", "4"]
    found = client.search_model_versions(f"name = '{name}' AND tags.n = '5'")
    assert [v.version for v in found] == ["5"]
    found = client.search_model_versions(f"name = '{name}' AND version_number > 3")
    assert sorted(v.version for v in found) == ["4", "5"]

    seen, token = [], None
    while True:
        page = client.search_model_versions(f"name = '{name}'", max_results=2, order_by=["version_number ASC"],
                                            page_token=token)  # fmt: skip
        seen.append([v.version for v in page])
        token = page.token
        if not token:
            break
    assert seen == [["1", "2"], ["3", "4"], ["5"]], seen
    every = mlflow.search_model_versions(filter_string=f"name = '{name}'")
    assert len(every) == 5

    refused(lambda: client.create_registered_model(name), "RESOURCE_ALREADY_EXISTS")
    refused(lambda: client.get_registered_model(unique("absent")), "RESOURCE_DOES_NOT_EXIST")
    refused(lambda: client.get_model_version(name, "99"), "RESOURCE_DOES_NOT_EXIST")

    client.delete_model_version(name, "1")
    refused(lambda: client.get_model_version(name, "1"), "RESOURCE_DOES_NOT_EXIST")
    assert [v.version for v in client.search_model_versions(f"name = '{name}'")] == ["5", "4", "3", "2"]
    client.delete_registered_model(name)
    refused(lambda: client.get_registered_model(name), "RESOURCE_DOES_NOT_EXIST")


@flow
def registered_model_search() -> None:
    client = MlflowClient()
    prefix = unique("s")
    for n, team in ((1, "risk"), (2, "ads"), (3, "risk")):
        client.create_registered_model(f"{prefix}-{n}", tags={"team": team})
    found = client.search_registered_models(filter_string=f"name LIKE '{prefix}-%'")
    assert [m.name for m in found] == [f"{prefix}-1", f"{prefix}-2", f"{prefix}-3"]
    found = client.search_registered_models(filter_string=f"name LIKE '{prefix}%' AND tags.team = 'risk'",
                                            order_by=["name DESC"])  # fmt: skip
    assert [m.name for m in found] == [f"{prefix}-3", f"{prefix}-1"]
    first = client.search_registered_models(filter_string=f"name LIKE '{prefix}%'", max_results=2)
    assert len(first) == 2 and first.token
    rest = client.search_registered_models(filter_string=f"name LIKE '{prefix}%'", max_results=2,
                                           page_token=first.token)  # fmt: skip
    assert [m.name for m in rest] == [f"{prefix}-3"] and not rest.token
    # SQL's LIKE and ILIKE: `_` is any one character, ILIKE takes any pattern on tags too.
    found = client.search_registered_models(filter_string=f"name LIKE '{prefix}-_' AND tags.team ILIKE 'R_SK'")
    assert [m.name for m in found] == [f"{prefix}-1", f"{prefix}-3"]
    pages = client.search_registered_models(filter_string=f"name ILIKE '{prefix.upper()}%' AND tags.team ILIKE '_%'",
                                            max_results=2)  # fmt: skip
    assert len(pages) == 2 and pages.token
    refused(lambda: client.search_registered_models(filter_string="name = 'a' OR name = 'b'"),
            "INVALID_PARAMETER_VALUE")  # fmt: skip


@flow
def aliases() -> None:
    client = MlflowClient()
    name = unique()
    client.create_registered_model(name)
    for n in (1, 2):
        client.create_model_version(name, f"s3://bucket/{name}/{n}")
    client.set_registered_model_alias(name, "champion", "1")
    assert client.get_model_version_by_alias(name, "champion").version == "1"
    client.set_registered_model_alias(name, "champion", "2")
    by_alias = client.get_model_version_by_alias(name, "champion")
    assert by_alias.version == "2" and by_alias.aliases == ["champion"]
    assert client.get_registered_model(name).aliases == {"champion": "2"}
    client.delete_registered_model_alias(name, "champion")
    refused(lambda: client.get_model_version_by_alias(name, "champion"), "RESOURCE_DOES_NOT_EXIST")


@flow
def rename() -> None:
    client = MlflowClient()
    name, new = unique(), unique()
    client.create_registered_model(name, tags={"team": "risk"}, description="scores churn")
    for n in (1, 2):
        client.create_model_version(name, f"s3://bucket/{name}/{n}", tags={"n": str(n)})
    client.set_registered_model_alias(name, "champion", "1")
    client.transition_model_version_stage(name, "2", "Staging")
    as_role("maintainer")
    refused(lambda: client.rename_registered_model(name, new), "PERMISSION_DENIED")
    as_role("admin")

    client.rename_registered_model(name, new)  # MLflow's client returns nothing

    refused(lambda: client.get_registered_model(name), "RESOURCE_DOES_NOT_EXIST")
    model = client.get_registered_model(new)
    assert model.name == new and model.description == "scores churn" and model.tags == {"team": "risk"}
    assert model.aliases == {"champion": "1"}, model.aliases
    by_alias = client.get_model_version_by_alias(new, "champion")
    assert (by_alias.name, by_alias.version, by_alias.tags) == (new, "1", {"n": "1"})
    found = client.search_model_versions(f"name = '{new}'")
    assert sorted((v.name, v.version) for v in found) == [(new, "1"), (new, "2")]
    assert client.search_model_versions(f"name = '{name}'") == []
    assert client.get_model_version(new, "2").current_stage == "Staging"
    assert [v.version for v in client.search_model_versions(f"name = '{new}' AND tags.n = '2'")] == ["2"]
    assert client.create_model_version(new, f"s3://bucket/{new}/3").version == "3"

    taken = unique()
    client.create_registered_model(taken)
    refused(lambda: client.rename_registered_model(new, taken), "RESOURCE_ALREADY_EXISTS")
    refused(lambda: client.rename_registered_model(unique("absent"), unique()), "RESOURCE_DOES_NOT_EXIST")


@flow
def stages() -> None:
    client = MlflowClient()
    name = unique()
    client.create_registered_model(name)
    for n in (1, 2, 3):
        client.create_model_version(name, f"s3://bucket/{name}/{n}")
    assert client.transition_model_version_stage(name, "1", "Staging").current_stage == "Staging"
    assert client.transition_model_version_stage(name, "1", "Production").current_stage == "Production"
    client.transition_model_version_stage(name, "2", "Production", archive_existing_versions=True)
    latest = {v.current_stage: v.version for v in client.get_latest_versions(name)}
    assert latest == {"Production": "2", "Archived": "1", "None": "3"}, latest

    gated = unique("gated")
    client.create_registered_model(gated)
    client.create_model_version(gated, f"s3://bucket/{gated}/1")
    error = refused(lambda: client.transition_model_version_stage(gated, "1", "Production"), "BAD_REQUEST")
    assert "model card" in error.message, error.message
    assert client.get_model_version(gated, "1").current_stage == "None"


@flow
def access() -> None:
    client = MlflowClient()
    name = unique()
    as_role("viewer")
    refused(lambda: client.create_registered_model(name), "PERMISSION_DENIED")
    as_role("contributor")
    client.create_registered_model(name)
    client.create_model_version(name, f"s3://bucket/{name}/1")
    refused(lambda: client.transition_model_version_stage(name, "1", "Staging"), "PERMISSION_DENIED")
    os.environ["MLFLOW_TRACKING_TOKEN"] = "sbk_0123456789ab_" + "x" * 43
    refused(lambda: client.get_registered_model(name), "UNAUTHENTICATED")


@flow
def pyfunc_round_trip() -> None:
    import numpy as np
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository
    from sklearn.linear_model import LogisticRegression

    features = np.random.RandomState(0).rand(60, 4)
    labels = (features[:, 0] + features[:, 2] > 1.0).astype(int)
    model = LogisticRegression().fit(features, labels)
    folder = Path(tempfile.mkdtemp()) / "model"
    mlflow.sklearn.save_model(model, str(folder), serialization_format="pickle")

    client = MlflowClient()
    name = unique("sk")
    client.create_registered_model(name)
    get_artifact_repository(f"mlflow-artifacts:/uploads/{name}/model").log_artifacts(str(folder))
    version = client.create_model_version(name, f"mlflow-artifacts:/uploads/{name}/model")
    client.set_registered_model_alias(name, "champion", version.version)

    loaded = mlflow.pyfunc.load_model(f"models:/{name}@champion")
    assert np.array_equal(loaded.predict(features), model.predict(features))
    by_number = mlflow.sklearn.load_model(f"models:/{name}/{version.version}")
    assert np.allclose(by_number.predict_proba(features), model.predict_proba(features))


if __name__ == "__main__":
    FLOWS[sys.argv[1]]()
    print("ok")
