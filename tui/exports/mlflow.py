"""`--format mlflow`: one model as the folder mlflow-export-import's `export-model` writes, for its `import-model`.

    DEST/model.json                          the registered model and its versions
    DEST/<run_id>/run.json                   per version: its run (params, metric series, tags, datasets)
    DEST/<run_id>/artifacts/model/...        the version's files; for a version the registry only
                                             references, studbook-reference.json (its URI and files)
    DEST/<run_id>/artifacts/studbook/MODEL_CARD.md   the card, beside the model, when there is one

MLflow caps lengths that studbook allows longer (a param value at 6000 characters, a run tag at
8000, a description at 5000 in its SQL stores): a longer value is cut to MLflow's limit so its
importer takes it, the whole value is kept in `artifacts/studbook/full_values.json`, the run is
tagged `studbook.truncated` with what was cut, and the summary says so.

MODEL exports every version, MODEL@REF that one. Each version gets a run of its own (its id
derived from the version, so exporting again gives the same ids). Stages map to MLflow's
(production -> Production, staging -> Staging, an archived version -> Archived); what MLflow
has no field for (semver, content digest, parents, other stages) travels as `studbook.*` tags.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import platform
import time
import uuid
from pathlib import Path, PurePosixPath
from typing import Any

from studbook.client import names
from studbook.exports.source import Source, lineage
from studbook.v1 import resources_pb2

EXPORT_FILE_VERSION = "2"
EXPERIMENT_ID = "0"
MLFLOW_STAGES = {"production": "Production", "staging": "Staging"}
# The importer reads `source` as `<artifact uri>/model`; the artifact uri only has to hold the run id.
ARTIFACT_ROOT = "studbook:/runs"
CARD_ARTIFACT = "studbook/MODEL_CARD.md"
REFERENCE_FILE = "studbook-reference.json"
FULL_VALUES_ARTIFACT = "studbook/full_values.json"
# Tags of ours on MLflow objects: what MLflow has no field for.
OWN = "studbook."
# MLflow's limits (mlflow.utils.validation; descriptions: its SQL stores' columns). Its importer
# fails on a longer value, so a longer one is cut to them.
PARAM_VALUE_MAX = 6000
RUN_TAG_VALUE_MAX = 8000
REGISTRY_TAG_VALUE_MAX = 100_000
DESCRIPTION_MAX = 5000


def export(source: Source, ref: str, out: Path) -> dict[str, Any]:
    parsed = names.parse_ref(ref)
    model = source.model(parsed.model_name)
    versions = [source.version(ref)] if parsed.is_version else list(source.versions(parsed.model_name))
    system = _system(source.client.address)
    entries = []
    not_kept: list[str] = []
    notes: list[str] = []
    for version in versions:
        run_id = run_id_of(version)
        run_dir = out / run_id
        artifacts = run_dir / "artifacts"
        if version.kept and version.files:
            source.fetch(
                version, [(f, artifacts.joinpath("model", *PurePosixPath(f.path).parts)) for f in version.files]
            )
        else:
            # MLflow's importer needs the version's model folder to exist; a version the registry
            # only references gets one holding where its files are, instead of the files.
            not_kept.append(version.name)
            (artifacts / "model").mkdir(parents=True)
            _write(artifacts / "model" / REFERENCE_FILE, reference(version))
        if version.model_card:
            (artifacts / "studbook").mkdir(parents=True, exist_ok=True)
            (artifacts / CARD_ARTIFACT).write_text(version.model_card)
        run_dir.mkdir(parents=True, exist_ok=True)
        cut = Cuts()
        run = run_document(version, run_id, source.metric_series(version), cut)
        entry = version_document(model, version, run_id, cut)
        if cut.full:
            (artifacts / "studbook").mkdir(parents=True, exist_ok=True)
            _write(artifacts / FULL_VALUES_ARTIFACT, cut.full)
            run["tags"][f"{OWN}truncated"] = ",".join(cut.full)[:RUN_TAG_VALUE_MAX]
            notes += [f"{names.short_version(version.name)}: {what}; the whole value is in "
                      f"{run_id}/artifacts/{FULL_VALUES_ARTIFACT}" for what in cut.notes]  # fmt: skip
        _write(run_dir / "run.json", {"system": {**system, "script": "export_run.py"}, "mlflow": run})
        entries.append(entry)
    model_cut = Cuts()
    registered = registered_model_document(model, entries, model_cut)
    if model_cut.full:
        # The model has no run to hold the whole values: they are kept beside model.json.
        _write(out / "studbook_full_values.json", model_cut.full)
        notes += [f"model {names.parse_ref(model.name).model}: {what}; the whole value is in "
                  "studbook_full_values.json" for what in model_cut.notes]  # fmt: skip
    info = {"num_target_stages": 0, "num_target_versions": 0, "num_src_versions": len(entries),
            "num_dst_versions": len(entries), "failed_versions": [], "export_latest_versions": False,
            "export_permissions": False}  # fmt: skip
    _write(out / "model.json", {"system": {**system, "script": "export_model.py"}, "info": info,
                                "mlflow": {"registered_model": registered}})  # fmt: skip
    summary: dict[str, Any] = {"model": model.name, "versions": [v.name for v in versions], "not_kept": not_kept}
    if notes:
        summary["notes"] = notes
    return summary


class Cuts:
    """The values of one MLflow object cut to MLflow's limits: each whole value by its field
    (`params.lr`, `description`), and a note per cut for the summary."""

    def __init__(self) -> None:
        self.full: dict[str, str] = {}
        self.notes: list[str] = []

    def fit(self, field: str, value: str, limit: int) -> str:
        if len(value) <= limit:
            return value
        self.full[field] = value
        self.notes.append(f"{field} is {len(value)} characters, cut to MLflow's limit of {limit}")
        return value[:limit]

    def fit_all(self, prefix: str, values: dict[str, str], limit: int) -> dict[str, str]:
        return {key: self.fit(f"{prefix}.{key}", value, limit) for key, value in values.items()}


def reference(version: resources_pb2.ModelVersion) -> dict[str, Any]:
    """Where a referenced (not kept) version's files are, and what they should hash to."""
    return {"storage_uri": version.storage_uri,
            "files": [{"path": f.path, "size": f.size, "sha256": f.sha256} for f in version.files]}  # fmt: skip


def run_id_of(version: resources_pb2.ModelVersion) -> str:
    """32 hex digits like MLflow's, the same for the same version at every export."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"studbook:{version.name}:{version.content_digest}").hex


def mlflow_stage(version: resources_pb2.ModelVersion) -> str:
    if version.status == resources_pb2.VERSION_STATUS_ARCHIVED:
        return "Archived"
    for stage, shown in MLFLOW_STAGES.items():
        if stage in version.stages:
            return shown
    return "None"


def registered_model_document(model: resources_pb2.Model, versions: list[dict[str, Any]],
                              cut: Cuts | None = None) -> dict[str, Any]:  # fmt: skip
    cut = cut or Cuts()
    model_id = names.parse_ref(model.name).model
    numbers = {str(v["version"]) for v in versions}
    aliases = [{"alias": alias, "version": _number(target)} for alias, target in sorted(model.aliases.items())
               if _number(target) in numbers]  # fmt: skip
    document: dict[str, Any] = {
        "name": model_id,
        "creation_timestamp": _ms(model.create_time),
        "last_updated_timestamp": _ms(model.update_time),
        "description": cut.fit("description", model.description, DESCRIPTION_MAX),
        "tags": [
            {"key": k, "value": v}
            for k, v in sorted(cut.fit_all("tags", dict(model.tags), REGISTRY_TAG_VALUE_MAX).items())
        ],
        "aliases": aliases,
        "versions": versions,
    }
    if model.owner:
        document["tags"].append({"key": f"{OWN}owner", "value": model.owner})
    return document


def version_document(model: resources_pb2.Model, version: resources_pb2.ModelVersion, run_id: str,
                     cut: Cuts | None = None) -> dict[str, Any]:  # fmt: skip
    cut = cut or Cuts()
    artifact_uri = f"{ARTIFACT_ROOT}/{run_id}/artifacts"
    tags = dict(sorted(version.tags.items()))
    own = {
        "semver": version.semver,
        "content_digest": version.content_digest,
        "stages": ",".join(version.stages),
        "storage_uri": version.storage_uri,
        "parents": json.dumps(lineage(version)["parents"]) if version.parents else "",
    }
    tags.update({f"{OWN}{k}": v for k, v in own.items() if v})
    tags = cut.fit_all("version_tags", tags, REGISTRY_TAG_VALUE_MAX)
    return {
        "name": names.parse_ref(model.name).model,
        "version": str(version.number),
        "creation_timestamp": _ms(version.create_time),
        "last_updated_timestamp": _ms(version.update_time),
        "current_stage": mlflow_stage(version),
        "description": cut.fit("version_description", version.description, DESCRIPTION_MAX),
        "user_id": version.created_by,
        "source": f"{artifact_uri}/model",
        "run_id": run_id,
        "run_link": "",
        "status": "READY" if version.status != resources_pb2.VERSION_STATUS_FAILED else "FAILED_REGISTRATION",
        "status_message": version.status_reason,
        "tags": tags,
        "aliases": list(version.aliases),
        "_run_artifact_uri": artifact_uri,
        "_experiment_name": experiment_name(model),
        "_download_uri": f"{artifact_uri}/model",
    }


def experiment_name(model: resources_pb2.Model) -> str:
    return f"studbook/{names.parse_ref(model.name).model}"


def run_document(
    version: resources_pb2.ModelVersion, run_id: str, series: list[resources_pb2.Metric], cut: Cuts | None = None
) -> dict[str, Any]:
    cut = cut or Cuts()
    created = _ms(version.create_time)
    metrics: dict[str, list[dict[str, Any]]] = {}
    for metric in series:
        key = f"{metric.split}/{metric.key}" if metric.split else metric.key
        metrics.setdefault(key, []).append({"value": metric.value,
                                            "timestamp": _ms(metric.time) if metric.HasField("time") else created,
                                            "step": metric.step if metric.HasField("step") else 0})  # fmt: skip
    tags = {"mlflow.runName": names.short_version(version.name), f"{OWN}version": version.name}
    # MLflow has no split: a metric with one is logged as `split/key`, and this tag says which
    # keys are such, so that studbook's importer gives them their split back.
    splits = {f"{m.split}/{m.key}": [m.split, m.key] for m in series if m.split}
    if splits:
        tags[f"{OWN}metric_splits"] = json.dumps(splits, sort_keys=True, separators=(",", ":"))
    if version.created_by:
        tags["mlflow.user"] = version.created_by
    commit = version.training.code_commit or version.run.code_commit
    if commit:
        tags["mlflow.source.git.commit"] = commit
    entry = version.training.entry_point or version.run.entry_point
    if entry:
        tags["mlflow.source.name"] = entry
        tags["mlflow.source.type"] = "LOCAL"
    if version.run.run_id:
        tags[f"{OWN}run_id"] = version.run.run_id
    if version.training.HasField("seed"):
        tags[f"{OWN}seed"] = str(version.training.seed)
    return {
        "info": {"run_uuid": run_id, "run_id": run_id, "experiment_id": EXPERIMENT_ID, "user_id": version.created_by,
                 "status": "FINISHED", "start_time": created, "end_time": created, "lifecycle_stage": "active",
                 "artifact_uri": f"{ARTIFACT_ROOT}/{run_id}/artifacts", "run_name": names.short_version(version.name)},
        "params": cut.fit_all("params", dict(sorted(version.params.items())), PARAM_VALUE_MAX),
        "metrics": metrics,
        "tags": cut.fit_all("run_tags", tags, RUN_TAG_VALUE_MAX),
        "inputs": {"dataset_inputs": [_dataset_input(d) for d in version.datasets]},
    }  # fmt: skip


# MLflow keeps a dataset's digest in at most 36 characters.
DIGEST_MAX = 36


def _dataset_input(dataset: resources_pb2.Dataset) -> dict[str, Any]:
    # MLflow's Dataset: name, digest, source_type, source. The version is the digest when it fits;
    # the source keeps it whole either way, with the URI.
    version = dataset.version
    digest = (
        version
        if 0 < len(version) <= DIGEST_MAX
        else hashlib.sha256(f"{dataset.name}@{version}".encode()).hexdigest()[:32]
    )
    source = {k: v for k, v in (("uri", dataset.uri), ("version", version)) if v}
    return {"dataset": {"name": dataset.name, "digest": digest, "source_type": "studbook", "source": json.dumps(source)},
            "tags": [{"key": "mlflow.data.context", "value": "training"}]}  # fmt: skip


def _system(address: str) -> dict[str, Any]:
    from importlib import metadata

    try:
        package = metadata.version("studbook")
    except metadata.PackageNotFoundError:
        package = "unknown"
    now = time.time()
    return {"package_version": f"studbook {package}", "export_file_version": EXPORT_FILE_VERSION,
            "export_time": int(now), "_export_time": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(now)),
            "mlflow_version": "", "mlflow_tracking_uri": address,
            "platform": {"python_version": platform.python_version(), "system": platform.system(),
                         "processor": platform.processor()},
            "user": getpass.getuser()}  # fmt: skip


def _ms(moment: Any) -> int:
    return int(moment.ToMilliseconds()) if moment.seconds or moment.nanos else 0


def _number(version_name: str) -> str:
    return version_name.rsplit("/", 1)[-1]


def _write(path: Path, document: dict[str, Any]) -> None:
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
