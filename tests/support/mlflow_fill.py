"""Fills an MLflow registry (SQLite backend, local artifact folder) with models, versions, runs,
metric histories, tags, aliases and stages, through MLflow's own client. Run by the MLflow venv's
interpreter (tests/support/mlflow_venv.py), never by studbook's: it imports mlflow.

    python mlflow_fill.py --db PATH --artifacts FOLDER --model-folder FIXTURE --weights FILE

Prints what it made as one JSON line: per model its versions with MLflow's numbers, creation
times (ms), run ids, stages, params, metric histories and tags, and the aliases.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any

warnings.filterwarnings("ignore")  # MLflow's deprecation notes (stages) are not for this output

import mlflow  # noqa: E402
from mlflow import MlflowClient  # noqa: E402
from mlflow.data.http_dataset_source import HTTPDatasetSource  # noqa: E402
from mlflow.data.meta_dataset import MetaDataset  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--uri", required=True, help="tracking URI: sqlite:///... or http://...")
    parser.add_argument("--artifacts", default="", help="where a database-backed registry keeps files")
    parser.add_argument("--model-folder", required=True, help="an MLmodel folder to log as a version's files")
    parser.add_argument("--weights", required=True, help="a safetensors file to log as another version's files")
    args = parser.parse_args()
    os.environ.setdefault("MLFLOW_ENABLE_ASYNC_LOGGING", "false")
    mlflow.set_tracking_uri(args.uri)
    mlflow.set_registry_uri(args.uri)
    client = MlflowClient()
    # Against a database, files go to a local folder; against a server, through its artifact proxy
    # (`mlflow-artifacts:/`), as a team's server keeps them.
    location = None if args.uri.startswith("http") else Path(args.artifacts).resolve().as_uri()
    experiment = client.create_experiment("import-test", artifact_location=location)
    made: dict[str, Any] = {"models": {}}

    def run(params: dict[str, str], metrics: dict[str, list[tuple[float, int]]], tags: dict[str, str],
            files: Path, artifact_path: str, dataset: tuple[str, str, str] | None = None) -> Any:  # fmt: skip
        with mlflow.start_run(experiment_id=experiment) as active:
            if dataset is not None:
                name, digest, url = dataset
                mlflow.log_input(MetaDataset(HTTPDatasetSource(url), name=name, digest=digest), context="training")
            mlflow.log_params(params)
            for key, points in metrics.items():
                for value, step in points:
                    mlflow.log_metric(key, value, step=step)
            mlflow.set_tags(tags)
            if files.is_dir():
                mlflow.log_artifacts(str(files), artifact_path)
            else:
                mlflow.log_artifact(str(files), artifact_path)
            return active.info

    def record(model: str, version: Any, run_info: Any | None, **extra: Any) -> None:
        entry = {"version": int(version.version), "creation_ms": version.creation_timestamp,
                 "run_id": version.run_id or "", "source": version.source,
                 "run_artifacts": run_info.artifact_uri if run_info is not None else "", **extra}  # fmt: skip
        if run_info is not None:
            data = client.get_run(run_info.run_id).data
            entry["params"] = data.params
            entry["tags"] = {k: v for k, v in data.tags.items() if not k.startswith("mlflow.")}
            entry["metrics"] = {
                key: [[m.value, m.step, m.timestamp] for m in client.get_metric_history(run_info.run_id, key)]
                for key in data.metrics
            }
        made["models"].setdefault(model, {"versions": [], "aliases": {}})["versions"].append(entry)

    # A model whose name studbook must adapt, with a description, tags (one that studbook cannot
    # hold), three versions, two stages, an archived version and two aliases.
    fraud = "Fraud Detector"
    client.create_registered_model(fraud, tags={"team": "risk", "bad key": "x"}, description="Flags fraud.")
    first = run({"lr": "0.1", "depth": "3"}, {"auc": [(0.7, 0), (0.8, 1), (0.85, 2)], "loss": [(0.3, 0)]},
                {"owner": "ana", "mlflow.source.git.commit": "abc123"}, Path(args.model_folder), "model",
                ("transactions", "d1g357", "https://data.example/transactions.csv"))  # fmt: skip
    v1 = client.create_model_version(fraud, f"{first.artifact_uri}/model", run_id=first.run_id,
                                     tags={"validated": "yes"}, description="the first one")  # fmt: skip
    second = run({"lr": "0.05", "depth": "5"}, {"auc": [(0.9, 0), (0.93, 1)], "loss": [(0.2, 0)]}, {"owner": "bo"},
                 Path(args.weights), "weights")  # fmt: skip
    v2 = client.create_model_version(fraud, f"runs:/{second.run_id}/weights", run_id=second.run_id)
    v3 = client.create_model_version(fraud, "s3://nowhere-bucket/fraud/model")  # files studbook cannot reach
    client.transition_model_version_stage(fraud, v1.version, "Production")
    client.transition_model_version_stage(fraud, v2.version, "Staging")
    client.transition_model_version_stage(fraud, v3.version, "Archived")
    client.set_registered_model_alias(fraud, "champion", v1.version)
    client.set_registered_model_alias(fraud, "challenger", v2.version)
    record(fraud, client.get_model_version(fraud, v1.version), first, stage="Production", files="model")
    record(fraud, client.get_model_version(fraud, v2.version), second, stage="Staging", files="weights")
    record(fraud, client.get_model_version(fraud, v3.version), None, stage="Archived", files="")
    made["models"][fraud]["aliases"] = {"champion": int(v1.version), "challenger": int(v2.version)}
    made["models"][fraud]["creation_ms"] = client.get_registered_model(fraud).creation_timestamp

    # A name that studbook would give the same model id as the first: it must not merge into it.
    client.create_registered_model("fraud detector", description="another team's")

    # A second model with one version and an alias that is not a studbook alias name.
    churn = "churn"
    client.create_registered_model(churn)
    scratch = Path(tempfile.mkdtemp())
    shutil.copy(args.weights, scratch / "churn.safetensors")
    third = run({"trees": "100"}, {"f1": [(0.6, 0)]}, {}, scratch / "churn.safetensors", "model")
    c1 = client.create_model_version(churn, f"{third.artifact_uri}/model", run_id=third.run_id)
    client.set_registered_model_alias(churn, "Prod", c1.version)
    record(churn, client.get_model_version(churn, c1.version), third, stage="None", files="model")
    made["models"][churn]["aliases"] = {"Prod": int(c1.version)}
    shutil.rmtree(scratch, ignore_errors=True)
    print(json.dumps(made))


if __name__ == "__main__":
    main()
