"""MLflow's registry endpoints over studbook's use cases: read the parameters, call the use case
the gRPC servicer would call, answer in MLflow's JSON. No rule of the registry lives here."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from studbook.daemon.app.path_uploads import PathUploads
from studbook.daemon.app.registry import Registry
from studbook.daemon.app.stages import PromotionRequest, promotion_name
from studbook.daemon.app.versions import Registration
from studbook.daemon.domain.access import Caller, check_method
from studbook.daemon.domain.errors import Conflict, NotFound
from studbook.daemon.domain.filter import Comparison, Not, Pattern, format_filter
from studbook.daemon.domain.model import Model, ModelVersion, Promotion, PromotionState, Run, VersionStatus
from studbook.daemon.domain.names import model_name, version_name
from studbook.daemon.mlflow import shapes
from studbook.daemon.mlflow.errors import MlflowError, invalid
from studbook.daemon.mlflow.paging import search_page
from studbook.daemon.mlflow.params import Params
from studbook.daemon.mlflow.search import Refinement, to_order_by, translate
from studbook.daemon.mlflow.sources import reachable_files
from studbook.daemon.mlflow.stages import ARCHIVED, HELD, NONE, STAGES, canonical, mlflow_stage, studbook_stage

JSON = dict[str, Any]
# MLflow's page sizes: its defaults, and the most one search returns (studbook pages at 1000).
MODELS_PAGE_DEFAULT, MODELS_PAGE_MAX = 100, 1000
VERSIONS_PAGE_DEFAULT, VERSIONS_PAGE_MAX = 10_000, 200_000
# Tag edits are read-modify-write under the model's or version's etag; a concurrent edit retries.
TAG_RETRIES = 5
# Versions read one by one, newest first, before MLflow's "latest in None" is searched for.
NEWEST_PROBES = 4
# The status reason of a version deleted through this API, followed by " by ACTOR". studbook
# archives such a version (nothing registered is lost, and the audit trail records who), and this
# API no longer shows it, as MLflow shows no deleted version.
DELETED = "deleted through the MLflow API"
# studbook's filter for "not deleted through this API".
NOT_DELETED = format_filter(Not(Comparison("status_reason", "=", Pattern((DELETED, "")))))

SERVICE = "studbook.v1."


@dataclass(frozen=True)
class Call:
    """One admitted request: who asks, and what they sent."""

    caller: Caller
    params: Params
    # Files uploaded by path through the artifact proxy, which a new version may be made of.
    uploads: PathUploads


Handler = Callable[[Registry, Call], Awaitable[JSON]]


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    handler: Handler
    # The gRPC method whose role the call needs (daemon/domain/access.py's one table).
    access: str


# -- registered models -------------------------------------------------------------------


async def _model(registry: Registry, name: str) -> Model:
    try:
        return await registry.models.get(name)
    except NotFound:
        raise MlflowError("RESOURCE_DOES_NOT_EXIST", f"Registered Model with name={name} not found",
                          reason="MODEL_NOT_FOUND", model=name) from None  # fmt: skip


async def create_registered_model(registry: Registry, call: Call) -> JSON:
    p = call.params
    model = await registry.models.create(p.text("name", required=True), caller=call.caller,
                                         description=p.text("description"), tags=p.tags())  # fmt: skip
    return {"registered_model": shapes.registered_model(model)}


async def get_registered_model(registry: Registry, call: Call) -> JSON:
    model = await _model(registry, call.params.text("name", required=True))
    return {"registered_model": shapes.registered_model(model, await latest_versions(registry, model, []))}


async def search_registered_models(registry: Registry, call: Call) -> JSON:
    p = call.params
    size = _page_size(p, MODELS_PAGE_DEFAULT, MODELS_PAGE_MAX)
    translation = translate(p.text("filter"), "registered_models")
    order_by = to_order_by(p.strings("order_by"), "registered_models")

    async def fetch(page_size: int, token: str) -> tuple[list[Model], str]:
        page = await registry.models.list_models(page_size=page_size, page_token=token, filter_text=translation.filter,
                                                 order_by=order_by, show_archived=True)  # fmt: skip
        return page.models, page.next_page_token

    models, token = await search_page(fetch, translation.refinements, _model_value, size, p.text("page_token"))
    found = [shapes.registered_model(m, await latest_versions(registry, m, [])) for m in models]
    return _page({"registered_models": found}, token)


def _model_value(model: Model, refinement: Refinement) -> str | None:
    """The model's value of the attribute an MLflow filter names (None: no such tag)."""
    return model.tags.get(refinement.key) if refinement.attribute == "tags" else model.name


async def update_registered_model(registry: Registry, call: Call) -> JSON:
    p = call.params
    name = p.text("name", required=True)
    await _model(registry, name)
    changes = Model(name=name, description=p.text("description"))
    model = await registry.models.update(name, changes, ["description"], "", call.caller)
    return {"registered_model": shapes.registered_model(model)}


async def rename_registered_model(registry: Registry, call: Call) -> JSON:
    p = call.params
    name = p.text("name", required=True)
    new_name = p.text("new_name", required=True)
    await _model(registry, name)
    model = await registry.models.rename(name, new_name, "", "", call.caller)
    return {"registered_model": shapes.registered_model(model, await latest_versions(registry, model, []))}


async def delete_registered_model(registry: Registry, call: Call) -> JSON:
    name = call.params.text("name", required=True)
    await _model(registry, name)
    # MLflow deletes a model with its versions; studbook's force delete does (files are kept).
    await registry.models.delete(name, True, "", call.caller)
    return {}


async def set_registered_model_tag(registry: Registry, call: Call) -> JSON:
    p = call.params
    name, key, value = p.text("name", required=True), p.text("key", required=True), p.text("value")
    await _edit_model_tags(registry, call.caller, name, lambda tags: tags.__setitem__(key, value))
    return {}


async def delete_registered_model_tag(registry: Registry, call: Call) -> JSON:
    p = call.params
    name, key = p.text("name", required=True), p.text("key", required=True)
    await _edit_model_tags(registry, call.caller, name, lambda tags: tags.pop(key, None))
    return {}


async def _edit_model_tags(
    registry: Registry, caller: Caller, name: str, edit: Callable[[dict[str, str]], object]
) -> None:
    for attempt in range(TAG_RETRIES):
        model = await _model(registry, name)
        tags = dict(model.tags)
        edit(tags)
        if tags == model.tags:
            return
        try:
            await registry.models.update(name, Model(name=name, tags=tags), ["tags"], str(model.revision), caller)
            return
        except Conflict:
            if attempt == TAG_RETRIES - 1:
                raise


async def get_latest_versions(registry: Registry, call: Call) -> JSON:
    p = call.params
    model = await _model(registry, p.text("name", required=True))
    stages = [canonical(s) for s in p.strings("stages")]
    found = [shapes.model_version(v, model) for v in await latest_versions(registry, model, stages)]
    return _page({"model_versions": found}, "")


async def latest_versions(registry: Registry, model: Model, stages: list[str]) -> list[ModelVersion]:
    """The newest version in each of `stages` (all four when empty), as MLflow lists them."""
    found: list[ModelVersion] = []
    held = {label: model.stage_holders.get(studbook_stage(model, label)) for label in HELD if _has(model, label)}
    for stage in stages or STAGES:
        if stage in HELD:
            number = held.get(stage)
            if number is not None:
                found.append(await registry.core.read_version(model.name, number))
            continue
        if stage == NONE:
            newest = await _newest_unheld(registry, model, {n for n in held.values() if n is not None})
        else:
            newest = await _newest(registry, model, f'status = "archived" AND {NOT_DELETED}', show_archived=True)
        if newest is not None:
            found.append(newest)
    return found


def _has(model: Model, label: str) -> bool:
    return any(s.lower() == HELD[label] for s in model.stages)


async def _newest_unheld(registry: Registry, model: Model, held: set[int]) -> ModelVersion | None:
    """The newest version neither archived nor in Staging or Production: nearly always among the
    last few, read as points (mostly from the read cache) before any search is paid for."""
    for number in range(model.latest_version, max(model.latest_version - NEWEST_PROBES, 0), -1):
        if number in held:
            continue
        try:
            version = await registry.core.read_version(model.name, number)
        except NotFound:  # purged by retention
            continue
        if version.status != VersionStatus.ARCHIVED:
            return version
    others = " AND ".join(f"number != {n}" for n in sorted(held))
    return await _newest(registry, model, others, show_archived=False)


async def _newest(registry: Registry, model: Model, filter_text: str, *, show_archived: bool) -> ModelVersion | None:
    page = await registry.versions.list_versions(
        model_name(model.name), page_size=1, page_token="", filter_text=filter_text, order_by="number desc",
        show_archived=show_archived, summary_only=False,
    )  # fmt: skip
    return page.versions[0] if page.versions else None


async def set_registered_model_alias(registry: Registry, call: Call) -> JSON:
    p = call.params
    name, alias, number = p.text("name", required=True), p.text("alias", required=True), p.version()
    model = await _model(registry, name)
    _check_alias_name(model, alias, number)
    if model.aliases.get(alias) == number:
        return {}  # MLflow sets an alias idempotently
    promotion = await registry.stages.promote(
        PromotionRequest(version=version_name(name, number), target=alias, caller=call.caller)
    )
    _applied(promotion)
    return {}


def _check_alias_name(model: Model, alias: str, number: int) -> None:
    """Refuses, in MLflow's terms, an alias studbook cannot hold: one named like a stage of the
    model (in any case) or not in lower case. studbook's stages and aliases share one set of
    names, so that `NAME@LABEL` (`models:/NAME@production`) always means one version; an alias
    `production` beside the stage would make it mean two."""
    stage = next((s for s in model.stages if s.lower() == alias.lower()), None)
    if stage is not None:
        raise invalid(
            f"{alias!r} is a stage of model {model.name!r} in studbook, where a model's stages and aliases share "
            f"one set of names (so that models:/{model.name}@{stage} always means one version); move version "
            f"{number} into the stage with transition-stage, or choose another alias name",
            reason="ALIAS_IS_STAGE", model=model.name, alias=alias, stage=stage,
        )  # fmt: skip
    if alias != alias.lower():
        raise invalid(
            f"studbook's alias names are lower case (a-z, 0-9, '.', '_', '-', starting with a letter), so that no "
            f"two aliases differ by case alone; use {alias.lower()!r} instead of {alias!r}",
            reason="INVALID_NAME", model=model.name, alias=alias,
        )  # fmt: skip


async def get_model_version_by_alias(registry: Registry, call: Call) -> JSON:
    p = call.params
    name, alias = p.text("name", required=True), p.text("alias", required=True)
    model = await _model(registry, name)
    number = model.aliases.get(alias)
    if number is None:
        raise MlflowError("RESOURCE_DOES_NOT_EXIST", f"Registered model alias {alias} not found.",
                          reason="ALIAS_NOT_FOUND", model=name, alias=alias)  # fmt: skip
    version = await registry.core.read_version(name, number)
    return {"model_version": shapes.model_version(version, model)}


async def delete_registered_model_alias(registry: Registry, call: Call) -> JSON:
    p = call.params
    name, alias = p.text("name", required=True), p.text("alias", required=True)
    await _model(registry, name)
    await registry.stages.delete_alias(model_name(name), alias, "", call.caller)
    return {}


# -- model versions ----------------------------------------------------------------------


async def _version(registry: Registry, name: str, number: int) -> ModelVersion:
    """The version, as MLflow would have it: one deleted through this API is not found."""
    try:
        version = await registry.versions.get(version_name(name, number))
    except NotFound:
        version = None
    if version is None or deleted(version):
        raise MlflowError("RESOURCE_DOES_NOT_EXIST", f"Model Version (name={name}, version={number}) not found",
                          reason="VERSION_NOT_FOUND", model=name, version=number)  # fmt: skip
    return version


def deleted(version: ModelVersion) -> bool:
    """Archived by a delete through this API (not by a plain archive or by retention)."""
    return version.status == VersionStatus.ARCHIVED and version.status_reason.startswith(DELETED)


def _shown(filter_text: str) -> str:
    """`filter_text` less the versions deleted through this API."""
    return f"({filter_text}) AND {NOT_DELETED}" if filter_text else NOT_DELETED


async def _answer(registry: Registry, version: ModelVersion) -> JSON:
    return {"model_version": shapes.model_version(version, await registry.core.model_if_any(version.model))}


async def create_model_version(registry: Registry, call: Call) -> JSON:
    p = call.params
    name, source = p.text("name", required=True), p.text("source", required=True)
    await _model(registry, name)  # MLflow registers versions of existing models only
    run_id = p.text("run_id")
    draft = ModelVersion(model=name, number=0, description=p.text("description"), tags=p.tags(),
                         run=Run(run_id, uri=p.text("run_link")) if run_id else None, created_from=source)  # fmt: skip
    files = await reachable_files(registry, call.uploads, source)
    if files is None:
        draft.storage_uri = source  # somewhere studbook cannot read: recorded, not kept
    registered = await registry.versions.register(Registration(draft=draft, caller=call.caller, uploaded=files or []))
    if not registered.created and deleted(registered.version):
        # studbook registers the same files once per model; they are a version deleted here.
        number = registered.version.number
        raise MlflowError(
            "RESOURCE_ALREADY_EXISTS",
            f"these files are version {number} of {name!r}, deleted through the MLflow API; studbook keeps one "
            f"version per content, so bring that one back with `studbook unarchive {name}@{number}`",
            reason="VERSION_DELETED", model=name, version=number,
        )  # fmt: skip
    return await _answer(registry, registered.version)


async def get_model_version(registry: Registry, call: Call) -> JSON:
    p = call.params
    return await _answer(registry, await _version(registry, p.text("name", required=True), p.version()))


async def search_model_versions(registry: Registry, call: Call) -> JSON:
    p = call.params
    size = _page_size(p, VERSIONS_PAGE_DEFAULT, VERSIONS_PAGE_MAX)
    translation = translate(p.text("filter"), "model_versions")
    filter_text = _shown(translation.filter)
    order_by = to_order_by(p.strings("order_by"), "model_versions")

    async def fetch(page_size: int, token: str) -> tuple[list[ModelVersion], str]:
        page = await registry.versions.list_versions(
            "models/-", page_size=page_size, page_token=token, filter_text=filter_text, order_by=order_by,
            show_archived=True, summary_only=False,
        )  # fmt: skip
        return page.versions, page.next_page_token

    versions, token = await search_page(fetch, translation.refinements, _version_value, size, p.text("page_token"))
    models = await registry.core.read_models(v.model for v in versions)
    found = [shapes.model_version(v, models.get(v.model)) for v in versions]
    return _page({"model_versions": found}, token)


def _version_value(version: ModelVersion, refinement: Refinement) -> str | None:
    """The version's value of the attribute an MLflow filter names, as translate() maps it."""
    if refinement.attribute == "tags":
        return version.tags.get(refinement.key)
    if refinement.attribute == "run_id":
        return version.run.run_id if version.run is not None else ""
    if refinement.attribute == "source_path":
        return version.created_from
    return version.model


async def update_model_version(registry: Registry, call: Call) -> JSON:
    p = call.params
    name, number = p.text("name", required=True), p.version()
    await _version(registry, name, number)
    changes = ModelVersion(model=name, number=number, description=p.text("description"))
    updated = await registry.versions.update(version_name(name, number), changes, ["description"], "", call.caller)
    return await _answer(registry, updated)


async def delete_model_version(registry: Registry, call: Call) -> JSON:
    """studbook never forgets a registered version: MLflow's delete archives it, with a status
    reason that says it was deleted here and by whom; from then on this API answers as MLflow
    does after a delete (not found, left out of searches) while studbook keeps the version."""
    p = call.params
    name, number = p.text("name", required=True), p.version()
    await _version(registry, name, number)
    reason = f"{DELETED} by {call.caller.actor}"
    await registry.versions.archive(version_name(name, number), "", call.caller, reason=reason)
    return {}


async def set_model_version_tag(registry: Registry, call: Call) -> JSON:
    p = call.params
    key, value = p.text("key", required=True), p.text("value")
    await _edit_version_tags(registry, call, lambda tags: tags.__setitem__(key, value))
    return {}


async def delete_model_version_tag(registry: Registry, call: Call) -> JSON:
    key = call.params.text("key", required=True)
    await _edit_version_tags(registry, call, lambda tags: tags.pop(key, None))
    return {}


async def _edit_version_tags(registry: Registry, call: Call, edit: Callable[[dict[str, str]], object]) -> None:
    name, number = call.params.text("name", required=True), call.params.version()
    for attempt in range(TAG_RETRIES):
        version = await _version(registry, name, number)
        tags = dict(version.tags)
        edit(tags)
        if tags == version.tags:
            return
        changes = ModelVersion(model=name, number=number, tags=tags)
        try:
            await registry.versions.update(version_name(name, number), changes, ["tags"], str(version.revision),
                                           call.caller)  # fmt: skip
            return
        except Conflict:
            if attempt == TAG_RETRIES - 1:
                raise


async def transition_model_version_stage(registry: Registry, call: Call) -> JSON:
    """A studbook promotion (gates, approvals and roles as for any other), or an archive."""
    p = call.params
    name, number, stage = p.text("name", required=True), p.version(), canonical(p.text("stage", required=True))
    version = await _version(registry, name, number)
    model = await _model(registry, name)
    if stage == mlflow_stage(version, model):
        return await _answer(registry, version)
    if stage == ARCHIVED:
        check_method(call.caller, ARCHIVE)
        return await _answer(registry, await registry.versions.archive(version_name(name, number), "", call.caller))
    promotion = await registry.stages.promote(PromotionRequest(
        version=version_name(name, number), target=studbook_stage(model, stage), caller=call.caller,
        reason=f"MLflow transition to {stage}",
    ))  # fmt: skip
    _applied(promotion)
    if p.flag("archive_existing_versions") and stage in HELD and promotion.previous_version is not None:
        # The version it replaced, now out of the stage, is archived as MLflow does.
        check_method(call.caller, ARCHIVE)
        await registry.versions.archive(version_name(name, promotion.previous_version), "", call.caller)
    return await _answer(registry, await _version(registry, name, number))


def _applied(promotion: Promotion) -> None:
    """Refuses, in MLflow's terms, a promotion studbook left waiting for approvers."""
    if promotion.state != PromotionState.PENDING_APPROVAL:
        return
    name = promotion_name(promotion.model, promotion.id)
    raise MlflowError(
        "INVALID_STATE",
        f"{name} (version {promotion.version} to {promotion.target!r}) waits for "
        f"{promotion.required_approvals} approval(s); it takes effect once approved, e.g. with "
        f"`studbook approve {name}`",
        202, reason="PENDING_APPROVAL", promotion=name,
    )  # fmt: skip


async def get_model_version_download_uri(registry: Registry, call: Call) -> JSON:
    p = call.params
    version = await _version(registry, p.text("name", required=True), p.version())
    if version.kept:
        return {"artifact_uri": f"mlflow-artifacts:/{shapes.artifact_path(version)}"}
    return {"artifact_uri": version.storage_uri}


# -- helpers -----------------------------------------------------------------------------


def _page_size(p: Params, default: int, most: int) -> int:
    size = p.integer("max_results", default)
    if not 1 <= size <= most:
        raise invalid(f"Invalid value {size} for parameter 'max_results': it must be from 1 to {most}",
                      field="max_results")  # fmt: skip
    return size


def _page(body: JSON, token: str) -> JSON:
    """A page as MLflow's server writes it: an empty list and a missing token left out."""
    body = {key: value for key, value in body.items() if value}
    if token:
        body["next_page_token"] = token
    return body


ARCHIVE = SERVICE + "VersionService/ArchiveModelVersion"
_M, _V = SERVICE + "ModelService/", SERVICE + "VersionService/"
_PROMOTE, _DELETE_ALIAS = SERVICE + "StageService/PromoteModelVersion", SERVICE + "StageService/DeleteAlias"
_RM, _MV = "/api/2.0/mlflow/registered-models/", "/api/2.0/mlflow/model-versions/"

ROUTES = (
    Route("POST", _RM + "create", create_registered_model, _M + "CreateModel"),
    Route("GET", _RM + "get", get_registered_model, _M + "GetModel"),
    Route("GET", _RM + "search", search_registered_models, _M + "ListModels"),
    Route("PATCH", _RM + "update", update_registered_model, _M + "UpdateModel"),
    Route("POST", _RM + "rename", rename_registered_model, _M + "RenameModel"),
    Route("DELETE", _RM + "delete", delete_registered_model, _M + "DeleteModel"),
    Route("POST", _RM + "set-tag", set_registered_model_tag, _M + "UpdateModel"),
    Route("DELETE", _RM + "delete-tag", delete_registered_model_tag, _M + "UpdateModel"),
    Route("POST", _RM + "get-latest-versions", get_latest_versions, _V + "ListModelVersions"),
    Route("GET", _RM + "get-latest-versions", get_latest_versions, _V + "ListModelVersions"),
    # The use case asks for the role the alias needs (a maintainer, or an approver).
    Route("POST", _RM + "alias", set_registered_model_alias, _PROMOTE),
    Route("GET", _RM + "alias", get_model_version_by_alias, _V + "GetModelVersion"),
    Route("DELETE", _RM + "alias", delete_registered_model_alias, _DELETE_ALIAS),
    Route("POST", _MV + "create", create_model_version, _V + "RegisterModelVersion"),
    Route("GET", _MV + "get", get_model_version, _V + "GetModelVersion"),
    Route("GET", _MV + "search", search_model_versions, _V + "ListModelVersions"),
    Route("PATCH", _MV + "update", update_model_version, _V + "UpdateModelVersion"),
    Route("DELETE", _MV + "delete", delete_model_version, ARCHIVE),
    Route("POST", _MV + "set-tag", set_model_version_tag, _V + "UpdateModelVersion"),
    Route("DELETE", _MV + "delete-tag", delete_model_version_tag, _V + "UpdateModelVersion"),
    Route("POST", _MV + "transition-stage", transition_model_version_stage, _PROMOTE),
    Route("GET", _MV + "get-download-uri", get_model_version_download_uri, _V + "GetModelVersion"),
)
