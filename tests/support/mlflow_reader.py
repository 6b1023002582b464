"""Prints, as one JSON line, what MLflow's client sees of one registered model; run by the MLflow venv's python.

Only the standard library and MLflow are importable here.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

from mlflow import MlflowClient
from mlflow.artifacts import download_artifacts


def main(name: str, downloads: Path) -> None:
    client = MlflowClient()
    model = client.get_registered_model(name)
    versions = []
    for version in sorted(client.search_model_versions(f"name='{name}'"), key=lambda v: int(v.version)):
        run = client.get_run(version.run_id)
        metrics = {key: sorted((h.step, h.value) for h in client.get_metric_history(run.info.run_id, key))
                   for key in run.data.metrics}  # fmt: skip
        target = downloads / version.version
        local = Path(download_artifacts(run_id=run.info.run_id, artifact_path="model", dst_path=str(target)))
        files = {str(p.relative_to(local)): hashlib.sha256(p.read_bytes()).hexdigest()
                 for p in sorted(local.rglob("*")) if p.is_file()}  # fmt: skip
        versions.append({"version": version.version, "stage": version.current_stage,
                         "description": version.description, "tags": version.tags, "params": run.data.params,
                         "metrics": metrics, "files": files,
                         "run_tags": {k: v for k, v in run.data.tags.items() if k.startswith("studbook.")}})  # fmt: skip
    print(json.dumps({"name": model.name, "description": model.description, "tags": model.tags,
                      "versions": versions}))  # fmt: skip


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
