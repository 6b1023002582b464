"""Every RPC of the v1 contract as a plain `Call`: the request, built once for both clients.

Nothing here touches the network or imports grpc, so the sync and the async client share
it and tests can check requests without a daemon.
"""

from __future__ import annotations

import getpass
import json
import os
import socket
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypedDict, TypeVar

from google.protobuf import field_mask_pb2, timestamp_pb2
from google.protobuf.message import Message
from grpc_health.v1 import health_pb2
from studbook.client import names
from studbook.v1 import (
    access_pb2,
    artifacts_pb2,
    audit_pb2,
    drops_pb2,
    events_pb2,
    hooks_pb2,
    lineage_pb2,
    maintenance_pb2,
    production_pb2,
    registry_pb2,
    resources_pb2,
    retention_pb2,
    stages_pb2,
)

T = TypeVar("T", bound=Message)

# Registering a path waits while the daemon hashes and inspects the artifact, which
# takes minutes for models of many gigabytes; every other call is quick.
REGISTER_PATH_TIMEOUT = 900.0
# A garbage collection lists the whole artifact store (a bucket of millions of blobs takes a while)
# and purges in batches: give it as long as a big registration.
COLLECT_GARBAGE_TIMEOUT = 900.0
CREATED_FROM = "python-client"

MetricsArg = Mapping[str, float] | Iterable[resources_pb2.Metric]
PointsArg = Mapping[str, float] | Iterable[production_pb2.ProductionPoint]
DatasetArg = str | Mapping[str, str] | resources_pb2.Dataset
ParentArg = str | tuple[str, str] | resources_pb2.ParentVersion


@dataclass(frozen=True)
class Call(Generic[T]):
    """One RPC to make: `method` of `service` (a stub of the contract) with its request.

    The type parameter is the response message, so clients stay typed end to end.
    """

    service: str
    method: str
    request: Message
    # Safe to send again after UNAVAILABLE: reads, and creates that carry a request_id.
    idempotent: bool = False
    # Seconds; None means the client's default deadline.
    timeout: float | None = None


def new_request_id() -> str:
    return str(uuid.uuid4())


ACTOR_ENV = "STUDBOOK_ACTOR"


def actor() -> str:
    """`user@host`, recorded as who registered, promoted or approved; $STUDBOOK_ACTOR overrides it.

    The override lets a shared account (a CI runner, a service user) say which person acts,
    so that two people approving from one machine count as two approvers. The daemon takes
    it only from the unix socket's owner calling without a token; a token's calls are
    recorded under the token's name.
    """
    chosen = os.environ.get(ACTOR_ENV, "").strip()
    if chosen:
        return chosen
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry, e.g. in a container
        user = str(os.getuid())
    return f"{user}@{socket.gethostname()}"


def enum_name(enum: Any, prefix: str, value: str | int | None) -> str:
    """`"data"`, `"CHANGE_KIND_DATA"` or 2 -> `"CHANGE_KIND_DATA"` for a generated enum.

    Unknown values raise ValueError listing the choices.
    """
    if value is None or value == "":
        return prefix + "UNSPECIFIED"
    if isinstance(value, int):
        return str(enum.Name(value))  # raises ValueError for a number the enum does not know
    key = value.strip().upper().replace("-", "_")
    if not key.startswith(prefix):
        key = prefix + key
    if key in enum.keys():
        return key
    choices = ", ".join(n[len(prefix) :].lower() for n in enum.keys() if not n.endswith("UNSPECIFIED"))
    raise ValueError(f"unknown value {value!r}: choose one of {choices}")


def timestamp(moment: datetime) -> timestamp_pb2.Timestamp:
    """A proto Timestamp; a naive datetime is taken as local time."""
    stamp = timestamp_pb2.Timestamp()
    aware = moment if moment.tzinfo is not None else moment.astimezone()
    stamp.FromDatetime(aware.astimezone(UTC))
    return stamp


def health(service: str = "") -> Call[health_pb2.HealthCheckResponse]:
    """The standard gRPC health check; "" asks about the daemon as a whole."""
    return Call("Health", "Check", health_pb2.HealthCheckRequest(service=service), idempotent=True)


# ---- ModelService -------------------------------------------------------------------


def create_model(
    model_id: str,
    *,
    description: str = "",
    tags: Mapping[str, str] | None = None,
    owner: str = "",
    stages: Iterable[str] | None = None,
    request_id: str | None = None,
    source_create_time: datetime | None = None,
) -> Call[resources_pb2.Model]:
    """`source_create_time`: when the model was created in the registry it is imported from (admin only)."""
    model = resources_pb2.Model(description=description, tags=dict(tags or {}), owner=owner, stages=list(stages or []))
    request = registry_pb2.CreateModelRequest(model_id=model_id, model=model, request_id=request_id or new_request_id())
    if source_create_time is not None:
        request.source_create_time.CopyFrom(timestamp(source_create_time))
    return Call("ModelService", "CreateModel", request, idempotent=True)


def get_model(model: str) -> Call[resources_pb2.Model]:
    request = registry_pb2.GetModelRequest(name=names.model_name(model))
    return Call("ModelService", "GetModel", request, idempotent=True)


def list_models(
    *, filter: str = "", order_by: str = "", page_size: int = 0, page_token: str = "", show_archived: bool = False
) -> Call[registry_pb2.ListModelsResponse]:
    request = registry_pb2.ListModelsRequest(
        filter=filter, order_by=order_by, page_size=page_size, page_token=page_token, show_archived=show_archived
    )
    return Call("ModelService", "ListModels", request, idempotent=True)


def update_model(model: resources_pb2.Model, update_mask: Iterable[str] = ()) -> Call[resources_pb2.Model]:
    mask = field_mask_pb2.FieldMask(paths=list(update_mask))
    request = registry_pb2.UpdateModelRequest(model=model, update_mask=mask)
    return Call("ModelService", "UpdateModel", request)


def archive_model(model: str, *, etag: str = "") -> Call[resources_pb2.Model]:
    request = registry_pb2.ArchiveModelRequest(name=names.model_name(model), etag=etag)
    return Call("ModelService", "ArchiveModel", request)


def restore_model(model: str, *, etag: str = "") -> Call[resources_pb2.Model]:
    request = registry_pb2.RestoreModelRequest(name=names.model_name(model), etag=etag)
    return Call("ModelService", "RestoreModel", request)


def rename_model(
    model: str, new_model_id: str, *, expected_etag: str = "", reason: str = ""
) -> Call[resources_pb2.Model]:
    request = registry_pb2.RenameModelRequest(name=names.model_name(model), new_model_id=new_model_id,
                                              expected_etag=expected_etag, reason=reason)  # fmt: skip
    return Call("ModelService", "RenameModel", request)


def delete_model(model: str, *, force: bool = False, etag: str = "") -> Call[registry_pb2.DeleteModelResponse]:
    request = registry_pb2.DeleteModelRequest(name=names.model_name(model), force=force, etag=etag)
    return Call("ModelService", "DeleteModel", request)


# ---- VersionService -----------------------------------------------------------------


def register_version(
    request: registry_pb2.RegisterModelVersionRequest,
) -> Call[registry_pb2.RegisterModelVersionResponse]:
    # A request_id makes a resend return the first result instead of a second version.
    timeout = REGISTER_PATH_TIMEOUT if request.source_path or request.uploaded_files else None
    return Call("VersionService", "RegisterModelVersion", request, idempotent=bool(request.request_id), timeout=timeout)


def register_many(
    requests: Iterable[registry_pb2.RegisterModelVersionRequest],
) -> Call[registry_pb2.RegisterModelVersionsResponse]:
    """Many registrations in one call (at most 500): each as `register_version`, answered each
    on its own. Paths are read by the daemon itself: nothing is uploaded."""
    request = registry_pb2.RegisterModelVersionsRequest(requests=requests)
    items = request.requests
    # Resent only when every item carries a request_id: then a resend answers with the first results.
    idempotent = all(item.request_id for item in items)
    timeout = REGISTER_PATH_TIMEOUT if any(item.source_path or item.uploaded_files for item in items) else None
    return Call("VersionService", "RegisterModelVersions", request, idempotent=idempotent, timeout=timeout)


def get_version(model: str, version: str | int | None = None) -> Call[resources_pb2.ModelVersion]:
    request = registry_pb2.GetModelVersionRequest(name=names.version_name(model, version))
    return Call("VersionService", "GetModelVersion", request, idempotent=True)


def get_upload_offset(sha256: str, size: int) -> Call[artifacts_pb2.GetUploadOffsetResponse]:
    request = artifacts_pb2.GetUploadOffsetRequest(sha256=sha256, size=size)
    return Call("ArtifactService", "GetUploadOffset", request, idempotent=True)


def with_uploaded_files(
    request: registry_pb2.RegisterModelVersionRequest, files: Iterable[resources_pb2.ArtifactFile]
) -> registry_pb2.RegisterModelVersionRequest:
    """The same registration, naming uploaded files instead of a path on the daemon's machine."""
    uploaded = registry_pb2.RegisterModelVersionRequest()
    uploaded.CopyFrom(request)
    uploaded.source_path = ""
    uploaded.uploaded_files.extend(files)
    return uploaded


def read_artifact_file(
    name: str, path: str, offset: int = 0, *, local_copy: bool = False
) -> Call[artifacts_pb2.ReadArtifactFileResponse]:
    """A stream: one file of a kept version from `offset` to its end (or where it is stored,
    with `local_copy`, when the daemon shares this machine)."""
    request = artifacts_pb2.ReadArtifactFileRequest(name=name, path=path, offset=offset, local_copy=local_copy)
    return Call("ArtifactService", "ReadArtifactFile", request, idempotent=True)


def list_versions(
    model: str = "-",
    *,
    filter: str = "",
    order_by: str = "",
    page_size: int = 0,
    page_token: str = "",
    show_archived: bool = False,
    summary_only: bool = False,
    skip: int = 0,
) -> Call[registry_pb2.ListModelVersionsResponse]:
    request = registry_pb2.ListModelVersionsRequest(
        parent=names.model_name(model),
        filter=filter,
        order_by=order_by,
        page_size=page_size,
        page_token=page_token,
        show_archived=show_archived,
        summary_only=summary_only,
        skip=skip,
    )
    return Call("VersionService", "ListModelVersions", request, idempotent=True)


def update_version(
    version: resources_pb2.ModelVersion, update_mask: Iterable[str] = ()
) -> Call[resources_pb2.ModelVersion]:
    mask = field_mask_pb2.FieldMask(paths=list(update_mask))
    request = registry_pb2.UpdateModelVersionRequest(version=version, update_mask=mask)
    return Call("VersionService", "UpdateModelVersion", request)


def archive_version(version: str, *, etag: str = "") -> Call[resources_pb2.ModelVersion]:
    request = registry_pb2.ArchiveModelVersionRequest(name=names.version_name(version), etag=etag)
    return Call("VersionService", "ArchiveModelVersion", request)


def restore_version(version: str, *, etag: str = "") -> Call[resources_pb2.ModelVersion]:
    request = registry_pb2.RestoreModelVersionRequest(name=names.version_name(version), etag=etag)
    return Call("VersionService", "RestoreModelVersion", request)


def log_metrics(
    version: str, metrics: MetricsArg, *, step: int | None = None, split: str = ""
) -> Call[registry_pb2.LogMetricsResponse]:
    request = registry_pb2.LogMetricsRequest(name=names.version_name(version), metrics=to_metrics(metrics, step, split))
    return Call("VersionService", "LogMetrics", request)


def list_metrics(version: str, *, key: str = "", split: str = "") -> Call[registry_pb2.ListMetricsResponse]:
    request = registry_pb2.ListMetricsRequest(name=names.version_name(version), key=key, split=split)
    return Call("VersionService", "ListMetrics", request, idempotent=True)


def diff_versions(base: str, target: str) -> Call[registry_pb2.VersionDiff]:
    request = registry_pb2.DiffModelVersionsRequest(base=names.version_name(base), target=names.version_name(target))
    return Call("VersionService", "DiffModelVersions", request, idempotent=True)


# ---- LineageService -----------------------------------------------------------------


def get_lineage(name: str, *, direction: str | int = "both", depth: int = 0) -> Call[lineage_pb2.GetLineageResponse]:
    request = lineage_pb2.GetLineageRequest(
        name=names.lineage_node(name),
        direction=enum_name(lineage_pb2.LineageDirection, "LINEAGE_DIRECTION_", direction),
        depth=depth,
    )
    return Call("LineageService", "GetLineage", request, idempotent=True)


# ---- StageService -------------------------------------------------------------------


def promote(
    version: str,
    target: str,
    *,
    reason: str = "",
    validate_only: bool = False,
    expected_etag: str = "",
    request_id: str | None = None,
) -> Call[stages_pb2.Promotion]:
    request = stages_pb2.PromoteModelVersionRequest(
        name=names.version_name(version),
        target=target,
        reason=reason,
        validate_only=validate_only,
        expected_etag=expected_etag,
        request_id=request_id or new_request_id(),
    )
    return Call("StageService", "PromoteModelVersion", request, idempotent=True)


def rollback(
    model: str,
    stage: str,
    *,
    reason: str = "",
    expected_etag: str = "",
    validate_only: bool = False,
    to: str | int = "",
) -> Call[stages_pb2.Promotion]:
    """`to`: an earlier holder to put back (number or version name); empty: the previous holder."""
    # No request_id in the contract: a resend could roll back twice, so no retries.
    request = stages_pb2.RollbackStageRequest(
        model=names.model_name(model),
        stage=stage,
        reason=reason,
        expected_etag=expected_etag,
        validate_only=validate_only,
        version=str(to),
    )
    return Call("StageService", "RollbackStage", request)


def list_monitor_states(
    model: str = "", *, breached_only: bool = False
) -> Call[production_pb2.ListMonitorStatesResponse]:
    """The policy's monitors and their states (of one model, when given)."""
    request = production_pb2.ListMonitorStatesRequest(
        model=names.model_name(model) if model else "", breached_only=breached_only
    )
    return Call("ProductionService", "ListMonitorStates", request, idempotent=True)


def rollback_candidate(model: str, stage: str, *, key: str = "") -> Call[production_pb2.RollbackCandidate]:
    """The earlier holders of `stage` ranked by `key` (`-key`: lower is better; empty: the monitor's)."""
    request = production_pb2.GetRollbackCandidateRequest(model=names.model_name(model), stage=stage, key=key)
    return Call("ProductionService", "GetRollbackCandidate", request, idempotent=True)


def delete_alias(model: str, alias: str, *, reason: str = "") -> Call[stages_pb2.DeleteAliasResponse]:
    request = stages_pb2.DeleteAliasRequest(model=names.model_name(model), alias=alias, reason=reason)
    return Call("StageService", "DeleteAlias", request)


PENDING_FILTER = "state = PENDING_APPROVAL"


def get_promotion(name: str) -> Call[stages_pb2.Promotion]:
    """By `models/m/promotions/7` or `m/7`."""
    request = stages_pb2.GetPromotionRequest(name=names.promotion_name(name))
    return Call("StageService", "GetPromotion", request, idempotent=True)


def list_promotions(
    model: str = "-", *, filter: str = "", page_size: int = 0, page_token: str = ""
) -> Call[stages_pb2.ListPromotionsResponse]:
    request = stages_pb2.ListPromotionsRequest(
        parent=names.model_name(model), filter=filter, page_size=page_size, page_token=page_token
    )
    return Call("StageService", "ListPromotions", request, idempotent=True)


def approve_promotion(name: str, *, comment: str = "") -> Call[stages_pb2.Promotion]:
    request = stages_pb2.ApprovePromotionRequest(name=names.promotion_name(name), comment=comment)
    return Call("StageService", "ApprovePromotion", request)


def reject_promotion(name: str, *, reason: str = "") -> Call[stages_pb2.Promotion]:
    request = stages_pb2.RejectPromotionRequest(name=names.promotion_name(name), reason=reason)
    return Call("StageService", "RejectPromotion", request)


def cancel_promotion(name: str, *, reason: str = "") -> Call[stages_pb2.Promotion]:
    request = stages_pb2.CancelPromotionRequest(name=names.promotion_name(name), reason=reason)
    return Call("StageService", "CancelPromotion", request)


def stage_history(
    model: str, *, stage: str = "", at: datetime | None = None, page_size: int = 0, page_token: str = ""
) -> Call[stages_pb2.GetStageHistoryResponse]:
    request = stages_pb2.GetStageHistoryRequest(
        model=names.model_name(model), stage=stage, page_size=page_size, page_token=page_token
    )
    if at is not None:
        request.at.CopyFrom(timestamp(at))
    return Call("StageService", "GetStageHistory", request, idempotent=True)


# ---- ProductionService --------------------------------------------------------------


def observe(
    model: str, metrics: PointsArg, *, stage: str = "", window_end: datetime | None = None, segment: str = "",
    request_id: str | None = None,
) -> Call[production_pb2.LogProductionMetricsResponse]:  # fmt: skip
    model_name, chosen = stage_of(model, stage)
    request = production_pb2.LogProductionMetricsRequest(model=model_name, stage=chosen,
                                                         points=to_points(metrics, window_end, segment),
                                                         request_id=request_id or new_request_id())  # fmt: skip
    # The request_id makes a resend answer with the first call's result instead of a second record.
    return Call("ProductionService", "LogProductionMetrics", request, idempotent=True)


def production_record(
    model: str, *, stage: str = "", keys: Iterable[str] = (), segment: str = "", since: datetime | None = None,
    until: datetime | None = None, version: str | int = "",
) -> Call[production_pb2.ProductionRecord]:  # fmt: skip
    model_name, chosen = stage_of(model, stage)
    request = production_pb2.GetProductionRecordRequest(model=model_name, stage=chosen, keys=list(keys),
                                                        segment=segment, version=str(version))  # fmt: skip
    if since is not None:
        request.since.CopyFrom(timestamp(since))
    if until is not None:
        request.until.CopyFrom(timestamp(until))
    return Call("ProductionService", "GetProductionRecord", request, idempotent=True)


def get_policy_status() -> Call[stages_pb2.PolicyStatus]:
    return Call("StageService", "GetPolicyStatus", stages_pb2.GetPolicyStatusRequest(), idempotent=True)


# ---- EventService -------------------------------------------------------------------


def verify_audit_trail() -> Call[audit_pb2.VerifyAuditTrailResponse]:
    return Call("AuditService", "VerifyAuditTrail", audit_pb2.VerifyAuditTrailRequest(), idempotent=True)


def plan_garbage_collection() -> Call[retention_pb2.GarbageCollection]:
    return Call("RetentionService", "PlanGarbageCollection", retention_pb2.PlanGarbageCollectionRequest(),
                idempotent=True, timeout=COLLECT_GARBAGE_TIMEOUT)  # fmt: skip


def collect_garbage() -> Call[retention_pb2.GarbageCollection]:
    # Not resent by itself: a collection cut off may still be running (a second one is ABORTED).
    return Call("RetentionService", "CollectGarbage", retention_pb2.CollectGarbageRequest(),
                timeout=COLLECT_GARBAGE_TIMEOUT)  # fmt: skip


def export_audit_trail(start_revision: int = 0) -> Call[audit_pb2.AuditRecord]:
    return Call("AuditService", "ExportAuditTrail", audit_pb2.ExportAuditTrailRequest(start_revision=start_revision))


def verify_artifacts(target: str = "") -> Call[maintenance_pb2.VerifyArtifactsResponse]:
    """A stream: re-hash the stored files of `target` (`fraud@3`, `fraud`), or of every kept version ("")."""
    name = names.parse_ref(target).name if target else ""
    return Call("MaintenanceService", "VerifyArtifacts", maintenance_pb2.VerifyArtifactsRequest(name=name))


def backup_registry(destination: str) -> Call[maintenance_pb2.BackupRegistryResponse]:
    """A stream: write a backup to `destination`, a folder on the daemon's host or s3://bucket/prefix.

    A relative folder is made absolute here: the daemon does not share this process's directory.
    """
    if not destination.startswith("s3://"):
        destination = os.path.abspath(destination) if destination else ""
    return Call("MaintenanceService", "BackupRegistry", maintenance_pb2.BackupRegistryRequest(destination=destination))


def get_catalog_status() -> Call[maintenance_pb2.CatalogStatus]:
    return Call("MaintenanceService", "GetCatalogStatus", maintenance_pb2.GetCatalogStatusRequest(), idempotent=True)


def watch(
    start_revision: int = -1, *, filter: str = "", bookmark_interval: int | None = None
) -> Call[events_pb2.WatchResponse]:
    request = events_pb2.WatchRequest(
        start_revision=start_revision, filter=filter, bookmark_interval_seconds=bookmark_interval or 0
    )
    return Call("EventService", "Watch", request)


# ---- DropService --------------------------------------------------------------------


def drop_model(model: str) -> str:
    """`fraud` or `models/fraud` -> `fraud`, as DropService filters take it; "" and `-` mean every model.

    Not validated: a quarantined drop may carry a model folder name that is not a valid id
    (that can be why it was quarantined), and a user must still be able to list it.
    """
    model = model.strip()
    if model in ("", "-"):
        return ""
    return model.removeprefix("models/")


def list_drops(*, model: str = "", page_size: int = 0, page_token: str = "") -> Call[drops_pb2.ListDropsResponse]:
    request = drops_pb2.ListDropsRequest(model=drop_model(model), page_size=page_size, page_token=page_token)
    return Call("DropService", "ListDrops", request, idempotent=True)


def list_quarantined_drops(
    *, model: str = "", page_size: int = 0, page_token: str = ""
) -> Call[drops_pb2.ListQuarantinedDropsResponse]:
    request = drops_pb2.ListQuarantinedDropsRequest(model=drop_model(model), page_size=page_size, page_token=page_token)
    return Call("DropService", "ListQuarantinedDrops", request, idempotent=True)


def retry_drop(
    name: str = "", *, path: str | os.PathLike[str] | None = None, allow_unsafe: bool = False
) -> Call[drops_pb2.Drop]:
    """By resource name (`drops/{id}`) or by the path of the drop's folder or file; `allow_unsafe`
    lets it register although it runs code when loaded (maintainer role)."""
    if bool(name) == (path is not None):
        raise ValueError("give the drop's name (drops/ID) or its path, one of them")
    request = drops_pb2.RetryDropRequest(
        name=name,
        # Absolute, because the daemon resolves it from its own working directory.
        path=os.path.abspath(os.path.expanduser(os.fspath(path))) if path is not None else "",
        allow_unsafe=allow_unsafe,
    )
    # Safe to resend: it only asks the watcher to look again, and a drop registers once
    # however often it is looked at.
    return Call("DropService", "RetryDrop", request, idempotent=True)


def get_watch_status() -> Call[drops_pb2.WatchStatus]:
    return Call("DropService", "GetWatchStatus", drops_pb2.GetWatchStatusRequest(), idempotent=True)


# ---- AccessService ------------------------------------------------------------------


def role_name(role: str | int) -> str:
    """`"viewer"`, `"ROLE_VIEWER"` or `access_pb2.ROLE_VIEWER` -> `"ROLE_VIEWER"`.

    Unknown names raise ValueError listing the roles.
    """
    return enum_name(access_pb2.Role, "ROLE_", role)


def create_token(name: str, role: str | int, *, ttl_seconds: int = 0) -> Call[access_pb2.CreateTokenResponse]:
    request = access_pb2.CreateTokenRequest(display_name=name, role=role_name(role), ttl_seconds=ttl_seconds)
    # Never resent: the request carries no request_id, so a resend after a lost answer would
    # be refused (names are never reused) and the secret of the first one lost with it.
    return Call("AccessService", "CreateToken", request)


def list_tokens(*, show_revoked: bool = False) -> Call[access_pb2.ListTokensResponse]:
    request = access_pb2.ListTokensRequest(show_revoked=show_revoked)
    return Call("AccessService", "ListTokens", request, idempotent=True)


def revoke_token(name: str) -> Call[access_pb2.Token]:
    """By `tokens/{id}` or by the token's display name."""
    request = access_pb2.RevokeTokenRequest(name=name.strip())
    # Safe to resend: revoking a revoked token answers with it unchanged.
    return Call("AccessService", "RevokeToken", request, idempotent=True)


def get_caller() -> Call[access_pb2.Caller]:
    return Call("AccessService", "GetCaller", access_pb2.GetCallerRequest(), idempotent=True)


# ---- Webhooks ------------------------------------------------------------------------


def add_hook(url: str, events: str | Iterable[str], *, model: str = "", secret: str = "",
             name: str = "") -> Call[hooks_pb2.AddHookResponse]:  # fmt: skip
    """`events`: patterns such as "version.registered,promotion.*", as one string or a list."""
    patterns = [events] if isinstance(events, str) else list(events)
    request = hooks_pb2.AddHookRequest(url=url.strip(), events=patterns, model_pattern=model, secret=secret, name=name)
    # Never resent: a resend after a lost answer would be refused (the name is taken) and a made
    # secret lost with the first answer.
    return Call("HookService", "AddHook", request)


def list_hooks() -> Call[hooks_pb2.ListHooksResponse]:
    return Call("HookService", "ListHooks", hooks_pb2.ListHooksRequest(), idempotent=True)


def remove_hook(name: str) -> Call[hooks_pb2.Hook]:
    return Call("HookService", "RemoveHook", hooks_pb2.RemoveHookRequest(name=name.strip()))


# A test waits for the receiver's answer, which the daemon allows 10 s by default.
TEST_HOOK_TIMEOUT = 60.0


def test_hook(name: str) -> Call[hooks_pb2.HookDelivery]:
    return Call("HookService", "TestHook", hooks_pb2.TestHookRequest(name=name.strip()), timeout=TEST_HOOK_TIMEOUT)


def list_deliveries(name: str, *, limit: int = 0) -> Call[hooks_pb2.ListDeliveriesResponse]:
    request = hooks_pb2.ListDeliveriesRequest(name=name.strip(), limit=limit)
    return Call("HookService", "ListDeliveries", request, idempotent=True)


def replay_hook(name: str, from_revision: int) -> Call[hooks_pb2.Hook]:
    request = hooks_pb2.ReplayHookRequest(name=name.strip(), from_revision=from_revision)
    # Safe to resend: replaying sets where the hook stands, the same each time.
    return Call("HookService", "ReplayHook", request, idempotent=True)


def get_hook_status() -> Call[hooks_pb2.HookStatus]:
    return Call("HookService", "GetHookStatus", hooks_pb2.GetHookStatusRequest(), idempotent=True)


# ---- Registration -------------------------------------------------------------------


def stage_of(model: str, stage: str) -> tuple[str, str]:
    """(`models/{model}`, stage) from `fraud@production` or from `fraud` and `stage`."""
    ref = names.parse_ref(model)
    if ref.is_version and stage and stage != ref.version:
        raise names.InvalidName(f"{model!r} already names stage {ref.version!r}; pass the model alone")
    chosen = stage or ref.version or ""
    if not chosen or chosen.isdigit() or chosen == names.LATEST:
        raise names.InvalidName(f"name a stage: `{ref.model}@production`, or the model and stage=...")
    return ref.model_name, chosen


def to_points(metrics: PointsArg, window_end: datetime | None, segment: str) -> list[production_pb2.ProductionPoint]:
    """`{"auc": 0.91}` or ProductionPoint messages -> points; `window_end`/`segment` fill plain values."""
    if not isinstance(metrics, Mapping):
        return list(metrics)
    points = []
    for key, value in metrics.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"metric {key!r} must be a number, got {value!r}")
        point = production_pb2.ProductionPoint(key=str(key), value=float(value), segment=segment)
        if window_end is not None:
            point.window_end.CopyFrom(timestamp(window_end))
        points.append(point)
    return points


def to_metrics(metrics: MetricsArg, step: int | None = None, split: str = "") -> list[resources_pb2.Metric]:
    """`{"auc": 0.93}` or Metric messages -> Metric messages; `step`/`split` fill plain values."""
    if isinstance(metrics, Mapping):
        converted = []
        for key, value in metrics.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"metric {key!r} must be a number, got {value!r}")
            metric = resources_pb2.Metric(key=str(key), value=float(value), split=split)
            if step is not None:
                metric.step = step
            converted.append(metric)
        return converted
    return list(metrics)


def param_text(value: object) -> str:
    """Params are strings in the contract: text as is, anything else as JSON (`true`, `[1, 2]`)."""
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str)


def to_dataset(dataset: DatasetArg) -> resources_pb2.Dataset:
    """`"census@2026-01"`, `{"name": ..., "version": ..., "uri": ...}` or a Dataset."""
    if isinstance(dataset, resources_pb2.Dataset):
        return dataset
    if isinstance(dataset, str):
        name, _, version = dataset.partition("@")
        return resources_pb2.Dataset(name=name, version=version)
    return resources_pb2.Dataset(**dict(dataset))


def to_parent(parent: ParentArg) -> resources_pb2.ParentVersion:
    """`"base@3"` (derived from), `("base@3", "fine_tuned_from")` or a ParentVersion."""
    if isinstance(parent, resources_pb2.ParentVersion):
        return parent
    ref, relation = (parent, "derived_from") if isinstance(parent, str) else parent
    return resources_pb2.ParentVersion(
        version=names.version_name(ref),
        relation=enum_name(resources_pb2.ParentRelation, "PARENT_RELATION_", relation),
    )


class RegisterOptions(TypedDict, total=False):
    """What a registration says besides the model; `register_request` documents each."""

    path: str | os.PathLike[str] | None
    uri: str | None
    metrics: MetricsArg | None
    params: Mapping[str, object] | None
    tags: Mapping[str, str] | None
    description: str
    model_card: str
    datasets: Iterable[DatasetArg]
    parents: Iterable[ParentArg]
    semver: str
    change_kind: str | int | None
    seed: int | None
    data_versions: Mapping[str, str] | None
    run_id: str
    environment: bool | resources_pb2.Environment
    git: bool
    request_id: str | None
    keep_in_place: bool
    allow_unsafe: bool
    reference_statistics: Any


def register_request(
    model: str,
    *,
    path: str | os.PathLike[str] | None = None,
    uri: str | None = None,
    metrics: MetricsArg | None = None,
    params: Mapping[str, object] | None = None,
    tags: Mapping[str, str] | None = None,
    description: str = "",
    model_card: str = "",
    datasets: Iterable[DatasetArg] = (),
    parents: Iterable[ParentArg] = (),
    semver: str = "",
    change_kind: str | int | None = None,
    seed: int | None = None,
    data_versions: Mapping[str, str] | None = None,
    run_id: str = "",
    environment: bool | resources_pb2.Environment = True,
    git: bool = True,
    request_id: str | None = None,
    created_from: str = CREATED_FROM,
    entry_point: str | None = None,
    keep_in_place: bool = False,
    allow_unsafe: bool = False,
    reference_statistics: Any = None,
) -> registry_pb2.RegisterModelVersionRequest:
    """The RegisterModelVersion request a training script means, with its provenance filled in.

    `path` (a local file or folder the daemon hashes and keeps a copy of; with
    `keep_in_place` it only references it) or `uri` (metadata only) says where the artifact is.
    Content that runs code when loaded is refused unless `allow_unsafe` (maintainer role).
    The environment and the git state of the working directory are
    captured unless turned off, and so is the running script unless `entry_point` is
    given. Every dataset in `data_versions` is also recorded as a
    dataset the version was trained on, so it shows in the lineage graph.
    `reference_statistics` (see `studbook.client.stats`) describe the training data per
    feature: the reference production inputs are compared with.
    """
    # Here, not at the top: reading package metadata is for registering, and every other
    # user of the client (the terminal UI's first frame among them) would pay for it.
    from studbook.client import environment as capture

    if (path is None) == (uri is None):
        raise ValueError("give exactly one of path= (a local file or folder) or uri= (metadata only)")
    data_versions = {str(k): str(v) for k, v in (data_versions or {}).items()}
    commit, dirty = capture.git_state() if git else ("", False)
    training = resources_pb2.TrainingConfig(
        data_versions=data_versions,
        code_commit=commit,
        code_dirty=dirty,
        entry_point=capture.entry_point() if entry_point is None else entry_point,
    )
    if seed is not None:
        training.seed = seed
    listed = [to_dataset(d) for d in datasets]
    known = {d.name for d in listed}
    listed += [resources_pb2.Dataset(name=n, version=v) for n, v in data_versions.items() if n not in known]
    version = resources_pb2.ModelVersion(
        description=description,
        tags={str(k): str(v) for k, v in (tags or {}).items()},
        params={str(k): param_text(v) for k, v in (params or {}).items()},
        metrics=to_metrics(metrics or {}),
        storage_uri=uri or "",
        training=training,
        model_card=model_card,
        datasets=listed,
        parents=[to_parent(p) for p in parents],
        change_kind=enum_name(resources_pb2.ChangeKind, "CHANGE_KIND_", change_kind),
        created_by=actor(),
        created_from=created_from,
    )
    if run_id:
        version.run.CopyFrom(resources_pb2.Run(run_id=run_id, code_commit=commit, entry_point=training.entry_point))
    if isinstance(environment, resources_pb2.Environment):
        version.environment.CopyFrom(environment)
    elif environment:
        version.environment.CopyFrom(capture.capture_environment())
    return registry_pb2.RegisterModelVersionRequest(
        parent=names.model_name(model),
        # Absolute, because the daemon reads it from its own working directory.
        source_path=os.path.abspath(os.path.expanduser(os.fspath(path))) if path is not None else "",
        version=version,
        request_id=request_id or new_request_id(),
        semver=semver,
        keep_in_place=keep_in_place,
        allow_unsafe=allow_unsafe,
        reference_statistics=_statistics(reference_statistics) if reference_statistics is not None else [],
    )


# ---- ProductionService: input statistics and drift ---------------------------------------


def _statistics(given: Any) -> list[production_pb2.FeatureStatistics]:
    from studbook.client.stats import statistics

    return statistics(given)


def log_input_statistics(
    model: str, stage: str, features: Any, *, window_end: datetime | None = None, segment: str = "",
    request_id: str | None = None,
) -> Call[production_pb2.LogInputStatisticsResponse]:  # fmt: skip
    """One production window's input statistics (see `studbook.client.stats` for the shapes
    `features` takes), binned like the reference; the answer holds each feature's drift."""
    request = production_pb2.LogInputStatisticsRequest(
        model=names.model_name(model), stage=stage, segment=segment, features=_statistics(features),
        request_id=request_id or new_request_id(),
    )  # fmt: skip
    if window_end is not None:
        request.window_end.CopyFrom(timestamp(window_end))
    return Call("ProductionService", "LogInputStatistics", request, idempotent=True)


def set_reference_statistics(
    model: str, version: str | int, features: Any
) -> Call[production_pb2.SetReferenceStatisticsResponse]:
    """Set the reference statistics of a version registered without them (once)."""
    request = production_pb2.SetReferenceStatisticsRequest(
        version=names.version_name(model, version), features=_statistics(features)
    )
    return Call("ProductionService", "SetReferenceStatistics", request, idempotent=False)


def get_input_drift(
    model: str, stage: str, *, version: str | int = "", since: datetime | None = None,
    until: datetime | None = None, segment: str = "", last: int = 0,
) -> Call[production_pb2.InputDriftReport]:  # fmt: skip
    """A stage's input windows, newest first, with each feature's PSI and KS-style distance."""
    request = production_pb2.GetInputDriftRequest(
        model=names.model_name(model), stage=stage, version=str(version), segment=segment, last_windows=last,
    )  # fmt: skip
    if since is not None:
        request.since.CopyFrom(timestamp(since))
    if until is not None:
        request.until.CopyFrom(timestamp(until))
    return Call("ProductionService", "GetInputDrift", request, idempotent=True)
