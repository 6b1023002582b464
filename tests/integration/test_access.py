"""Who may do what, through a real daemon: roles, tokens, the role x RPC matrix, denials recorded."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator

import grpc
import pytest
import studbook.v1
from google.protobuf.message_factory import GetMessageClass
from grpc_reflection.v1alpha import reflection_pb2
from studbook.v1 import access_pb2, access_pb2_grpc, audit_pb2, audit_pb2_grpc, registry_pb2, stages_pb2
from support.rpc import error_info, register, stubs

ROLES = ("viewer", "contributor", "maintainer", "approver", "admin")

# The specification: every RPC and the least role that may call it.
LEAST_ROLE = {
    "ModelService/CreateModel": "contributor",
    "ModelService/GetModel": "viewer",
    "ModelService/ListModels": "viewer",
    "ModelService/UpdateModel": "contributor",
    "ModelService/ArchiveModel": "maintainer",
    "ModelService/RestoreModel": "maintainer",
    "ModelService/DeleteModel": "admin",
    "ModelService/RenameModel": "admin",
    "VersionService/RegisterModelVersion": "contributor",
    "VersionService/RegisterModelVersions": "contributor",
    "VersionService/GetModelVersion": "viewer",
    "VersionService/ListModelVersions": "viewer",
    "VersionService/UpdateModelVersion": "contributor",
    "VersionService/ArchiveModelVersion": "maintainer",
    "VersionService/RestoreModelVersion": "maintainer",
    "VersionService/LogMetrics": "contributor",
    "VersionService/ListMetrics": "viewer",
    "VersionService/DiffModelVersions": "viewer",
    "LineageService/GetLineage": "viewer",
    "StageService/PromoteModelVersion": "viewer",  # a dry run; real ones are checked per target below
    "StageService/RollbackStage": "maintainer",
    "StageService/DeleteAlias": "maintainer",
    "StageService/GetPromotion": "viewer",
    "StageService/ListPromotions": "viewer",
    "StageService/ApprovePromotion": "approver",
    "StageService/RejectPromotion": "approver",
    "StageService/CancelPromotion": "maintainer",
    "StageService/GetStageHistory": "viewer",
    "StageService/GetPolicyStatus": "viewer",
    "EventService/Watch": "viewer",
    "DropService/ListDrops": "viewer",
    "DropService/ListQuarantinedDrops": "viewer",
    "DropService/RetryDrop": "contributor",
    "DropService/GetWatchStatus": "viewer",
    "AuditService/VerifyAuditTrail": "viewer",
    "AuditService/ExportAuditTrail": "viewer",
    "AccessService/CreateToken": "admin",
    "AccessService/ListTokens": "admin",
    "AccessService/RevokeToken": "admin",
    "AccessService/GetCaller": "viewer",
    "ArtifactService/ReadArtifactFile": "viewer",
    "ArtifactService/GetUploadOffset": "contributor",
    "ArtifactService/UploadArtifactFile": "contributor",
    "MaintenanceService/VerifyArtifacts": "maintainer",
    "MaintenanceService/BackupRegistry": "admin",
    "MaintenanceService/GetCatalogStatus": "viewer",
    "RetentionService/PlanGarbageCollection": "maintainer",
    "RetentionService/CollectGarbage": "admin",
    "HookService/AddHook": "admin",
    "HookService/ListHooks": "admin",
    "HookService/RemoveHook": "admin",
    "HookService/TestHook": "admin",
    "HookService/ListDeliveries": "admin",
    "HookService/ReplayHook": "admin",
    "HookService/GetHookStatus": "viewer",
    "ProductionService/LogProductionMetrics": "contributor",
    "ProductionService/LogInputStatistics": "contributor",
    "ProductionService/SetReferenceStatistics": "contributor",
    "ProductionService/GetProductionRecord": "viewer",
    "ProductionService/GetInputDrift": "viewer",
    "ProductionService/ListMonitorStates": "viewer",
    "ProductionService/GetRollbackCandidate": "viewer",
}
DENIED = (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNAUTHENTICATED)


def bearer(secret: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {secret}"),)


def create_token(channel: grpc.Channel, name: str, role: str, **extra: int) -> str:
    reply = access_pb2_grpc.AccessServiceStub(channel).CreateToken(
        access_pb2.CreateTokenRequest(display_name=name, role=access_pb2.Role.Value(f"ROLE_{role.upper()}"), **extra)
    )
    return reply.secret


@pytest.fixture(scope="module")
def secrets(shared_daemon) -> dict[str, str]:  # type: ignore[no-untyped-def]
    with shared_daemon.channel() as channel:
        return {role: create_token(channel, f"matrix-{role}", role) for role in ROLES}


@pytest.fixture
def channel(shared_daemon) -> Iterator[grpc.Channel]:  # type: ignore[no-untyped-def]
    with shared_daemon.channel() as channel:
        yield channel


def every_method() -> list[tuple[str, object]]:
    """Every RPC of every service in the v1 API, found in the generated modules."""
    found = []
    for module in pkgutil.iter_modules(studbook.v1.__path__):
        if module.name.endswith("_pb2"):
            descriptor = importlib.import_module(f"studbook.v1.{module.name}").DESCRIPTOR
            for service in descriptor.services_by_name.values():
                found.extend((f"{service.name}/{method.name}", method) for method in service.methods)
    return found


def call(channel: grpc.Channel, method: object, secret: str) -> grpc.StatusCode:
    """Calls `method` with an empty request; the status it ends with (OK included)."""
    path = f"/{method.containing_service.full_name}/{method.name}"  # type: ignore[attr-defined]
    request = GetMessageClass(method.input_type)()  # type: ignore[attr-defined]
    response_class = GetMessageClass(method.output_type)  # type: ignore[attr-defined]
    kwargs = {"request_serializer": type(request).SerializeToString, "response_deserializer": response_class.FromString}
    try:
        if method.server_streaming:  # type: ignore[attr-defined]
            stream = channel.unary_stream(path, **kwargs)(request, metadata=bearer(secret), timeout=2)
            next(iter(stream), None)
            stream.cancel()
        else:
            channel.unary_unary(path, **kwargs)(request, metadata=bearer(secret), timeout=5)
    except grpc.RpcError as error:
        return error.code()
    return grpc.StatusCode.OK


def test_the_matrix_names_every_rpc() -> None:
    assert sorted(name for name, _ in every_method()) == sorted(LEAST_ROLE)


@pytest.mark.parametrize("role", ROLES)
def test_each_role_may_call_exactly_what_the_matrix_allows(channel: grpc.Channel, secrets: dict[str, str],
                                                          role: str) -> None:  # fmt: skip
    wrong = []
    for name, method in every_method():
        allowed = ROLES.index(role) >= ROLES.index(LEAST_ROLE[name])
        code = call(channel, method, secrets[role])
        if allowed == (code in DENIED) or (not allowed and code != grpc.StatusCode.PERMISSION_DENIED):
            wrong.append(f"{name}: {'allowed' if allowed else 'denied'} expected, got {code.name}")

    assert not wrong, "\n".join(wrong)


def test_a_refusal_names_the_role_needed(channel: grpc.Channel, secrets: dict[str, str]) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        stubs(channel).models.CreateModel(
            registry_pb2.CreateModelRequest(model_id="x"), metadata=bearer(secrets["viewer"])
        )

    info = error_info(caught.value)
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert (info.reason, info.metadata["required_role"], info.metadata["role"]) == (
        "ROLE_REQUIRED",
        "contributor",
        "viewer",
    )


def test_reflection_needs_a_viewer(channel: grpc.Channel, secrets: dict[str, str]) -> None:
    reflect = channel.stream_stream(
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
        response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
    )
    ask = [reflection_pb2.ServerReflectionRequest(list_services="")]

    listed = next(iter(reflect(iter(ask), metadata=bearer(secrets["viewer"]), timeout=5)))
    with pytest.raises(grpc.RpcError) as caught:
        next(iter(reflect(iter(ask), metadata=bearer("sbk_000000000000_" + "x" * 43), timeout=5)))

    assert listed.list_services_response.service
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


# -- the unix socket's owner, and tokens over it ------------------------------------------


def test_the_socket_owner_without_a_token_is_an_admin(channel: grpc.Channel) -> None:
    caller = access_pb2_grpc.AccessServiceStub(channel).GetCaller(
        access_pb2.GetCallerRequest(), metadata=(("x-studbook-actor", "ana"),)
    )

    assert (caller.actor, caller.role, caller.transport, caller.token) == ("ana", access_pb2.ROLE_ADMIN, "unix", "")


def test_a_token_over_the_socket_acts_as_its_holder_whatever_actor_is_claimed(channel: grpc.Channel,
                                                                             secrets: dict[str, str]) -> None:  # fmt: skip
    caller = access_pb2_grpc.AccessServiceStub(channel).GetCaller(
        access_pb2.GetCallerRequest(), metadata=(*bearer(secrets["maintainer"]), ("x-studbook-actor", "root"))
    )

    assert (caller.actor, caller.role) == ("matrix-maintainer", access_pb2.ROLE_MAINTAINER)
    assert caller.token.startswith("tokens/")


@pytest.mark.parametrize(
    "header, reason",
    [
        ("Bearer sbk_000000000000_" + "a" * 43, "TOKEN_UNKNOWN"),
        ("Bearer nonsense", "TOKEN_MALFORMED"),
        ("Basic dXNlcjpwYXNz", "TOKEN_MALFORMED"),
    ],
)
def test_a_bad_token_is_unauthenticated(channel: grpc.Channel, header: str, reason: str) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        stubs(channel).models.ListModels(registry_pb2.ListModelsRequest(), metadata=(("authorization", header),))

    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert error_info(caught.value).reason == reason


def test_a_forged_secret_for_a_real_token_id_is_unknown(channel: grpc.Channel, secrets: dict[str, str]) -> None:
    token_id = secrets["admin"].split("_")[1]
    forged = f"sbk_{token_id}_{'b' * 43}"

    with pytest.raises(grpc.RpcError) as caught:
        stubs(channel).models.ListModels(registry_pb2.ListModelsRequest(), metadata=bearer(forged))

    assert error_info(caught.value).reason == "TOKEN_UNKNOWN"


# -- tokens ---------------------------------------------------------------------------------


def test_a_token_revoked_mid_session_stops_working_at_the_next_call(channel: grpc.Channel) -> None:
    secret = create_token(channel, "short-lived", "contributor")
    access = access_pb2_grpc.AccessServiceStub(channel)
    access.GetCaller(access_pb2.GetCallerRequest(), metadata=bearer(secret))

    access.RevokeToken(access_pb2.RevokeTokenRequest(name="short-lived"))
    with pytest.raises(grpc.RpcError) as caught:
        access.GetCaller(access_pb2.GetCallerRequest(), metadata=bearer(secret))

    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert error_info(caught.value).reason == "TOKEN_REVOKED"
    last = [r.event for r in audit_records(channel) if r.event.type == "access.denied"][-1]
    assert (last.actor, last.role, last.denial.reason) == ("short-lived", access_pb2.ROLE_UNSPECIFIED, "TOKEN_REVOKED")


def test_tokens_are_listed_without_secrets_and_names_are_never_reused(channel: grpc.Channel) -> None:
    access = access_pb2_grpc.AccessServiceStub(channel)
    secret = create_token(channel, "ci-bot", "contributor", ttl_seconds=3600)
    access.RevokeToken(access_pb2.RevokeTokenRequest(name="ci-bot"))

    listed = {t.display_name: t for t in access.ListTokens(access_pb2.ListTokensRequest(show_revoked=True)).tokens}
    active = {t.display_name for t in access.ListTokens(access_pb2.ListTokensRequest()).tokens}
    with pytest.raises(grpc.RpcError) as caught:
        create_token(channel, "ci-bot", "viewer")

    token = listed["ci-bot"]
    assert secret.split("_", 2)[2] not in str(token)  # the secret part may itself hold "_"
    assert token.role == access_pb2.ROLE_CONTRIBUTOR and token.HasField("revoke_time") and token.HasField("expire_time")
    assert "ci-bot" not in active
    assert error_info(caught.value).reason == "TOKEN_NAME_TAKEN"


@pytest.mark.parametrize(
    "name, role, reason",
    [
        ("Bad Name", "viewer", "INVALID_TOKEN_NAME"),
        ("fine", "unspecified", "INVALID_ROLE"),
        ("", "viewer", "INVALID_TOKEN_NAME"),
    ],
)
def test_a_token_request_is_validated(channel: grpc.Channel, name: str, role: str, reason: str) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        create_token(channel, name, role)

    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_info(caught.value).reason == reason


# -- stage rules and the audit trail -------------------------------------------------------


def promote(channel: grpc.Channel, name: str, target: str, secret: str, **extra: bool) -> stages_pb2.Promotion:
    return stubs(channel).stages.PromoteModelVersion(
        stages_pb2.PromoteModelVersionRequest(name=name, target=target, **extra), metadata=bearer(secret)
    )


def test_production_needs_an_approver_while_staging_needs_a_maintainer(channel: grpc.Channel, secrets: dict[str, str],
                                                                      model_id: str) -> None:  # fmt: skip
    version = register(stubs(channel), model_id)

    staged = promote(channel, version.name, "staging", secrets["maintainer"])
    dry_run = promote(channel, version.name, "production", secrets["viewer"], validate_only=True)
    with pytest.raises(grpc.RpcError) as caught:
        promote(channel, version.name, "production", secrets["maintainer"])
    with pytest.raises(grpc.RpcError) as staging_by_contributor:
        promote(channel, version.name, "staging", secrets["contributor"])
    produced = promote(channel, version.name, "production", secrets["approver"])

    assert staged.state == stages_pb2.PROMOTION_STATE_APPLIED
    assert dry_run.state == stages_pb2.PROMOTION_STATE_VALIDATED
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert error_info(caught.value).metadata["required_role"] == "approver"
    assert staging_by_contributor.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert produced.state == stages_pb2.PROMOTION_STATE_APPLIED
    refused = [r.event for r in audit_records(channel) if r.event.type == "access.denied"
               and r.event.subject == "studbook.v1.StageService/PromoteModelVersion"]  # fmt: skip
    assert [e.actor for e in refused[-2:]] == ["matrix-maintainer", "matrix-contributor"]


def test_rolling_back_production_needs_an_approver(
    channel: grpc.Channel, secrets: dict[str, str], model_id: str
) -> None:
    first, second = register(stubs(channel), model_id), register(stubs(channel), model_id)
    promote(channel, first.name, "production", secrets["approver"])
    promote(channel, second.name, "production", secrets["approver"])
    rollback = stages_pb2.RollbackStageRequest(model=f"models/{model_id}", stage="production")

    with pytest.raises(grpc.RpcError) as caught:
        stubs(channel).stages.RollbackStage(rollback, metadata=bearer(secrets["maintainer"]))
    done = stubs(channel).stages.RollbackStage(rollback, metadata=bearer(secrets["approver"]))

    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert done.version == first.name


def audit_records(channel: grpc.Channel) -> list[audit_pb2.AuditRecord]:
    return list(audit_pb2_grpc.AuditServiceStub(channel).ExportAuditTrail(audit_pb2.ExportAuditTrailRequest()))


def test_every_change_records_the_actor_and_role_and_its_before(channel: grpc.Channel, secrets: dict[str, str],
                                                               model_id: str) -> None:  # fmt: skip
    models = stubs(channel).models
    models.CreateModel(registry_pb2.CreateModelRequest(model_id=model_id), metadata=bearer(secrets["contributor"]))
    models.UpdateModel(
        registry_pb2.UpdateModelRequest(model={"name": f"models/{model_id}", "description": "new"},
                                        update_mask={"paths": ["description"]}),
        metadata=bearer(secrets["maintainer"]),
    )  # fmt: skip

    records = [r for r in audit_records(channel) if r.event.model == model_id]

    created, updated = records
    assert (created.event.actor, created.event.role) == ("matrix-contributor", access_pb2.ROLE_CONTRIBUTOR)
    assert (updated.event.actor, updated.event.role) == ("matrix-maintainer", access_pb2.ROLE_MAINTAINER)
    assert not created.HasField("before")
    assert updated.before.revision == created.event.revision
    assert (updated.before.model_snapshot.description, updated.event.model_snapshot.description) == ("", "new")


def test_a_refused_call_is_recorded_in_the_audit_trail(channel: grpc.Channel, secrets: dict[str, str]) -> None:
    with pytest.raises(grpc.RpcError):
        access_pb2_grpc.AccessServiceStub(channel).ListTokens(access_pb2.ListTokensRequest(),
                                                              metadata=bearer(secrets["approver"]))  # fmt: skip

    denials = [r.event for r in audit_records(channel) if r.event.type == "access.denied"]

    last = denials[-1]
    assert (last.actor, last.role, last.subject) == ("matrix-approver", access_pb2.ROLE_APPROVER,
                                                     "studbook.v1.AccessService/ListTokens")  # fmt: skip
    assert (last.denial.code, last.denial.reason) == ("PERMISSION_DENIED", "ROLE_REQUIRED")
    verdict = audit_pb2_grpc.AuditServiceStub(channel).VerifyAuditTrail(audit_pb2.VerifyAuditTrailRequest())
    assert verdict.intact


def test_a_maintainer_asks_for_production_and_approvers_decide(daemon_factory, short_dir, model_id: str) -> None:  # type: ignore[no-untyped-def]
    policy = short_dir / "policy.toml"
    policy.write_text('[[models]]\npattern = "*"\n[models.gates.production]\napprovals = 1\n')
    daemon = daemon_factory("--policy", str(policy))
    with daemon.channel() as channel:
        tokens = {role: create_token(channel, role, role) for role in ("maintainer", "approver")}
        version = register(stubs(channel), model_id)
        pending = promote(channel, version.name, "production", tokens["maintainer"])
        decide = stages_pb2.ApprovePromotionRequest(name=pending.name)

        with pytest.raises(grpc.RpcError) as by_maintainer:
            stubs(channel).stages.ApprovePromotion(decide, metadata=bearer(tokens["maintainer"]))
        applied = stubs(channel).stages.ApprovePromotion(decide, metadata=bearer(tokens["approver"]))
        changed = [r.event for r in audit_records(channel) if r.event.type == "stage.changed"][-1]

    assert pending.state == stages_pb2.PROMOTION_STATE_PENDING_APPROVAL
    assert by_maintainer.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert applied.state == stages_pb2.PROMOTION_STATE_APPLIED
    assert (changed.actor, changed.role) == ("approver", access_pb2.ROLE_APPROVER)
    assert changed.promotion.actor == "maintainer"  # who asked stays on the promotion


def test_the_policy_names_the_stages_that_need_an_approver(daemon_factory, short_dir, model_id: str) -> None:  # type: ignore[no-untyped-def]
    policy = short_dir / "policy.toml"
    policy.write_text('approver_stages = ["prod"]\n')
    daemon = daemon_factory("--policy", str(policy))
    with daemon.channel() as channel:
        api = stubs(channel)
        stages = ["dev", "prod", "production"]
        api.models.CreateModel(registry_pb2.CreateModelRequest(model_id=model_id, model={"stages": stages}))
        maintainer = create_token(channel, "maintainer", "maintainer")
        first, second = register(api, model_id), register(api, model_id)
        for version in (first, second):  # the socket's owner, an admin, fills prod
            api.stages.PromoteModelVersion(stages_pb2.PromoteModelVersionRequest(name=version.name, target="prod"))

        with pytest.raises(grpc.RpcError) as into_prod:
            promote(channel, first.name, "prod", maintainer)
        with pytest.raises(grpc.RpcError) as rolling_back_prod:
            api.stages.RollbackStage(stages_pb2.RollbackStageRequest(model=f"models/{model_id}", stage="prod"),
                                     metadata=bearer(maintainer))  # fmt: skip
        produced = promote(channel, first.name, "production", maintainer)

    info = error_info(into_prod.value)
    assert (info.reason, info.metadata["required_role"], info.metadata["target"]) == ("ROLE_REQUIRED", "approver",
                                                                                      "prod")  # fmt: skip
    assert error_info(rolling_back_prod.value).metadata["required_role"] == "approver"
    assert produced.state == stages_pb2.PROMOTION_STATE_APPLIED
    assert produced.target == "production"
