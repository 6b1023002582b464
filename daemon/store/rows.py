"""Conversions between domain records and catalog rows (JSON columns for nested values)."""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

from studbook.daemon.domain import format_info
from studbook.daemon.domain.access import Role, Token
from studbook.daemon.domain.hooks import Delivery, Hook
from studbook.daemon.domain.model import (
    Approval,
    ArtifactFile,
    ChangeKind,
    Dataset,
    Environment,
    GateResult,
    Metric,
    Model,
    ModelState,
    ModelVersion,
    ParentLink,
    Promotion,
    PromotionState,
    Run,
    Signature,
    StageChange,
    TensorSpec,
    TrainingConfig,
)
from studbook.daemon.domain.semver import SemVer

MODEL_COLUMNS = (
    "name", "description", "owner", "tags", "stages", "state",
    "create_time", "update_time", "revision", "request_id",
    # Kept by the writer as the model's versions change (see `TransactionWrites`).
    "version_count", "latest_version",
)  # fmt: skip

VERSION_COLUMNS = (
    "model", "number", "semver", "semver_key", "change_kind", "status", "status_reason",
    "description", "tags", "params", "metrics", "signature", "environment", "training", "model_card",
    "datasets", "run", "parents", "storage_uri", "content_digest", "total_size", "file_count",
    "format", "created_by", "created_from", "request_id", "create_time", "update_time", "revision", "kept",
    "format_info", "format_parameters", "format_architecture", "format_framework", "format_dtypes",
)  # fmt: skip

# Columns a table view needs. Every column read costs a scan of it over all matching rows
# before the page is cut, so summaries leave out what tables do not show (measured: the
# full set makes a filtered search over 100k versions ~2.5x slower).
VERSION_SUMMARY_COLUMNS = (
    "model", "number", "semver", "change_kind", "status", "status_reason", "tags", "metrics",
    "total_size", "file_count", "format", "created_by", "created_from", "create_time", "update_time",
    "revision", "kept",
)  # fmt: skip

PROMOTION_COLUMNS = (
    "id", "model", "number", "target", "is_alias", "state", "previous_number", "reason", "actor",
    "gate_results", "approvals", "rollback", "request_id", "create_time", "update_time", "required_approvals",
)  # fmt: skip


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def model_row(model: Model, request_id: str = "") -> tuple[Any, ...]:
    return (
        model.name, model.description, model.owner, dumps(model.tags), dumps(list(model.stages)),
        model.state.value, model.create_time, model.update_time, model.revision, request_id,
        model.version_count, model.latest_version,
    )  # fmt: skip


def model_from_row(row: tuple[Any, ...]) -> Model:
    """A row of MODEL_COLUMNS as a Model. The JSON columns, which few distinct values fill (a
    team's tags, the stages), are decoded once per value rather than once per row: a page of
    models, or the follower's re-read of those another daemon changed, repeats them."""
    name, description, owner, tags, stages, state, create_time, update_time, revision, _, count, latest = row
    return Model(
        name=name,
        description=description,
        owner=owner,
        tags=dict(_decoded_tags(tags)),  # each model edits its own
        stages=_decoded_stages(stages),
        state=ModelState(state),
        create_time=create_time,
        update_time=update_time,
        revision=revision,
        latest_version=latest or 0,
        version_count=count or 0,
    )


@functools.lru_cache(maxsize=4096)
def _decoded_tags(text: str) -> dict[str, str]:
    return json.loads(text)


@functools.lru_cache(maxsize=256)
def _decoded_stages(text: str) -> tuple[str, ...]:
    return tuple(json.loads(text))


def signature_to_json(signature: Signature) -> dict[str, Any]:
    return {"inputs": [asdict(t) for t in signature.inputs], "outputs": [asdict(t) for t in signature.outputs]}


def signature_from_json(data: dict[str, Any]) -> Signature:
    def specs(items: list[dict[str, Any]]) -> tuple[TensorSpec, ...]:
        return tuple(
            TensorSpec(i["name"], i.get("dtype", ""), tuple(i.get("shape", ())), i.get("optional", False))
            for i in items
        )

    return Signature(specs(data.get("inputs", [])), specs(data.get("outputs", [])))


def _nested_record_json(value: Any) -> str:
    """A nested record's JSON column: a signature, environment, training config or format record."""
    if isinstance(value, Signature):
        return dumps(signature_to_json(value))
    if isinstance(value, format_info.FormatInfo):
        return dumps(format_info.to_plain(value))
    return dumps(asdict(value))


# Each nested record's default, and its JSON.
_DEFAULTS_JSON: dict[type, tuple[Any, str]] = {
    type(default): (default, _nested_record_json(default))
    for default in (Signature(), Environment(), TrainingConfig(), format_info.FormatInfo())
}


def _nested_json(value: Any) -> str:
    """`_nested_record_json`, answered from a constant for a record left at its default (most
    versions leave most of them so): these conversions were about a fifth of the CPU a
    registration's operation costs on the writer thread (measured)."""
    default, text = _DEFAULTS_JSON[type(value)]
    return text if value == default else _nested_record_json(value)


def version_row(version: ModelVersion) -> tuple[Any, ...]:
    return (
        version.model,
        version.number,
        version.semver,
        SemVer.parse(version.semver).sort_key,
        version.change_kind.value,
        version.status.value,
        version.status_reason,
        version.description,
        dumps(version.tags) if version.tags else "{}",
        dumps(version.params) if version.params else "{}",
        metrics_json(version.metrics),
        _nested_json(version.signature),
        _nested_json(version.environment),
        _nested_json(version.training),
        version.model_card,
        dumps([_dataset_json(d) for d in version.datasets]) if version.datasets else "[]",
        dumps(asdict(version.run)) if version.run else None,
        dumps([asdict(p) for p in version.parents]) if version.parents else "[]",
        version.storage_uri,
        version.content_digest,
        version.total_size,
        version.file_count,
        version.format,
        version.created_by,
        version.created_from,
        version.request_id,
        version.create_time,
        version.update_time,
        version.revision,
        version.kept,
        _nested_json(version.format_info),
        version.format_info.parameters,
        version.format_info.architecture,
        version.format_info.framework,
        dumps(list(version.format_info.dtypes)) if version.format_info.dtypes else "[]",
    )


def version_from_row(row: tuple[Any, ...], columns: tuple[str, ...] = VERSION_COLUMNS) -> ModelVersion:
    values = dict(zip(columns, row))
    version = ModelVersion(
        model=values["model"],
        number=values["number"],
        semver=values["semver"],
        change_kind=ChangeKind(values["change_kind"]),
        status=_status(values["status"]),
        status_reason=values["status_reason"],
        description=values.get("description", ""),
        tags=json.loads(values["tags"]),
        params=json.loads(values.get("params", "{}")),
        metrics=metrics_from_json(values["metrics"]),
        storage_uri=values.get("storage_uri", ""),
        content_digest=values.get("content_digest", ""),
        created_by=values["created_by"],
        created_from=values["created_from"],
        request_id=values.get("request_id", ""),
        create_time=values["create_time"],
        update_time=values["update_time"],
        revision=values["revision"],
        total_size=values["total_size"],
        file_count=values["file_count"],
        format=values["format"],
        kept=bool(values.get("kept", False)),
        format_info=_format_info(values.get("format_info")),
        datasets=[Dataset(**d) for d in json.loads(values.get("datasets", "[]"))],
        run=Run(**json.loads(values["run"])) if values.get("run") else None,
        parents=[ParentLink(**p) for p in json.loads(values.get("parents", "[]"))],
    )
    if "signature" in values:
        version.signature = signature_from_json(json.loads(values["signature"]))
        environment = json.loads(values["environment"])
        version.environment = Environment(**environment)
        version.training = TrainingConfig(**json.loads(values["training"]))
        version.model_card = values["model_card"]
    return version


def _status(value: str) -> Any:
    from studbook.daemon.domain.model import VersionStatus

    return VersionStatus(value)


def metrics_json(metrics: Sequence[Metric]) -> str:
    return dumps([
        {"key": m.key, "value": m.value, "step": m.step, "split": m.split, "time": m.time.isoformat() if m.time else None}
        for m in metrics
    ])  # fmt: skip


def metrics_from_json(text: str) -> list[Metric]:
    return [
        Metric(m["key"], m["value"], m["step"], m["split"], datetime.fromisoformat(m["time"]) if m["time"] else None)
        for m in json.loads(text)
    ]


def file_row(model: str, number: int, f: ArtifactFile) -> tuple[Any, ...]:
    return (model, number, f.path, f.size, f.sha256, f.format, dumps(list(f.flags)),
            dumps(format_info.to_plain(f.format_info)))  # fmt: skip


def file_from_row(row: tuple[Any, ...]) -> ArtifactFile:
    path, size, sha256, fmt, flags, info = row
    return ArtifactFile(path, size, sha256, fmt, tuple(json.loads(flags)), _format_info(info))


def _format_info(text: str | None) -> format_info.FormatInfo:
    """The stored record; most rows hold none, and they skip the JSON parser."""
    if not text or text == "{}":
        return format_info.EMPTY
    return format_info.from_plain(json.loads(text))


def metric_row(model: str, number: int, m: Metric) -> tuple[Any, ...]:
    return (model, number, m.key, m.split, m.step, m.value, m.time)


def metric_from_row(row: tuple[Any, ...]) -> Metric:
    key, split, step, value, time = row
    return Metric(key=key, value=value, step=step, split=split, time=time)


def promotion_row(p: Promotion) -> tuple[Any, ...]:
    return (
        p.id, p.model, p.version, p.target, p.is_alias, p.state.value, p.previous_version, p.reason,
        p.actor, dumps([asdict(g) for g in p.gate_results]),
        dumps([{"actor": a.actor, "comment": a.comment, "time": a.time.isoformat() if a.time else None}
               for a in p.approvals]),
        p.rollback, p.request_id, p.create_time, p.update_time, p.required_approvals,
    )  # fmt: skip


def promotion_from_row(row: tuple[Any, ...]) -> Promotion:
    v = dict(zip(PROMOTION_COLUMNS, row))
    return Promotion(
        id=v["id"],
        model=v["model"],
        version=v["number"],
        target=v["target"],
        is_alias=v["is_alias"],
        state=PromotionState(v["state"]),
        previous_version=v["previous_number"],
        reason=v["reason"],
        actor=v["actor"],
        gate_results=[GateResult(**g) for g in json.loads(v["gate_results"])],
        approvals=[
            Approval(a["actor"], a.get("comment", ""), datetime.fromisoformat(a["time"]) if a.get("time") else None)
            for a in json.loads(v["approvals"])
        ],
        rollback=v["rollback"],
        request_id=v["request_id"],
        create_time=v["create_time"],
        update_time=v["update_time"],
        required_approvals=v["required_approvals"] or 0,
    )


STAGE_HISTORY_COLUMNS = (
    "revision", "model", "label", "is_alias", "number", "previous_number", "actor", "reason",
    "time", "promotion_id", "rollback",
)  # fmt: skip


def stage_change_row(c: StageChange) -> tuple[Any, ...]:
    return (
        c.revision, c.model, c.stage, c.is_alias, c.version, c.previous_version, c.actor, c.reason,
        c.time, c.promotion_id, c.rollback,
    )  # fmt: skip


def stage_change_from_row(row: tuple[Any, ...]) -> StageChange:
    v = dict(zip(STAGE_HISTORY_COLUMNS, row))
    return StageChange(
        model=v["model"],
        stage=v["label"],
        is_alias=v["is_alias"],
        version=v["number"],
        previous_version=v["previous_number"],
        actor=v["actor"],
        reason=v["reason"],
        time=v["time"],
        promotion_id=v["promotion_id"],
        rollback=v["rollback"],
        revision=v["revision"],
    )


EVENT_FIELDS = ("revision", "time", "type", "subject", "model", "actor", "payload", "role")
EVENT_COLUMNS = ", ".join(EVENT_FIELDS)


def event_columns(alias: str) -> str:
    """The event columns of table alias `alias`, in Event's field order."""
    return ", ".join(f"{alias}.{name}" for name in EVENT_FIELDS)


TOKEN_COLUMNS = "id, display_name, role, secret_hash, create_time, creator, expire_time, revoke_time, revoker"


def token_row(t: Token) -> tuple[Any, ...]:
    return (t.id, t.display_name, t.role.label, t.secret_hash, t.create_time, t.creator, t.expire_time,
            t.revoke_time, t.revoker)  # fmt: skip


def token_from_row(row: tuple[Any, ...]) -> Token:
    id_, display_name, role, secret_hash, create_time, creator, expire_time, revoke_time, revoker = row
    return Token(id_, display_name, Role.parse(role), secret_hash, create_time, creator, expire_time, revoke_time,
                 revoker)  # fmt: skip


def _dataset_json(dataset: Dataset) -> dict[str, object]:
    """A dataset as stored: its size only where one is known, so older rows read the same."""
    stored = asdict(dataset)
    if dataset.size is None:
        del stored["size"]
    return stored


HOOK_COLUMNS = ("id, name, url, events, model_pattern, secret, create_time, creator, delivered_revision, failures, "
                "paused, pause_reason")  # fmt: skip


def hook_row(h: Hook) -> tuple[Any, ...]:
    return (h.id, h.name, h.url, json.dumps(list(h.events)), h.model_pattern, h.secret, h.create_time, h.creator,
            h.cursor, h.failures, h.paused, h.pause_reason)  # fmt: skip


def hook_from_row(row: tuple[Any, ...]) -> Hook:
    id_, name, url, events, model_pattern, secret, create_time, creator, cursor, failures, paused, reason = row
    return Hook(id_, name, url, tuple(json.loads(events)), model_pattern, secret, create_time, creator, int(cursor),
                int(failures), bool(paused), reason)  # fmt: skip


DELIVERY_COLUMNS = "hook_id, revision, event_type, attempt, status_code, latency_ms, error, attempt_time"


def delivery_row(d: Delivery) -> tuple[Any, ...]:
    return (d.hook_id, d.revision, d.event_type, d.attempt, d.status_code, d.latency_ms, d.error, d.time)


def delivery_from_row(row: tuple[Any, ...]) -> Delivery:
    hook_id, revision, event_type, attempt, status_code, latency_ms, error, time = row
    return Delivery(hook_id, int(revision), event_type, int(attempt), int(status_code), float(latency_ms), error, time)
