"""studbook's models and versions in MLflow's JSON: snake_case, int64 millisecond timestamps,
`version` as a string, and empty fields left out, as MLflow's own server writes them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from studbook.daemon.domain.model import Model, ModelVersion, VersionStatus
from studbook.daemon.mlflow.stages import mlflow_stage

# studbook's version status -> MLflow's ModelVersionStatus. Every other status (archived,
# missing, modified) was registered: READY, with studbook's status in status_message.
_STATUS = {
    VersionStatus.REGISTERING: "PENDING_REGISTRATION",
    VersionStatus.FAILED: "FAILED_REGISTRATION",
    VersionStatus.QUARANTINED: "FAILED_REGISTRATION",
}


def millis(time: datetime | None) -> int | None:
    return None if time is None else int(time.timestamp() * 1000)


def _compact(fields: dict[str, Any]) -> dict[str, Any]:
    """MLflow leaves unset fields out of its JSON rather than sending empty ones."""
    return {key: value for key, value in fields.items() if value not in (None, "", [], {})}


def _tags(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"key": key, "value": value} for key, value in sorted(tags.items())]


def source_of(version: ModelVersion) -> str:
    """What MLflow calls the version's source: where it was registered from."""
    return version.created_from or version.storage_uri


def model_version(version: ModelVersion, model: Model | None) -> dict[str, Any]:
    aliases = sorted(a for a, n in (model.aliases if model else {}).items() if n == version.number)
    status_message = version.status_reason or (
        "" if version.status == VersionStatus.READY else f"studbook status: {version.status.value}"
    )
    return _compact({
        "name": version.model,
        "version": str(version.number),
        "creation_timestamp": millis(version.create_time),
        "last_updated_timestamp": millis(version.update_time),
        "user_id": version.created_by,
        "current_stage": mlflow_stage(version, model),
        "description": version.description,
        "source": source_of(version),
        "run_id": version.run.run_id if version.run else "",
        "run_link": version.run.uri if version.run else "",
        "status": _STATUS.get(version.status, "READY"),
        "status_message": status_message,
        "tags": _tags(version.tags),
        "aliases": aliases,
    })  # fmt: skip


def registered_model(model: Model, latest: list[ModelVersion] | None = None) -> dict[str, Any]:
    return _compact({
        "name": model.name,
        "creation_timestamp": millis(model.create_time),
        "last_updated_timestamp": millis(model.update_time),
        "user_id": model.owner,
        "description": model.description,
        "latest_versions": [model_version(v, model) for v in latest or []],
        "tags": _tags(model.tags),
        "aliases": [{"alias": a, "version": str(n)} for a, n in sorted(model.aliases.items())],
    })  # fmt: skip


# Where the artifact proxy serves a kept version's files: `mlflow-artifacts:/` + this.
VERSION_FILES_ROOT = "studbook/models"


def artifact_path(version: ModelVersion) -> str:
    return f"{VERSION_FILES_ROOT}/{version.model}/versions/{version.number}"
