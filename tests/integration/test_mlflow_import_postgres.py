"""`studbook import mlflow postgresql://...`: an MLflow registry on PostgreSQL (filled by a real,
pinned MLflow), read through psycopg, read-only."""

from __future__ import annotations

from typing import Any

from studbook.client import Client
from support.cli import runner
from support.mlflow_registry import fill, mlflow_python

FRAUD_ID = "fraud-detector"


def test_a_postgresql_registry_arrives_like_a_sqlite_one(daemon, capsys, postgres_empty, tmp_path) -> None:  # type: ignore[no-untyped-def]
    mlflow_python(postgres=True)
    url: str = postgres_empty.url
    mlflow = fill(url.replace("postgresql://", "postgresql+psycopg://", 1), tmp_path)
    studbook = runner(daemon.address, capsys)

    # MLflow's own URI works as given: the `+driver` part is MLflow's business, not ours.
    first = studbook("import", "mlflow", url.replace("postgresql://", "postgresql+psycopg://", 1), "--json")
    again = studbook("import", "mlflow", url, "--json")

    assert first.code == 0, first.err
    report: dict[str, Any] = first.json()
    versions = {i["subject"]: i["outcome"] for i in report["items"] if i["kind"] == "version"}
    assert versions == {f"{FRAUD_ID}@1": "imported", f"{FRAUD_ID}@2": "imported", f"{FRAUD_ID}@3": "imported",
                        "churn@1": "imported"}  # fmt: skip
    with Client(daemon.address) as client:
        version = client.get_version(FRAUD_ID, 1)
        assert version.kept and version.run.run_id == mlflow.version("Fraud Detector", 1)["run_id"]
        assert [m.step for m in client.list_metrics(f"{FRAUD_ID}@1", key="auc")] == [0, 1, 2]
        assert dict(client.get_model(FRAUD_ID).aliases)["champion"].endswith("/1")
    assert again.code == 0 and {i["outcome"] for i in again.json()["items"]} == {"skipped"}
