"""Who may do what: roles, callers, the role each RPC needs, and bearer tokens. No I/O.

Roles are ordered; each may do everything the ones below it may. The table below is the
whole access policy of the API: a method missing from it is refused for everyone, so a new
RPC cannot ship open by accident (a test walks every service descriptor against it).
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import datetime

from studbook.daemon.domain.errors import InvalidArgument, PermissionDenied, Unauthenticated


class Role(enum.IntEnum):
    # A caller that has not proven who it is: may call nothing but the open methods.
    NONE = 0
    VIEWER = 1
    CONTRIBUTOR = 2
    MAINTAINER = 3
    APPROVER = 4
    ADMIN = 5

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Role:
        """A grantable role by name (viewer ... admin)."""
        role = cls.__members__.get(text.strip().upper())
        if role is None or role is cls.NONE:
            raise InvalidArgument(
                f"unknown role {text[:40]!r}; roles: {', '.join(r.label for r in GRANTABLE)}",
                reason="INVALID_ROLE", field="role",
            )  # fmt: skip
        return role


GRANTABLE = tuple(r for r in Role if r is not Role.NONE)
UNIX, TCP = "unix", "tcp"


@dataclass(frozen=True)
class Caller:
    """Who acts, with which role, as the daemon established it (never as the client claims)."""

    actor: str
    role: Role
    transport: str = UNIX
    token_id: str = ""


# What the drop-in watcher registers as.
DROP_IN = Caller("drop-in", Role.CONTRIBUTOR)
# The actor of what the daemon decides by itself about hooks (pausing one that keeps failing).
HOOKS = Caller("hooks", Role.ADMIN)
# The actor of a monitor's drift events and of the rollback `auto_rollback = true` performs: the
# policy that sets auto_rollback is the approver's say-so, so it rolls back as an approver would.
MONITORS = Caller("monitors", Role.APPROVER)


def anonymous(transport: str) -> Caller:
    return Caller("anonymous", Role.NONE, transport)


_V, _C, _M, _AP, _AD = Role.VIEWER, Role.CONTRIBUTOR, Role.MAINTAINER, Role.APPROVER, Role.ADMIN

# "Service/Method" -> the least role that may call it. Stage-dependent rules (production
# needs an approver) are checked again by the stage use cases, which know the target.
METHOD_ROLES: dict[str, Role] = {
    "studbook.v1.ModelService/CreateModel": _C,
    "studbook.v1.ModelService/GetModel": _V,
    "studbook.v1.ModelService/ListModels": _V,
    "studbook.v1.ModelService/UpdateModel": _C,
    "studbook.v1.ModelService/ArchiveModel": _M,
    "studbook.v1.ModelService/RestoreModel": _M,
    "studbook.v1.ModelService/DeleteModel": _AD,
    # The policy entry (gates, retention) that applies to a model is chosen by its name: a rename
    # can move a model out from under its gates, a change as weighty as editing the policy.
    "studbook.v1.ModelService/RenameModel": _AD,
    "studbook.v1.VersionService/RegisterModelVersion": _C,
    "studbook.v1.VersionService/RegisterModelVersions": _C,
    "studbook.v1.VersionService/GetModelVersion": _V,
    "studbook.v1.VersionService/ListModelVersions": _V,
    "studbook.v1.VersionService/UpdateModelVersion": _C,
    "studbook.v1.VersionService/ArchiveModelVersion": _M,
    "studbook.v1.VersionService/RestoreModelVersion": _M,
    "studbook.v1.VersionService/LogMetrics": _C,
    "studbook.v1.VersionService/ListMetrics": _V,
    "studbook.v1.VersionService/DiffModelVersions": _V,
    "studbook.v1.LineageService/GetLineage": _V,
    # A dry run (validate_only) changes nothing, so a viewer may ask for one; see promote_role.
    "studbook.v1.StageService/PromoteModelVersion": _V,
    "studbook.v1.StageService/RollbackStage": _M,
    "studbook.v1.StageService/DeleteAlias": _M,
    "studbook.v1.StageService/GetPromotion": _V,
    "studbook.v1.StageService/ListPromotions": _V,
    "studbook.v1.StageService/ApprovePromotion": _AP,
    "studbook.v1.StageService/RejectPromotion": _AP,
    "studbook.v1.StageService/CancelPromotion": _M,
    "studbook.v1.StageService/GetStageHistory": _V,
    "studbook.v1.StageService/GetPolicyStatus": _V,
    "studbook.v1.EventService/Watch": _V,
    "studbook.v1.DropService/ListDrops": _V,
    "studbook.v1.DropService/ListQuarantinedDrops": _V,
    "studbook.v1.DropService/RetryDrop": _C,
    "studbook.v1.DropService/GetWatchStatus": _V,
    "studbook.v1.AuditService/VerifyAuditTrail": _V,
    "studbook.v1.AuditService/ExportAuditTrail": _V,
    "studbook.v1.AccessService/CreateToken": _AD,
    "studbook.v1.AccessService/ListTokens": _AD,
    "studbook.v1.AccessService/RevokeToken": _AD,
    "studbook.v1.AccessService/GetCaller": _V,
    "studbook.v1.ArtifactService/ReadArtifactFile": _V,
    "studbook.v1.ArtifactService/GetUploadOffset": _C,
    "studbook.v1.ArtifactService/UploadArtifactFile": _C,
    # Reads every stored byte and changes versions' status: an operator's call, not a reader's.
    "studbook.v1.MaintenanceService/VerifyArtifacts": _M,
    # A copy of everything, token hashes included, written where the caller says.
    "studbook.v1.MaintenanceService/BackupRegistry": _AD,
    # What `studbook status` shows; the catalog's location only to maintainers and above.
    "studbook.v1.MaintenanceService/GetCatalogStatus": _V,
    # A plan changes nothing but lists the whole store: an operator's read, not a viewer's.
    "studbook.v1.RetentionService/PlanGarbageCollection": _M,
    # Purges versions and deletes blobs for good, like deleting a model.
    "studbook.v1.RetentionService/CollectGarbage": _AD,
    # The daemon POSTs wherever a hook points, with the events it carries: an admin's call.
    "studbook.v1.HookService/AddHook": _AD,
    "studbook.v1.HookService/ListHooks": _AD,
    "studbook.v1.HookService/RemoveHook": _AD,
    "studbook.v1.HookService/TestHook": _AD,
    "studbook.v1.HookService/ListDeliveries": _AD,
    "studbook.v1.HookService/ReplayHook": _AD,
    # What `studbook status` shows of hooks: how many, which paused (never a URL).
    "studbook.v1.HookService/GetHookStatus": _V,
    # Production feedback: a serving job logs what it measured, like a training job logs metrics.
    "studbook.v1.ProductionService/LogProductionMetrics": _C,
    "studbook.v1.ProductionService/LogInputStatistics": _C,
    "studbook.v1.ProductionService/SetReferenceStatistics": _C,
    "studbook.v1.ProductionService/GetProductionRecord": _V,
    "studbook.v1.ProductionService/GetInputDrift": _V,
    "studbook.v1.ProductionService/ListMonitorStates": _V,
    "studbook.v1.ProductionService/GetRollbackCandidate": _V,
    "grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo": _V,
}
# Liveness probes answer without credentials: they reveal nothing but "up".
OPEN_METHODS = frozenset({"grpc.health.v1.Health/Check", "grpc.health.v1.Health/Watch"})


def method_key(full_method: str) -> str:
    """`/pkg.Service/Method` as gRPC names it -> the table's `pkg.Service/Method`."""
    return full_method.lstrip("/")


def is_open(method: str) -> bool:
    """Whether `method` answers without credentials."""
    return method_key(method) in OPEN_METHODS


def check_method(caller: Caller, method: str) -> None:
    """Raises PermissionDenied unless `caller`'s role may call `method` at all."""
    key = method_key(method)
    role = METHOD_ROLES.get(key)
    if role is None:
        raise PermissionDenied(f"{key} is not in the access table, so nobody may call it",
                               reason="METHOD_NOT_ALLOWED", method=key)  # fmt: skip
    authorize(caller, role, key.rsplit("/", 1)[-1], method=key)


def authorize(caller: Caller, role: Role, action: str, **facts: object) -> None:
    """Raises PermissionDenied naming the role `action` needs when `caller` lacks it."""
    if caller.role >= role:
        return
    raise PermissionDenied(
        f"{action} needs the {role.label} role; {caller.actor!r} is a {caller.role.label}",
        reason="ROLE_REQUIRED", required_role=role.label, role=caller.role.label, actor=caller.actor, **facts,
    )  # fmt: skip


def promote_role(target: str, *, validate_only: bool, approvals: int, approver_stages: AbstractSet[str]) -> Role:
    """The least role that may ask to promote into `target`.

    A dry run changes nothing. A promotion into one of `approver_stages` (the policy's) that
    waits for approvers may be asked for by a maintainer; one that would apply at once needs
    an approver.
    """
    if validate_only:
        return Role.VIEWER
    if target in approver_stages and approvals == 0:
        return Role.APPROVER
    return Role.MAINTAINER


def rollback_role(stage: str, approver_stages: AbstractSet[str]) -> Role:
    """The least role that may roll back `stage`: a rollback never waits for approvers."""
    return Role.APPROVER if stage in approver_stages else Role.MAINTAINER


# -- tokens -------------------------------------------------------------------------------

TOKEN_PREFIX = "sbk_"
_TOKEN = re.compile(r"sbk_([0-9a-f]{12})_([A-Za-z0-9_-]{20,100})")
_DISPLAY_NAME = re.compile(r"[a-z0-9][a-z0-9._@-]{0,63}")


@dataclass(frozen=True)
class Denial:
    """A refused call, as the audit trail records it."""

    method: str
    code: str
    reason: str
    peer: str
    suppressed: int = 0


@dataclass(frozen=True)
class Token:
    id: str
    display_name: str
    role: Role
    secret_hash: str
    create_time: datetime
    creator: str
    expire_time: datetime | None = None
    revoke_time: datetime | None = None
    revoker: str = ""

    @property
    def name(self) -> str:
        return f"tokens/{self.id}"


def validate_display_name(name: str) -> str:
    if not _DISPLAY_NAME.fullmatch(name):
        raise InvalidArgument(
            f"token name {name[:80]!r} must be 1-64 of lowercase letters, digits, '.', '_', '-', '@', "
            "starting with a letter or digit",
            reason="INVALID_TOKEN_NAME", field="display_name",
        )  # fmt: skip
    return name


def hash_secret(secret: str) -> str:
    """Tokens carry 256 random bits, so a plain sha256 is as good as a slow hash here."""
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_bearer(value: str) -> tuple[str, str]:
    """`Bearer sbk_<id>_<secret>` -> (id, the whole token). Raises Unauthenticated."""
    scheme, _, token = value.strip().partition(" ")
    match = _TOKEN.fullmatch(token.strip()) if scheme.lower() == "bearer" else None
    if match is None:
        raise Unauthenticated("the authorization header must be `Bearer sbk_<id>_<secret>`", reason="TOKEN_MALFORMED")
    return match.group(1), token.strip()


def check_token(token: Token | None, presented: str, now: datetime, transport: str) -> Caller:
    """The caller a presented token stands for, or Unauthenticated saying why not."""
    if token is None or not hmac.compare_digest(token.secret_hash, hash_secret(presented)):
        raise Unauthenticated("the token is not known to this daemon", reason="TOKEN_UNKNOWN")
    if token.revoke_time is not None:
        raise Unauthenticated(f"token {token.display_name!r} was revoked", reason="TOKEN_REVOKED",
                              token=token.display_name)  # fmt: skip
    if token.expire_time is not None and now >= token.expire_time:
        raise Unauthenticated(f"token {token.display_name!r} expired at {token.expire_time.isoformat()}",
                              reason="TOKEN_EXPIRED", token=token.display_name)  # fmt: skip
    return Caller(token.display_name, token.role, transport, token.id)
