"""`studbook import mlflow http://...` against a real `mlflow server` (pinned, in its own venv):
metadata through MLflow's REST API, files through the server's artifact proxy; and the identity
of what was imported is the registry's own, whichever way it is read."""

from __future__ import annotations

import hashlib
import json
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from studbook.client import Client
from support.cli import Result, runner
from support.mlflow_registry import FilledMlflow, fill, mlflow_server, sqlite_uri
from support.models import fixture

FRAUD = "Fraud Detector"
FRAUD_ID = "fraud-detector"
# Its tests share one filled MLflow (the module's fixture, 11 s to build): on one worker, it is built once.
pytestmark = pytest.mark.xdist_group("mlflow-import-server")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FilledMlflow, Path]]:
    """A tracking server over SQLite, filled through its API; its files only behind its proxy."""
    workdir = tmp_path_factory.mktemp("mlflow-server")
    with mlflow_server(workdir / "mlflow.db", workdir / "served", workdir / "server.log") as url:
        yield fill(url, workdir, server=True), workdir / "mlflow.db"


@pytest.fixture
def studbook(daemon: Any, capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    return runner(daemon.address, capsys)


@pytest.fixture
def client(daemon: Any) -> Iterator[Client]:
    with Client(daemon.address) as opened:
        yield opened


def imported(studbook: Callable[..., Result], uri: str) -> dict[str, Any]:
    result = studbook("import", "mlflow", uri, "--json")
    assert result.code == 0, result.err
    report: dict[str, Any] = result.json()
    return report


def post(url: str, endpoint: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(f"{url}/api/2.0/mlflow/{endpoint}", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")  # fmt: skip
    with urllib.request.urlopen(request, timeout=30) as answer:
        loaded: dict[str, Any] = json.load(answer)
    return loaded


def test_everything_arrives_through_the_rest_api_and_the_artifact_proxy(studbook, client, served) -> None:  # type: ignore[no-untyped-def]
    mlflow, _ = served
    report = imported(studbook, mlflow.uri)

    versions = {i["subject"]: i["outcome"] for i in report["items"] if i["kind"] == "version"}
    # (Another test of this module adds churn@2 to the shared server.)
    assert {k: v for k, v in versions.items() if k != "churn@2"} == {
        f"{FRAUD_ID}@1": "imported", f"{FRAUD_ID}@2": "imported", f"{FRAUD_ID}@3": "imported", "churn@1": "imported"
    }  # fmt: skip
    first = client.get_version(FRAUD_ID, 1)
    expected = {p.relative_to(fixture("mlflow/model")).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in fixture("mlflow/model").rglob("*") if p.is_file()}  # fmt: skip
    assert first.kept and {f.path: f.sha256 for f in first.files} == expected
    second = client.get_version(FRAUD_ID, 2)  # `runs:/RUN/weights`, found through its run's proxied folder
    weights = hashlib.sha256(fixture("safetensors/single.safetensors").read_bytes()).hexdigest()
    assert second.kept and [(f.path, f.sha256) for f in second.files] == [("single.safetensors", weights)]
    made = mlflow.version(FRAUD, 1)
    assert [(m.value, m.step) for m in client.list_metrics(f"{FRAUD_ID}@1", key="auc")] == [
        (value, step) for value, step, _ in made["metrics"]["auc"]
    ]
    assert [(d.name, d.version) for d in first.datasets] == [("transactions", "d1g357")]
    model = client.get_model(FRAUD_ID)
    assert model.stage_holders["production"].endswith("/1") and model.aliases["challenger"].endswith("/2")


def test_a_second_run_imports_only_what_mlflow_gained(studbook, client, served) -> None:  # type: ignore[no-untyped-def]
    mlflow, _ = served
    imported(studbook, mlflow.uri)
    post(mlflow.uri, "registered-models/set-tag", {"name": "churn", "key": "owner", "value": "ops"})
    post(mlflow.uri, "model-versions/create", {"name": "churn", "source": "s3://nowhere-bucket/churn/2"})
    post(mlflow.uri, "model-versions/set-tag", {"name": FRAUD, "version": "1", "key": "reviewed", "value": "yes"})

    again = imported(studbook, mlflow.uri)

    changed = [(i["kind"], i["subject"], i["outcome"]) for i in again["items"] if i["outcome"] != "skipped"]
    assert changed == [("version", f"{FRAUD_ID}@1", "updated"), ("model", "churn", "updated"),
                       ("version", "churn@2", "imported")]  # fmt: skip
    assert client.get_model("churn").tags["owner"] == "ops"
    assert client.get_version(FRAUD_ID, 1).tags["reviewed"] == "yes"
    assert client.get_version(FRAUD_ID, 1).tags["validated"] == "yes"  # what it had stays


def test_the_database_behind_the_server_is_the_same_registry(studbook, client, served) -> None:  # type: ignore[no-untyped-def]
    mlflow, db = served
    imported(studbook, mlflow.uri)

    through_db = imported(studbook, sqlite_uri(db))

    # Request ids come from each record's identity in MLflow, not from the way it was read.
    assert {i["outcome"] for i in through_db["items"]} == {"skipped"}
    assert client.get_model(FRAUD_ID).version_count == 3
