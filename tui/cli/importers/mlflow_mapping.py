"""How MLflow's records become studbook's: names, tags, params, metrics and the registration
request. Pure functions, no I/O: what the registry would refuse is left out here, and said."""

from __future__ import annotations

import json
import math
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from studbook.cli.importers.mlflow_source import MetricPoint, SourceRun, SourceVersion
from studbook.v1 import registry_pb2, resources_pb2

# The registry's own rules for what it keeps (daemon/domain/names.py): checked here so that one
# odd MLflow tag leaves out that tag, not the whole version.
MODEL_ID = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
LABEL = re.compile(r"[a-z][a-z0-9._-]{0,63}")
TAG_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.:/-]{0,127}")
PARAM_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.:/@-]{0,127}")
MAX_TAGS = 64
MAX_TAG_VALUE = 1024
MAX_PARAMS = 1024
MAX_PARAM_VALUE = 8192
# Metric points one call may carry (the daemon's MAX_METRICS_PER_CALL).
MAX_METRICS = 10_000
MAX_DESCRIPTION = 16_384
MAX_DATASETS = 256

# What the registry records as where an imported version came from (`mlflow:NAME/VERSION`); a
# second run recognises its own versions by it, even when two MLflow names share a model id.
CREATED_FROM = "mlflow"
# Request ids live in their own namespace, so that no other client's ids can meet them.
NAMESPACE = uuid.UUID("6b0f4f8e-3c1a-5d7e-9a52-1f0c2b7d4e93")
# MLflow stages that studbook's default stages hold.
STAGES = {"Staging": "staging", "Production": "production"}


def created_from(version: SourceVersion) -> str:
    return f"{CREATED_FROM}:{version.model}/{version.version}"


def request_id(*parts: object) -> str:
    """The same parts give the same id on every run: the daemon then answers a resend with the first result."""
    return str(uuid.uuid5(NAMESPACE, "\x1f".join(str(p) for p in parts)))


def model_id_for(name: str) -> str | None:
    """MLflow's free-form model name as a studbook model id (lower case; anything else becomes
    '-'); None when nothing of it is left."""
    lowered = re.sub(r"[^a-z0-9._-]+", "-", name.strip().lower())
    trimmed = lowered.lstrip("._-")[:64].rstrip("-") or ""
    return trimmed if MODEL_ID.fullmatch(trimmed) else None


def label_for(alias: str) -> str | None:
    """An MLflow alias as a studbook alias, when it already is one (aliases are what serving code
    names; renaming one would break `models:/NAME@ALIAS`)."""
    return alias if LABEL.fullmatch(alias) and alias != "latest" else None


def millis(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


@dataclass
class Fitted:
    """What is kept of a mapping and what is left out, each with why."""

    kept: dict[str, str] = field(default_factory=dict)
    left_out: list[str] = field(default_factory=list)


def fit_tags(*sources: Mapping[str, str], room: int = MAX_TAGS) -> Fitted:
    """Tags in the order given (earlier sources win a key), those the registry can hold."""
    fitted = Fitted()
    for tags in sources:
        for key, value in tags.items():
            if key in fitted.kept:
                continue
            if not TAG_KEY.fullmatch(key):
                fitted.left_out.append(f"tag {key!r}: the registry's tag keys are letters, digits and _.:/-")
            elif len(value) > MAX_TAG_VALUE:
                fitted.left_out.append(f"tag {key!r}: {len(value)} characters, more than {MAX_TAG_VALUE}")
            elif len(fitted.kept) >= room:
                fitted.left_out.append(f"tag {key!r}: more than {room} tags")
            else:
                fitted.kept[key] = value
    return fitted


def fit_params(params: Mapping[str, str]) -> Fitted:
    fitted = Fitted()
    for key, value in sorted(params.items()):
        if not PARAM_KEY.fullmatch(key):
            fitted.left_out.append(f"param {key!r}: the registry's param keys are letters, digits and _.:/@-")
        elif len(value) > MAX_PARAM_VALUE:
            fitted.left_out.append(f"param {key!r}: {len(value)} characters, more than {MAX_PARAM_VALUE}")
        elif len(fitted.kept) >= MAX_PARAMS:
            fitted.left_out.append(f"param {key!r}: more than {MAX_PARAMS} params")
        else:
            fitted.kept[key] = value
    return fitted


def metrics_from(points: Iterable[MetricPoint],
                 splits: dict[str, tuple[str, str]] | None = None) -> tuple[list[resources_pb2.Metric], list[str]]:  # fmt: skip
    """Every logged point, with its step and time. A metric logged once at step 0 (MLflow's
    default step) is a summary value, as studbook keeps one; a metric with a history keeps
    its steps. Points the registry cannot hold (NaN, infinities, bad keys) are left out, said.
    `splits` maps a key studbook's export wrote as `split/key` back to its split and key."""
    splits = splits or {}
    by_key: dict[str, list[MetricPoint]] = {}
    for point in points:
        by_key.setdefault(point.key, []).append(point)
    metrics: list[resources_pb2.Metric] = []
    left_out: list[str] = []
    for key, series in sorted(by_key.items()):
        if not PARAM_KEY.fullmatch(key):
            left_out.append(f"metric {key!r}: the registry's metric keys are letters, digits and _.:/@-")
            continue
        finite = [p for p in series if math.isfinite(p.value)]
        if len(finite) < len(series):
            left_out.append(f"metric {key!r}: {len(series) - len(finite)} value(s) not a finite number")
        scalar = len(finite) == 1 and finite[0].step == 0
        split, own_key = splits.get(key, ("", key))
        for point in sorted(finite, key=lambda p: (p.step, p.timestamp_ms)):
            metric = resources_pb2.Metric(key=own_key, split=split, value=point.value)
            if point.timestamp_ms:
                metric.time.FromDatetime(millis(point.timestamp_ms))
            if not scalar:
                metric.step = point.step
            metrics.append(metric)
    return metrics, left_out


def metric_splits(run: SourceRun | None) -> dict[str, tuple[str, str]]:
    """The `studbook.metric_splits` run tag of a studbook export: MLflow key -> (split, key)."""
    text = run.tags.get("studbook.metric_splits", "") if run is not None else ""
    try:
        loaded = json.loads(text) if text else {}
    except ValueError:
        return {}
    if not isinstance(loaded, dict):
        return {}
    return {
        str(mlflow_key): (pair[0], pair[1])
        for mlflow_key, pair in loaded.items()
        if isinstance(pair, list) and len(pair) == 2 and all(isinstance(part, str) for part in pair)
    }


def run_lineage(run: SourceRun, run_link: str) -> resources_pb2.Run:
    """The run in the lineage graph: its id, code commit and entry point, as MLflow recorded them."""
    return resources_pb2.Run(
        # A studbook export makes an MLflow run per version and keeps the version's own run id in a tag.
        run_id=run.tags.get("studbook.run_id") or run.run_id,
        code_commit=run.tags.get("mlflow.source.git.commit", "") or run.source_version,
        entry_point=run.tags.get("mlflow.source.name", "") or run.source_name or run.entry_point,
        uri=run_link,
    )


def run_tags(run: SourceRun | None) -> dict[str, str]:
    """A run's own tags, as `run.KEY` version tags; MLflow's `mlflow.*` bookkeeping goes into the
    lineage's run record instead (or nowhere, like its logged-model history)."""
    if run is None:
        return {}
    return {f"run.{key}": value for key, value in run.tags.items() if not key.startswith("mlflow.")}


def datasets_from(run: SourceRun) -> tuple[list[resources_pb2.Dataset], list[str]]:
    """The run's input datasets as the version's, named by MLflow's name and digest; the registry
    refuses a name holding '/' or '@' (its own separators), so such a dataset is left out, said."""
    kept: list[resources_pb2.Dataset] = []
    left_out: list[str] = []
    seen: set[tuple[str, str]] = set()
    for dataset in run.datasets:
        if "/" in dataset.name or "@" in dataset.name or len(dataset.name) > 256:
            left_out.append(f"dataset {dataset.name!r}: the registry's dataset names hold no '/' or '@'")
        elif (dataset.name, dataset.digest) not in seen and len(kept) < MAX_DATASETS:
            seen.add((dataset.name, dataset.digest))
            kept.append(resources_pb2.Dataset(name=dataset.name, version=dataset.digest[:256], uri=dataset.uri[:4096]))
    return kept, left_out


@dataclass
class Draft:
    """A version's registration, built from MLflow's records, with what it had to leave out."""

    request: registry_pb2.RegisterModelVersionRequest
    left_out: list[str]
    # Metric points past what one call carries: logged (LogMetrics) once the version exists.
    later_metrics: list[resources_pb2.Metric] = field(default_factory=list)


def version_draft(model_id: str, version: SourceVersion, run: SourceRun | None, *, actor: str,
                  storage_uri: str = "", allow_unsafe: bool = False) -> Draft:  # fmt: skip
    left_out: list[str] = []
    tags = fit_tags(version.tags, run_tags(run))
    params = fit_params(run.params if run is not None else {})
    metrics, dropped = metrics_from(run.metrics if run is not None else (), metric_splits(run))
    left_out += tags.left_out + params.left_out + dropped
    description = version.description
    if len(description) > MAX_DESCRIPTION:
        left_out.append(f"description: {len(description)} characters, cut to {MAX_DESCRIPTION}")
        description = description[:MAX_DESCRIPTION]
    draft = resources_pb2.ModelVersion(
        description=description,
        tags=tags.kept,
        params=params.kept,
        metrics=metrics[:MAX_METRICS],
        storage_uri=storage_uri,
        # Who registered it in MLflow; the audit trail records who imported it.
        created_by=version.user_id or actor,
        created_from=created_from(version),
    )
    if run is not None:
        draft.run.CopyFrom(run_lineage(run, version.run_link))
        datasets, skipped = datasets_from(run)
        draft.datasets.extend(datasets)
        left_out += skipped
        commit = draft.run.code_commit
        draft.training.CopyFrom(resources_pb2.TrainingConfig(code_commit=commit, entry_point=draft.run.entry_point))
    elif version.run_id:
        left_out.append(f"run {version.run_id}: MLflow no longer has it")
        draft.run.CopyFrom(resources_pb2.Run(run_id=version.run_id, uri=version.run_link))
    request = registry_pb2.RegisterModelVersionRequest(
        parent=f"models/{model_id}",
        version=draft,
        # MLflow's number, so that `models:/NAME/3` and studbook's version 3 are the same model.
        number=version.version,
        request_id=request_id(version.identity),
        allow_unsafe=allow_unsafe,
    )
    if version.creation_ms:
        request.source_create_time.FromDatetime(millis(version.creation_ms))
    return Draft(request, left_out, metrics[MAX_METRICS:])
