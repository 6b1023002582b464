"""A folder written by mlflow-export-import (`export-model`, `export-models`, `export-all`):
each model's `model.json`, and beside it each version's run as `RUN_ID/run.json` with the run's
files under `RUN_ID/artifacts/`. Timestamps are MLflow's (milliseconds) as exported.

The layouts read: the folder of one model (`DIR/model.json`), or of many (`DIR/models/NAME/model.json`
or `DIR/NAME/model.json`); runs exported with their experiments (`experiments/EXP/RUN_ID/` or
`.../runs/RUN_ID/`) are found too.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from studbook.cli.importers.mlflow_source import (
    STAGE_DELETED,
    ArtifactsUnavailable,
    MetricPoint,
    SourceError,
    SourceModel,
    SourceRun,
    SourceVersion,
    dataset_inputs,
)

# How deep below the folder a model.json or a run.json is looked for.
MAX_DEPTH = 4
# Where `studbook export --format mlflow` keeps whole the values it cut to MLflow's limits: a
# run's beside its files, a model's beside its model.json (see studbook.exports.mlflow).
RUN_FULL_VALUES = ("artifacts", "studbook", "full_values.json")
MODEL_FULL_VALUES = "studbook_full_values.json"


class ExportSource:
    def __init__(self, folder: Path) -> None:
        self.root = folder.absolute()
        self.label = str(self.root)
        if not self.root.is_dir():
            raise SourceError(f"no folder at {self.root}: give the folder mlflow-export-import wrote")
        self._model_files = sorted(_found(self.root, "model.json"))
        if not self._model_files:
            raise SourceError(f"{self.root} holds no model.json: it is not a folder written by mlflow-export-import "
                              "(export-model, export-models or export-all)")  # fmt: skip
        self._run_files = {path.parent.name: path for path in _found(self.root, "run.json")}
        self._runs: dict[str, SourceRun | None] = {}
        self._artifact_roots: dict[str, str] = {}

    def models(self) -> list[SourceModel]:
        models = [self._model(path) for path in self._model_files]
        return sorted(models, key=lambda m: m.name)

    def _model(self, path: Path) -> SourceModel:
        registered = _mlflow_part(path).get("registered_model", {})
        if "name" not in registered:
            raise SourceError(f"{path} holds no registered model: is it from mlflow-export-import?")
        whole = _full_values(path.parent / MODEL_FULL_VALUES)
        model = SourceModel(
            registered["name"], _int(registered.get("creation_timestamp")),
            _int(registered.get("last_updated_timestamp")),
            _restored(registered.get("description") or "", whole.get("description")),
            _whole(_tags(registered.get("tags")), whole, "tags"),
            {a["alias"]: int(a["version"]) for a in registered.get("aliases", []) if "alias" in a},
        )  # fmt: skip
        for item in registered.get("versions") or registered.get("latest_versions") or []:
            if item.get("current_stage") == STAGE_DELETED:
                continue
            run_file = self._run_files.get(item.get("run_id") or "")
            cut = _full_values(run_file.parent.joinpath(*RUN_FULL_VALUES)) if run_file is not None else {}
            version = SourceVersion(
                model.name, int(item["version"]), _int(item.get("creation_timestamp")),
                _int(item.get("last_updated_timestamp")),
                _restored(item.get("description") or "", cut.get("version_description")), item.get("user_id") or "",
                item.get("current_stage") or "None", item.get("source") or "", item.get("storage_location") or "",
                item.get("run_id") or "", item.get("run_link") or "", item.get("status") or "READY",
                _whole(_tags(item.get("tags")), cut, "version_tags"),
            )  # fmt: skip
            if version.run_id and item.get("_run_artifact_uri"):
                self._artifact_roots[version.run_id] = item["_run_artifact_uri"]
            model.versions.append(version)
        model.versions.sort(key=lambda v: v.version)
        return model

    def run(self, run_id: str) -> SourceRun | None:
        if run_id in self._runs:
            return self._runs[run_id]
        path = self._run_files.get(run_id)
        found = None
        if path is not None:
            part = _mlflow_part(path)
            info = part.get("info", {})
            cut = _full_values(path.parent.joinpath(*RUN_FULL_VALUES))
            tags = _whole(_tags(part.get("tags")), cut, "run_tags")
            found = SourceRun(
                run_id, info.get("run_name") or tags.get("mlflow.runName", ""), info.get("user_id") or "",
                info.get("status") or "", _int(info.get("start_time")), _int(info.get("end_time")),
                info.get("artifact_uri") or self._artifact_roots.get(run_id, ""), str(info.get("experiment_id", "")),
                tags.get("mlflow.source.name", ""), tags.get("mlflow.source.git.commit", ""),
                tags.get("mlflow.project.entryPoint", ""), _whole(_tags(part.get("params")), cut, "params"), tags,
            )  # fmt: skip
            found.datasets = dataset_inputs((part.get("inputs") or {}).get("dataset_inputs"))
            for key, points in (part.get("metrics") or {}).items():
                found.metrics += [
                    MetricPoint(key, float(p["value"]), _int(p.get("step")), _int(p.get("timestamp"))) for p in points
                ]
        self._runs[run_id] = found
        return found

    def fetch_artifacts(self, version: SourceVersion, scratch: Path) -> Path:
        """The version's files among its run's exported files: its source, less the run's artifact root."""
        run_file = self._run_files.get(version.run_id)
        if run_file is None:
            raise ArtifactsUnavailable(f"the export holds no run {version.run_id or '(none named)'} with its files")
        files = run_file.parent / "artifacts"
        inner = _inside_run(version, self.run(version.run_id))
        if inner is None:
            raise ArtifactsUnavailable(f"its files are at {version.source}, outside its run's exported files")
        target = (files / inner).resolve() if inner else files.resolve()
        if not target.is_relative_to(files.resolve()) or not target.exists():
            raise ArtifactsUnavailable(f"the export lacks its files ({inner or 'the run folder'} under {files})")
        return target

    def close(self) -> None:
        return None


def _inside_run(version: SourceVersion, run: SourceRun | None) -> str | None:
    """The version's path inside its run's files ("" for all of them); None when it lies elsewhere."""
    source = version.source
    if source.startswith("runs:/"):
        run_id, _, inner = source.removeprefix("runs:/").partition("/")
        return inner.strip("/") if run_id == version.run_id else None
    root = run.artifact_uri.rstrip("/") if run is not None else ""
    if root and (source == root or source.startswith(root + "/")):
        return source[len(root) :].strip("/")
    return None


def _found(root: Path, name: str) -> list[Path]:
    """The export's own files called `name`; never one among a run's exported files (a model may
    well carry a model.json of its own)."""
    found = []
    for depth in range(MAX_DEPTH + 1):
        for path in root.glob("/".join(["*"] * depth + [name])):
            if path.is_file() and "artifacts" not in path.relative_to(root).parts[:-1]:
                found.append(path)
    return found


def _mlflow_part(path: Path) -> dict[str, Any]:
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SourceError(f"cannot read {path}: {exc}") from exc
    if not isinstance(loaded, dict):
        raise SourceError(f"{path} is not an object of mlflow-export-import")
    part = loaded.get("mlflow", loaded)  # export file version 2 nests MLflow's part; older ones did not
    return part if isinstance(part, dict) else {}


def _tags(value: Any) -> dict[str, str]:
    """A dict, or MLflow's REST shape (a list of {key, value})."""
    if isinstance(value, dict):
        return {str(k): "" if v is None else str(v) for k, v in value.items()}
    if isinstance(value, list):
        return {str(t["key"]): str(t.get("value", "")) for t in value if isinstance(t, dict) and "key" in t}
    return {}


def _full_values(path: Path) -> dict[str, str]:
    """The whole values a studbook export cut to MLflow's limits (`params.lr`, `description`, ...);
    {} when there are none or the file is not such a record."""
    if not path.is_file():
        return {}
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(loaded, dict):
        return {}
    return {str(k): v for k, v in loaded.items() if isinstance(v, str)}


def _whole(values: dict[str, str], cut: dict[str, str], prefix: str) -> dict[str, str]:
    """`values` with each one the export cut put back whole (see `_restored`)."""
    return {key: _restored(value, cut.get(f"{prefix}.{key}")) for key, value in values.items()}


def _restored(value: str, whole: str | None) -> str:
    """The whole value when the exported one is its start (so not changed since the export)."""
    return whole if whole is not None and whole.startswith(value) else value


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0
