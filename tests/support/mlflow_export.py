"""A folder in the layout mlflow-export-import's `export-models` writes (export file version 2):
`models/NAME/model.json`, and beside it `RUN_ID/run.json` with the run's files in
`RUN_ID/artifacts/`; written here from what the fill script made in a real MLflow."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

SYSTEM = {"package_version": "1.2.0", "export_file_version": "2", "script": "export_model.py"}


def write_export(folder: Path, made: dict[str, Any], descriptions: dict[str, str]) -> Path:
    """Writes every model of `made` (mlflow_fill.py's output) whose versions have runs with files."""
    for name, model in made["models"].items():
        model_dir = folder / "models" / name
        versions = []
        for version in model["versions"]:
            entry = {"name": name, "version": str(version["version"]), "creation_timestamp": version["creation_ms"],
                     "last_updated_timestamp": version["creation_ms"], "current_stage": version["stage"],
                     "source": version["source"], "run_id": version["run_id"], "status": "READY", "tags": {},
                     "aliases": [a for a, n in model["aliases"].items() if n == version["version"]]}  # fmt: skip
            if version["run_id"]:
                entry["_run_artifact_uri"] = version["run_artifacts"]
                _write_run(model_dir / version["run_id"], version)
            versions.append(entry)
        registered = {"name": name, "creation_timestamp": 1, "description": descriptions.get(name, ""),
                      "tags": [], "aliases": [{"alias": a, "version": str(n)} for a, n in model["aliases"].items()],
                      "versions": versions}  # fmt: skip
        _write(model_dir / "model.json", {"system": SYSTEM, "mlflow": {"registered_model": registered}})
    return folder


def _write_run(run_dir: Path, version: dict[str, Any]) -> None:
    metrics = {key: [{"value": v, "step": s, "timestamp": t} for v, s, t in points]
               for key, points in version["metrics"].items()}  # fmt: skip
    info = {"run_id": version["run_id"], "artifact_uri": version["run_artifacts"], "status": "FINISHED"}
    _write(run_dir / "run.json", {"system": SYSTEM, "mlflow": {"info": info, "params": version["params"],
                                                               "metrics": metrics, "tags": version["tags"]}})  # fmt: skip
    shutil.copytree(Path(version["run_artifacts"].removeprefix("file://")), run_dir / "artifacts")


def _write(path: Path, content: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content, indent=2))
