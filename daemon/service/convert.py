"""Translation between the v1 protobuf messages and the domain records, both ways."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from google.protobuf.timestamp_pb2 import Timestamp
from studbook.daemon.app.lineage import LineageGraph
from studbook.daemon.app.policy import PolicyState
from studbook.daemon.domain import model as m
from studbook.daemon.domain.access import Caller, Denial, Role, Token
from studbook.daemon.domain.drift import InputsLogged
from studbook.daemon.domain.errors import InvalidArgument
from studbook.daemon.domain.format_info import FormatInfo
from studbook.daemon.domain.hooks import Hook
from studbook.daemon.domain.monitors import MonitorStatus
from studbook.daemon.domain.names import model_name, parse_version_name, version_name
from studbook.daemon.domain.production import MetricsLogged
from studbook.daemon.domain.semver import ChangeBasis
from studbook.daemon.service.hook_convert import hook_to_proto
from studbook.daemon.service.monitor_convert import monitor_state_to_proto
from studbook.v1 import (
    access_pb2,
    events_pb2,
    formats_pb2,
    lineage_pb2,
    production_pb2,
    registry_pb2,
    resources_pb2,
    stages_pb2,
)

if TYPE_CHECKING:  # the diff rules load with the first diff (VersionUseCases.diff), not at start-up
    from studbook.daemon.domain import diff as d

# -- time -------------------------------------------------------------------------------


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _seconds_and_nanos(value: datetime) -> tuple[int, int]:
    """What `Timestamp.FromDatetime` computes, in a tenth of its time: a page of 50 versions
    with 10 metrics each spent ~5 ms of its ~8 ms of conversion there (measured here)."""
    since = value.astimezone(UTC) - _EPOCH
    return since.days * 86_400 + since.seconds, since.microseconds * 1000


def timestamp(value: datetime | None) -> Timestamp | None:
    if value is None:
        return None
    seconds, nanos = _seconds_and_nanos(value)
    return Timestamp(seconds=seconds, nanos=nanos)


def from_timestamp(stamp: Timestamp) -> datetime:
    return stamp.ToDatetime(tzinfo=UTC)


def _set_time(message: object, field: str, value: datetime | None) -> None:
    if value is not None:
        stamp = getattr(message, field)
        stamp.seconds, stamp.nanos = _seconds_and_nanos(value)


# -- enums: the proto names are the domain values upper-cased behind a prefix ---------------

_STATUS = {s: resources_pb2.VersionStatus.Value(f"VERSION_STATUS_{s.name}") for s in m.VersionStatus}
_KIND = {k: resources_pb2.ChangeKind.Value(f"CHANGE_KIND_{k.name}") for k in m.ChangeKind}
_KIND_FROM = {v: k for k, v in _KIND.items()}
_MODEL_STATE = {s: resources_pb2.ModelState.Value(f"MODEL_STATE_{s.name}") for s in m.ModelState}
_PROMOTION = {s: stages_pb2.PromotionState.Value(f"PROMOTION_STATE_{s.name}") for s in m.PromotionState}
_ROLE = {r: access_pb2.Role.Value(f"ROLE_{r.name}") if r is not Role.NONE else access_pb2.ROLE_UNSPECIFIED
         for r in Role}  # fmt: skip
_ROLE_FROM = {v: k for k, v in _ROLE.items()}
_RELATION_FROM = {
    resources_pb2.PARENT_RELATION_FINE_TUNED_FROM: "fine_tuned_from",
    resources_pb2.PARENT_RELATION_DISTILLED_FROM: "distilled_from",
    resources_pb2.PARENT_RELATION_QUANTIZED_FROM: "quantized_from",
    resources_pb2.PARENT_RELATION_DERIVED_FROM: "derived_from",
    resources_pb2.PARENT_RELATION_UNSPECIFIED: "derived_from",
}
_RELATION = {v: k for k, v in _RELATION_FROM.items() if k != resources_pb2.PARENT_RELATION_UNSPECIFIED}
_NODE_KIND: dict[str, lineage_pb2.NodeKind] = {
    "version": lineage_pb2.NODE_KIND_MODEL_VERSION,
    "dataset": lineage_pb2.NODE_KIND_DATASET,
    "run": lineage_pb2.NODE_KIND_RUN,
    "deployment": lineage_pb2.NODE_KIND_DEPLOYMENT,
}


def change_kind_from_proto(value: int) -> m.ChangeKind | None:
    return _KIND_FROM.get(value)


# -- models -----------------------------------------------------------------------------


def model_to_proto(model: m.Model) -> resources_pb2.Model:
    message = resources_pb2.Model(
        name=model_name(model.name),
        description=model.description,
        tags=model.tags,
        owner=model.owner,
        stages=list(model.stages),
        stage_holders={s: version_name(model.name, n) for s, n in model.stage_holders.items()},
        aliases={a: version_name(model.name, n) for a, n in model.aliases.items()},
        latest_version=model.latest_version,
        version_count=model.version_count,
        state=_MODEL_STATE[model.state],
        etag=str(model.revision),
    )
    _set_time(message, "create_time", model.create_time)
    _set_time(message, "update_time", model.update_time)
    return message


def model_changes(message: resources_pb2.Model) -> m.Model:
    return m.Model(
        name="",
        description=message.description,
        tags=dict(message.tags),
        owner=message.owner,
        stages=tuple(message.stages),
    )


# -- versions ---------------------------------------------------------------------------


def metric_to_proto(metric: m.Metric) -> resources_pb2.Metric:
    message = resources_pb2.Metric(key=metric.key, value=metric.value, split=metric.split)
    if metric.step is not None:
        message.step = metric.step
    _set_time(message, "time", metric.time)
    return message


def metric_from_proto(message: resources_pb2.Metric) -> m.Metric:
    return m.Metric(
        key=message.key,
        value=message.value,
        step=message.step if message.HasField("step") else None,
        split=message.split,
        time=from_timestamp(message.time) if message.HasField("time") else None,
    )


def signature_to_proto(signature: m.Signature) -> resources_pb2.Signature:
    def specs(items: tuple[m.TensorSpec, ...]) -> list[resources_pb2.TensorSpec]:
        return [resources_pb2.TensorSpec(name=t.name, dtype=t.dtype, shape=list(t.shape), optional=t.optional)
                for t in items]  # fmt: skip

    return resources_pb2.Signature(inputs=specs(signature.inputs), outputs=specs(signature.outputs))


def signature_from_proto(message: resources_pb2.Signature) -> m.Signature:
    def specs(items: object) -> tuple[m.TensorSpec, ...]:
        return tuple(m.TensorSpec(t.name, t.dtype, tuple(t.shape), t.optional) for t in items)  # type: ignore[attr-defined]

    return m.Signature(specs(message.inputs), specs(message.outputs))


def version_to_proto(version: m.ModelVersion, model: m.Model | None) -> resources_pb2.ModelVersion:
    holders = model.stage_holders if model else {}
    aliases = model.aliases if model else {}
    message = resources_pb2.ModelVersion(
        name=version_name(version.model, version.number),
        model=model_name(version.model),
        number=version.number,
        semver=version.semver,
        change_kind=_KIND[version.change_kind],
        status=_STATUS[version.status],
        status_reason=version.status_reason,
        description=version.description,
        tags=version.tags,
        params=version.params,
        metrics=[metric_to_proto(x) for x in version.metrics],
        files=[
            resources_pb2.ArtifactFile(
                path=f.path,
                size=f.size,
                sha256=f.sha256,
                format=f.format,
                flags=f.flags,
                format_info=None if f.format_info.empty else format_info_to_proto(f.format_info),
            )
            for f in version.files
        ],
        storage_uri=version.storage_uri,
        content_digest=version.content_digest,
        signature=signature_to_proto(version.signature),
        environment=resources_pb2.Environment(
            python_version=version.environment.python_version,
            packages=version.environment.packages,
            requirements=version.environment.requirements,
            platform=version.environment.platform,
        ),
        model_card=version.model_card,
        datasets=[
            resources_pb2.Dataset(name=x.name, version=x.version, uri=x.uri, size=x.size) for x in version.datasets
        ],  # fmt: skip
        parents=[
            resources_pb2.ParentVersion(version=version_name(p.model, p.number), relation=_RELATION[p.relation])
            for p in version.parents
        ],
        stages=sorted(s for s, n in holders.items() if n == version.number),
        aliases=sorted(a for a, n in aliases.items() if n == version.number),
        created_by=version.created_by,
        created_from=version.created_from,
        etag=str(version.revision),
        total_size=version.total_size,
        file_count=version.file_count,
        format=version.format,
        kept=version.kept,
    )
    if not version.format_info.empty:
        message.format_info.CopyFrom(format_info_to_proto(version.format_info))
    training = version.training
    message.training.CopyFrom(
        resources_pb2.TrainingConfig(
            data_versions=training.data_versions,
            code_commit=training.code_commit,
            code_dirty=training.code_dirty,
            entry_point=training.entry_point,
        )
    )
    if training.seed is not None:
        message.training.seed = training.seed
    if version.run is not None:
        r = version.run
        message.run.CopyFrom(resources_pb2.Run(run_id=r.run_id, code_commit=r.code_commit, entry_point=r.entry_point,
                                               uri=r.uri))  # fmt: skip
    _set_time(message, "create_time", version.create_time)
    _set_time(message, "update_time", version.update_time)
    return message


def format_info_to_proto(record: FormatInfo) -> formats_pb2.FormatInfo:
    """The record as its message: fields of the same names, sub-records as sub-messages."""
    message = formats_pb2.FormatInfo()
    _fill_message(message, record)
    return message


def _fill_message(message: Any, record: Any) -> None:
    for item in dataclasses.fields(record):
        value = getattr(record, item.name)
        if value is None:
            continue
        if dataclasses.is_dataclass(value):
            _fill_message(getattr(message, item.name), value)
        elif isinstance(value, dict):
            getattr(message, item.name).update(value)
        elif isinstance(value, tuple):
            target = getattr(message, item.name)
            for entry in value:
                if dataclasses.is_dataclass(entry):
                    _fill_message(target.add(), entry)
                else:
                    target.append(entry)
        else:
            setattr(message, item.name, value)


def version_from_proto(model_id: str, message: resources_pb2.ModelVersion) -> m.ModelVersion:
    """The caller-given part of a version to register; output-only fields are ignored."""
    parents = []
    for parent in message.parents:
        ref = parse_version_name(parent.version, "parents.version")
        if ref.number is None:
            raise InvalidArgument(
                f"parent {parent.version!r} must name a version number, not a stage or alias, so lineage "
                "never moves when an alias does",
                reason="INVALID_PARENT",
                field="parents",
            )
        parents.append(m.ParentLink(ref.model, ref.number, _RELATION_FROM.get(parent.relation, "derived_from")))
    return m.ModelVersion(
        model=model_id,
        number=0,
        description=message.description,
        tags=dict(message.tags),
        params=dict(message.params),
        metrics=[metric_from_proto(x) for x in message.metrics],
        storage_uri=message.storage_uri,
        signature=signature_from_proto(message.signature),
        environment=m.Environment(
            python_version=message.environment.python_version,
            packages=dict(message.environment.packages),
            requirements=list(message.environment.requirements),
            platform=message.environment.platform,
        ),
        training=_training_from_proto(message.training),
        model_card=message.model_card,
        datasets=_datasets_from_proto(message.datasets),
        run=m.Run(message.run.run_id, message.run.code_commit, message.run.entry_point, message.run.uri)
        if message.HasField("run") and message.run.run_id
        else None,
        parents=parents,
        created_by=message.created_by,
        created_from=message.created_from,
    )


def _training_from_proto(training: resources_pb2.TrainingConfig) -> m.TrainingConfig:
    return m.TrainingConfig(
        seed=training.seed if training.HasField("seed") else None,
        data_versions=dict(training.data_versions),
        code_commit=training.code_commit,
        code_dirty=training.code_dirty,
        entry_point=training.entry_point,
    )


def _datasets_from_proto(datasets: Iterable[resources_pb2.Dataset]) -> list[m.Dataset]:
    return [m.Dataset(x.name, x.version, x.uri, x.size if x.HasField("size") else None) for x in datasets]


def change_basis_of_payload(payload: bytes) -> ChangeBasis:
    """What the version a version.created event records is judged against by the next one:
    read from the event's payload (the version as `version_to_proto` wrote it)."""
    message = resources_pb2.ModelVersion.FromString(payload)
    return ChangeBasis(message.number, message.semver, signature_from_proto(message.signature),
                       _datasets_from_proto(message.datasets), _training_from_proto(message.training))  # fmt: skip


# -- diff ------------------------------------------------------------------------------


def _change(change: d.ChangeType) -> registry_pb2.ChangeType:
    return registry_pb2.ChangeType.Value(f"CHANGE_TYPE_{change.name}")


def diff_to_proto(diff: d.VersionDiff) -> registry_pb2.VersionDiff:
    def values(items: list[d.ValueChange]) -> list[registry_pb2.ValueChange]:
        return [registry_pb2.ValueChange(key=c.key, change=_change(c.change), base=c.base or "",
                                         target=c.target or "") for c in items]  # fmt: skip

    metrics = []
    for c in diff.metrics:
        change = registry_pb2.MetricChange(key=c.key, split=c.split, change=_change(c.change))
        for field in ("base", "target", "delta", "relative_delta", "better"):
            value = getattr(c, field)
            if value is not None:
                setattr(change, field, value)
        metrics.append(change)
    return registry_pb2.VersionDiff(
        base=diff.base,
        target=diff.target,
        params=values(diff.params),
        metrics=metrics,
        tags=values(diff.tags),
        environment=values(diff.environment),
        signature=registry_pb2.SignatureCompatibility(
            compatible=diff.signature.compatible, reasons=list(diff.signature.messages)
        ),
        files=[
            registry_pb2.FileChange(
                path=f.path,
                change=_change(f.change),
                base_sha256=f.base_sha256,
                target_sha256=f.target_sha256,
                base_size=f.base_size,
                target_size=f.target_size,
                base_path=f.base_path,
            )  # fmt: skip
            for f in diff.files
        ],
        model_card_diff=diff.model_card_diff,
        model_card_truncated=diff.model_card_truncated,
        base_semver=diff.base_semver,
        target_semver=diff.target_semver,
        format=values(diff.format),
        tensors=[
            registry_pb2.TensorChange(
                name=t.name,
                change=_change(t.change),
                base_dtype=t.base_dtype,
                target_dtype=t.target_dtype,
                base_shape=t.base_shape,
                target_shape=t.target_shape,
            )  # fmt: skip
            for t in diff.tensors
        ],
    )


# -- stages ----------------------------------------------------------------------------


def promotion_to_proto(p: m.Promotion) -> stages_pb2.Promotion:
    message = stages_pb2.Promotion(
        name=f"models/{p.model}/promotions/{p.id}" if p.id else "",
        model=model_name(p.model),
        version=version_name(p.model, p.version),
        target=p.target,
        is_alias=p.is_alias,
        previous_version=version_name(p.model, p.previous_version) if p.previous_version else "",
        state=_PROMOTION[p.state],
        reason=p.reason,
        actor=p.actor,
        gate_results=[stages_pb2.GateResult(gate=g.gate, passed=g.passed, detail=g.detail) for g in p.gate_results],
        rollback=p.rollback,
        required_approvals=p.required_approvals,
    )
    for approval in p.approvals:
        item = message.approvals.add(actor=approval.actor, comment=approval.comment)
        _set_time(item, "time", approval.time)
    _set_time(message, "create_time", p.create_time)
    _set_time(message, "update_time", p.update_time)
    return message


def policy_status_to_proto(state: PolicyState) -> stages_pb2.PolicyStatus:
    status = stages_pb2.PolicyStatus(
        path=str(state.path) if state.path is not None else "", default_location=state.default_location,
        in_force=state.in_force, sha256=state.sha256, model_rules=state.model_rules, stage_gates=state.stage_gates,
        monitors=state.monitors, error=state.error,
    )  # fmt: skip
    _set_time(status, "load_time", state.load_time)
    _set_time(status, "error_time", state.error_time)
    return status


def stage_change_to_proto(c: m.StageChange) -> stages_pb2.StageChange:
    message = stages_pb2.StageChange(
        model=model_name(c.model),
        stage=c.stage,
        is_alias=c.is_alias,
        version=version_name(c.model, c.version) if c.version else "",
        previous_version=version_name(c.model, c.previous_version) if c.previous_version else "",
        actor=c.actor,
        reason=c.reason,
        promotion=f"models/{c.model}/promotions/{c.promotion_id}" if c.promotion_id else "",
        rollback=c.rollback,
        revision=c.revision,
    )
    _set_time(message, "time", c.time)
    return message


# -- lineage and events ------------------------------------------------------------------


def lineage_to_proto(graph: LineageGraph) -> lineage_pb2.GetLineageResponse:
    return lineage_pb2.GetLineageResponse(
        root=graph.root,
        nodes=[
            lineage_pb2.LineageNode(
                name=n.name,
                kind=_NODE_KIND.get(n.kind, lineage_pb2.NODE_KIND_UNSPECIFIED),
                label=n.label,
                depth=n.depth,
            )
            for n in graph.nodes
        ],  # fmt: skip
        edges=[lineage_pb2.LineageEdge(source=s, target=t, kind=k) for s, t, k in graph.edges],
        truncated=graph.truncated,
    )


def encode_payload(subject: object) -> bytes:
    """The payload of an event row: the subject as it was, in its v1 message form."""
    if isinstance(subject, m.Model):
        return model_to_proto(subject).SerializeToString()
    if isinstance(subject, m.ModelRename):
        return events_pb2.ModelRenamed(previous_name=model_name(subject.previous), model=model_to_proto(subject.model),
                                       reason=subject.reason).SerializeToString()  # fmt: skip
    if isinstance(subject, m.ModelVersion):
        return version_to_proto(subject, None).SerializeToString()
    if isinstance(subject, m.Promotion):
        return promotion_to_proto(subject).SerializeToString()
    if isinstance(subject, Token):
        return token_to_proto(subject).SerializeToString()
    if isinstance(subject, Denial):
        return denial_to_proto(subject).SerializeToString()
    if isinstance(subject, Hook):
        return hook_to_proto(subject).SerializeToString()
    if isinstance(subject, MonitorStatus):
        return monitor_state_to_proto(subject).SerializeToString()
    if isinstance(subject, MetricsLogged):
        return metrics_logged_to_proto(subject).SerializeToString()
    if isinstance(subject, InputsLogged):
        from studbook.daemon.service.drift_convert import inputs_logged_to_proto

        return inputs_logged_to_proto(subject).SerializeToString()
    raise TypeError(f"no payload encoding for {type(subject).__name__}")


def metrics_logged_to_proto(logged: MetricsLogged) -> production_pb2.ProductionMetricsLogged:
    message = production_pb2.ProductionMetricsLogged(
        stage=logged.stage, count=logged.recorded, versions=[version_name(logged.model, n) for n in logged.versions()],
        keys=logged.keys, request_id=logged.request_id,
    )  # fmt: skip
    _set_time(message, "first_window_end", logged.first_window_end)
    _set_time(message, "last_window_end", logged.last_window_end)
    return message


def event_to_proto(event: m.Event) -> events_pb2.Event:
    message = events_pb2.Event(
        revision=event.revision, type=event.type, subject=event.subject, model=event.model, actor=event.actor,
        role=role_to_proto(event.role),
    )  # fmt: skip
    _set_time(message, "time", event.time)
    if event.payload:
        family = event.type.split(".", 1)[0]
        if event.type == "model.renamed":
            message.renamed.ParseFromString(event.payload)
        elif family == "model":
            message.model_snapshot.ParseFromString(event.payload)
        elif family in ("version", "metrics"):
            message.version.ParseFromString(event.payload)
        elif family in ("stage", "alias", "promotion"):
            if event.type == "alias.deleted":
                message.model_snapshot.ParseFromString(event.payload)
            else:
                message.promotion.ParseFromString(event.payload)
        elif family == "token":
            message.token.ParseFromString(event.payload)
        elif family == "access":
            message.denial.ParseFromString(event.payload)
        elif family == "hook":
            message.hook.ParseFromString(event.payload)
        elif family == "drift":
            message.monitor_state.ParseFromString(event.payload)
        elif event.type == "production.metrics_logged":
            message.production_metrics.ParseFromString(event.payload)
        elif event.type == "production.inputs_logged":
            message.inputs_logged.ParseFromString(event.payload)
    return message


def role_to_proto(label: str) -> access_pb2.Role:
    """A recorded role label (empty before roles existed) as the proto enum."""
    return _ROLE[Role.__members__.get(label.upper(), Role.NONE)]


def role_from_proto(value: int) -> Role:
    return _ROLE_FROM.get(value, Role.NONE)


def token_to_proto(token: Token) -> access_pb2.Token:
    message = access_pb2.Token(
        name=token.name, display_name=token.display_name, role=_ROLE[token.role],
        creator=token.creator, revoker=token.revoker,
    )  # fmt: skip
    _set_time(message, "create_time", token.create_time)
    _set_time(message, "expire_time", token.expire_time)
    _set_time(message, "revoke_time", token.revoke_time)
    return message


def denial_to_proto(denial: Denial) -> access_pb2.AccessDenial:
    return access_pb2.AccessDenial(method=denial.method, code=denial.code, reason=denial.reason, peer=denial.peer,
                                   suppressed=denial.suppressed)  # fmt: skip


def caller_to_proto(caller: Caller) -> access_pb2.Caller:
    token = f"tokens/{caller.token_id}" if caller.token_id else ""
    return access_pb2.Caller(actor=caller.actor, role=_ROLE[caller.role],
                             transport=caller.transport, token=token)  # fmt: skip
