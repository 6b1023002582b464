"""The gRPC servicers: decode the request, call the registry, encode the answer. Nothing else."""

from __future__ import annotations

from collections import OrderedDict

import grpc
from studbook.daemon.app.registry import Registry
from studbook.daemon.app.stages import PromotionRequest
from studbook.daemon.app.versions import Registered, Registration
from studbook.daemon.domain.access import Caller
from studbook.daemon.domain.errors import PermissionDenied, RegistryError, Unauthenticated
from studbook.daemon.domain.model import ArtifactFile, ModelState, ModelVersion, PromotionState
from studbook.daemon.domain.names import parse_model_name
from studbook.daemon.service import convert
from studbook.daemon.service.access import caller_of, record_denial
from studbook.daemon.service.drift_convert import features_from_proto
from studbook.daemon.service.errors import mapped, status_proto
from studbook.v1 import (
    lineage_pb2,
    lineage_pb2_grpc,
    registry_pb2,
    registry_pb2_grpc,
    resources_pb2,
    stages_pb2,
    stages_pb2_grpc,
)

MESSAGE_CACHE_SIZE = 10_000
REGISTER_MANY = "/studbook.v1.VersionService/RegisterModelVersions"
LINEAGE_DIRECTIONS = {
    lineage_pb2.LINEAGE_DIRECTION_UNSPECIFIED: (True, True),
    lineage_pb2.LINEAGE_DIRECTION_BOTH: (True, True),
    lineage_pb2.LINEAGE_DIRECTION_UPSTREAM: (True, False),
    lineage_pb2.LINEAGE_DIRECTION_DOWNSTREAM: (False, True),
}


class ModelServicer(registry_pb2_grpc.ModelServiceServicer):
    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    @mapped
    async def CreateModel(
        self, request: registry_pb2.CreateModelRequest, context: grpc.aio.ServicerContext
    ) -> resources_pb2.Model:  # noqa: N802
        given = request.model
        model = await self.registry.models.create(
            request.model_id, description=given.description, tags=dict(given.tags), owner=given.owner,
            stages=list(given.stages), request_id=request.request_id, caller=caller_of(context),
            source_create_time=(convert.from_timestamp(request.source_create_time)
                                if request.HasField("source_create_time") else None),
        )  # fmt: skip
        return convert.model_to_proto(model)

    @mapped
    async def GetModel(
        self, request: registry_pb2.GetModelRequest, context: grpc.aio.ServicerContext
    ) -> resources_pb2.Model:  # noqa: N802
        return convert.model_to_proto(await self.registry.models.get(parse_model_name(request.name)))

    @mapped
    async def ListModels(
        self, request: registry_pb2.ListModelsRequest, context: grpc.aio.ServicerContext
    ) -> registry_pb2.ListModelsResponse:  # noqa: N802
        page = await self.registry.models.list_models(
            page_size=request.page_size, page_token=request.page_token, filter_text=request.filter,
            order_by=request.order_by, show_archived=request.show_archived,
        )  # fmt: skip
        return registry_pb2.ListModelsResponse(
            models=[convert.model_to_proto(m) for m in page.models],
            next_page_token=page.next_page_token,
            total_size=page.total,
            revision=page.revision,
        )

    @mapped
    async def UpdateModel(
        self, request: registry_pb2.UpdateModelRequest, context: grpc.aio.ServicerContext
    ) -> resources_pb2.Model:  # noqa: N802
        model = await self.registry.models.update(
            parse_model_name(request.model.name, "model.name"),
            convert.model_changes(request.model),
            list(request.update_mask.paths),
            request.model.etag,
            caller_of(context),
        )
        return convert.model_to_proto(model)

    @mapped
    async def ArchiveModel(
        self, request: registry_pb2.ArchiveModelRequest, context: grpc.aio.ServicerContext
    ) -> resources_pb2.Model:  # noqa: N802
        model = await self.registry.models.set_state(
            parse_model_name(request.name), ModelState.ARCHIVED, request.etag, caller_of(context)
        )
        return convert.model_to_proto(model)

    @mapped
    async def RestoreModel(
        self, request: registry_pb2.RestoreModelRequest, context: grpc.aio.ServicerContext
    ) -> resources_pb2.Model:  # noqa: N802
        model = await self.registry.models.set_state(
            parse_model_name(request.name), ModelState.ACTIVE, request.etag, caller_of(context)
        )
        return convert.model_to_proto(model)

    @mapped
    async def RenameModel(
        self, request: registry_pb2.RenameModelRequest, context: grpc.aio.ServicerContext
    ) -> resources_pb2.Model:  # noqa: N802
        model = await self.registry.models.rename(
            parse_model_name(request.name), request.new_model_id, request.expected_etag, request.reason,
            caller_of(context),
        )  # fmt: skip
        return convert.model_to_proto(model)

    @mapped
    async def DeleteModel(
        self, request: registry_pb2.DeleteModelRequest, context: grpc.aio.ServicerContext
    ) -> registry_pb2.DeleteModelResponse:  # noqa: N802
        deleted = await self.registry.models.delete(
            parse_model_name(request.name), request.force, request.etag, caller_of(context)
        )
        return registry_pb2.DeleteModelResponse(deleted_versions=deleted)


class VersionServicer(registry_pb2_grpc.VersionServiceServicer):
    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        # Built messages of hot versions: a version's revision and its model's revision
        # (stages, aliases) name everything the message shows.
        self._messages: OrderedDict[tuple[str, int, int, int], resources_pb2.ModelVersion] = OrderedDict()

    async def _proto(self, version: ModelVersion) -> resources_pb2.ModelVersion:
        return convert.version_to_proto(version, await self.registry.core.model_if_any(version.model))

    async def _protos(self, versions: list[ModelVersion]) -> list[resources_pb2.ModelVersion]:
        """Like `_proto`, for a page: the models not in the read cache are read in one go."""
        models = await self.registry.core.read_models(v.model for v in versions)
        return [convert.version_to_proto(v, models.get(v.model)) for v in versions]

    async def _full_proto(self, version: ModelVersion) -> resources_pb2.ModelVersion:
        """Like `_proto`, remembered: only for complete records, never list summaries."""
        model = await self.registry.core.model_if_any(version.model)
        key = (version.model, version.number, version.revision, model.revision if model else 0)
        message = self._messages.get(key)
        if message is None:
            message = convert.version_to_proto(version, model)
            self._messages[key] = message
            if len(self._messages) > MESSAGE_CACHE_SIZE:
                self._messages.popitem(last=False)
        return message

    @mapped
    async def RegisterModelVersion(
        self, request: registry_pb2.RegisterModelVersionRequest, context: grpc.aio.ServicerContext
    ) -> registry_pb2.RegisterModelVersionResponse:  # noqa: N802
        registered = await self.registry.versions.register(_registration(request, caller_of(context)))
        return await self._registered(registered)

    @mapped
    async def RegisterModelVersions(
        self, request: registry_pb2.RegisterModelVersionsRequest, context: grpc.aio.ServicerContext
    ) -> registry_pb2.RegisterModelVersionsResponse:  # noqa: N802
        caller = caller_of(context)
        registrations: list[Registration | RegistryError] = []
        for item in request.requests:
            try:
                registrations.append(_registration(item, caller))
            except RegistryError as refused:  # this item's own refusal, answered in its place
                registrations.append(refused)
        outcomes = await self.registry.versions.register_many(registrations)
        for outcome in outcomes:
            # Audited as a single call's refusal would be (content that runs code, by a contributor).
            if isinstance(outcome, (PermissionDenied, Unauthenticated)):
                await record_denial(self.registry.access, context, caller, REGISTER_MANY, outcome)
        return registry_pb2.RegisterModelVersionsResponse(results=[
            registry_pb2.RegisterModelVersionResult(error=status_proto(outcome)) if isinstance(outcome, RegistryError)
            else registry_pb2.RegisterModelVersionResult(registered=await self._registered(outcome))
            for outcome in outcomes
        ])  # fmt: skip

    async def _registered(self, registered: Registered) -> registry_pb2.RegisterModelVersionResponse:
        # A new version holds no stage or alias yet, so its event's payload is the whole answer:
        # parsing it takes about 1 µs of the event loop, which every registration waits for,
        # against 20 µs to convert the version again (measured here).
        version = (
            resources_pb2.ModelVersion.FromString(registered.recorded)
            if registered.recorded
            else await self._proto(registered.version)
        )
        return registry_pb2.RegisterModelVersionResponse(version=version, created=registered.created)

    @mapped
    async def GetModelVersion(
        self, request: registry_pb2.GetModelVersionRequest, context: grpc.aio.ServicerContext
    ) -> resources_pb2.ModelVersion:  # noqa: N802
        return await self._full_proto(await self.registry.versions.get(request.name))

    @mapped
    async def ListModelVersions(
        self, request: registry_pb2.ListModelVersionsRequest, context: grpc.aio.ServicerContext
    ) -> registry_pb2.ListModelVersionsResponse:  # noqa: N802
        page = await self.registry.versions.list_versions(
            request.parent, page_size=request.page_size, page_token=request.page_token,
            filter_text=request.filter, order_by=request.order_by, show_archived=request.show_archived,
            summary_only=request.summary_only, skip=request.skip,
        )  # fmt: skip
        return registry_pb2.ListModelVersionsResponse(
            versions=await self._protos(page.versions),
            next_page_token=page.next_page_token,
            total_size=page.total,
            revision=page.revision,
        )

    @mapped
    async def UpdateModelVersion(
        self, request: registry_pb2.UpdateModelVersionRequest, context: grpc.aio.ServicerContext
    ) -> resources_pb2.ModelVersion:  # noqa: N802
        version = await self.registry.versions.update(
            request.version.name,
            _editable(request.version),
            list(request.update_mask.paths),
            request.version.etag,
            caller_of(context),
        )
        return await self._proto(version)

    @mapped
    async def ArchiveModelVersion(
        self, request: registry_pb2.ArchiveModelVersionRequest, context: grpc.aio.ServicerContext
    ) -> resources_pb2.ModelVersion:  # noqa: N802
        return await self._proto(await self.registry.versions.archive(request.name, request.etag, caller_of(context)))

    @mapped
    async def RestoreModelVersion(
        self, request: registry_pb2.RestoreModelVersionRequest, context: grpc.aio.ServicerContext
    ) -> resources_pb2.ModelVersion:  # noqa: N802
        return await self._proto(await self.registry.versions.restore(request.name, request.etag, caller_of(context)))

    @mapped
    async def LogMetrics(
        self, request: registry_pb2.LogMetricsRequest, context: grpc.aio.ServicerContext
    ) -> registry_pb2.LogMetricsResponse:  # noqa: N802
        logged = await self.registry.versions.log_metrics(
            request.name, [convert.metric_from_proto(x) for x in request.metrics], caller_of(context)
        )
        return registry_pb2.LogMetricsResponse(logged=logged)

    @mapped
    async def ListMetrics(
        self, request: registry_pb2.ListMetricsRequest, context: grpc.aio.ServicerContext
    ) -> registry_pb2.ListMetricsResponse:  # noqa: N802
        metrics = await self.registry.versions.list_metrics(request.name, request.key, request.split)
        return registry_pb2.ListMetricsResponse(metrics=[convert.metric_to_proto(x) for x in metrics])

    @mapped
    async def DiffModelVersions(
        self, request: registry_pb2.DiffModelVersionsRequest, context: grpc.aio.ServicerContext
    ) -> registry_pb2.VersionDiff:  # noqa: N802
        _, _, diff = await self.registry.versions.diff(request.base, request.target)
        return convert.diff_to_proto(diff)


def _editable(message: resources_pb2.ModelVersion) -> ModelVersion:
    """The editable part of a version: tags and description."""
    return ModelVersion(model="", number=0, tags=dict(message.tags), description=message.description)


class LineageServicer(lineage_pb2_grpc.LineageServiceServicer):
    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    @mapped
    async def GetLineage(
        self, request: lineage_pb2.GetLineageRequest, context: grpc.aio.ServicerContext
    ) -> lineage_pb2.GetLineageResponse:  # noqa: N802
        upstream, downstream = LINEAGE_DIRECTIONS.get(request.direction, (True, True))
        graph = await self.registry.lineage.walk(request.name, upstream, downstream, request.depth)
        return convert.lineage_to_proto(graph)


class StageServicer(stages_pb2_grpc.StageServiceServicer):
    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    @mapped
    async def PromoteModelVersion(
        self, request: stages_pb2.PromoteModelVersionRequest, context: grpc.aio.ServicerContext
    ) -> stages_pb2.Promotion:  # noqa: N802
        promotion = await self.registry.stages.promote(
            PromotionRequest(
                version=request.name,
                target=request.target,
                reason=request.reason,
                validate_only=request.validate_only,
                expected_etag=request.expected_etag,
                request_id=request.request_id,
                caller=caller_of(context),
            )  # fmt: skip
        )
        return convert.promotion_to_proto(promotion)

    @mapped
    async def RollbackStage(
        self, request: stages_pb2.RollbackStageRequest, context: grpc.aio.ServicerContext
    ) -> stages_pb2.Promotion:  # noqa: N802
        promotion = await self.registry.stages.rollback(
            request.model,
            request.stage,
            request.reason,
            request.expected_etag,
            caller_of(context),
            validate_only=request.validate_only,
            to=request.version,
        )
        return convert.promotion_to_proto(promotion)

    @mapped
    async def DeleteAlias(
        self, request: stages_pb2.DeleteAliasRequest, context: grpc.aio.ServicerContext
    ) -> stages_pb2.DeleteAliasResponse:  # noqa: N802
        await self.registry.stages.delete_alias(request.model, request.alias, request.reason, caller_of(context))
        return stages_pb2.DeleteAliasResponse()

    @mapped
    async def GetPromotion(
        self, request: stages_pb2.GetPromotionRequest, context: grpc.aio.ServicerContext
    ) -> stages_pb2.Promotion:  # noqa: N802
        return convert.promotion_to_proto(await self.registry.stages.get_promotion(request.name))

    @mapped
    async def ListPromotions(
        self, request: stages_pb2.ListPromotionsRequest, context: grpc.aio.ServicerContext
    ) -> stages_pb2.ListPromotionsResponse:  # noqa: N802
        promotions, token = await self.registry.stages.list_promotions(
            request.parent, request.filter, request.page_size, request.page_token
        )
        return stages_pb2.ListPromotionsResponse(
            promotions=[convert.promotion_to_proto(p) for p in promotions], next_page_token=token
        )

    @mapped
    async def ApprovePromotion(
        self, request: stages_pb2.ApprovePromotionRequest, context: grpc.aio.ServicerContext
    ) -> stages_pb2.Promotion:  # noqa: N802
        return convert.promotion_to_proto(
            await self.registry.stages.decide(
                request.name, PromotionState.APPROVED, request.comment, caller_of(context)
            )
        )

    @mapped
    async def RejectPromotion(
        self, request: stages_pb2.RejectPromotionRequest, context: grpc.aio.ServicerContext
    ) -> stages_pb2.Promotion:  # noqa: N802
        return convert.promotion_to_proto(
            await self.registry.stages.decide(request.name, PromotionState.REJECTED, request.reason, caller_of(context))
        )

    @mapped
    async def CancelPromotion(
        self, request: stages_pb2.CancelPromotionRequest, context: grpc.aio.ServicerContext
    ) -> stages_pb2.Promotion:  # noqa: N802
        return convert.promotion_to_proto(
            await self.registry.stages.decide(
                request.name, PromotionState.CANCELLED, request.reason, caller_of(context)
            )
        )

    @mapped
    async def GetPolicyStatus(
        self, request: stages_pb2.GetPolicyStatusRequest, context: grpc.aio.ServicerContext
    ) -> stages_pb2.PolicyStatus:  # noqa: N802
        return convert.policy_status_to_proto(self.registry.policy.state())

    @mapped
    async def GetStageHistory(
        self, request: stages_pb2.GetStageHistoryRequest, context: grpc.aio.ServicerContext
    ) -> stages_pb2.GetStageHistoryResponse:  # noqa: N802
        at = convert.from_timestamp(request.at) if request.HasField("at") else None
        history = await self.registry.stages.history(
            request.model, request.stage, at, request.page_size, request.page_token
        )
        model_id = parse_model_name(request.model, "model")
        return stages_pb2.GetStageHistoryResponse(
            changes=[convert.stage_change_to_proto(c) for c in history.changes],
            holders_at={k: f"models/{model_id}/versions/{v}" for k, v in (history.holders_at or {}).items()},
            next_page_token=history.next_page_token,
        )


def _registration(request: registry_pb2.RegisterModelVersionRequest, caller: Caller) -> Registration:
    model_id = parse_model_name(request.parent, "parent")
    return Registration(
        draft=convert.version_from_proto(model_id, request.version),
        request_id=request.request_id,
        semver=request.semver,
        number=request.number,
        change_kind=convert.change_kind_from_proto(request.version.change_kind),
        caller=caller,
        source_path=request.source_path,
        keep_in_place=request.keep_in_place,
        unsafe_allowed_by=caller if request.allow_unsafe else None,
        uploaded=[ArtifactFile(f.path, f.size, f.sha256) for f in request.uploaded_files],
        dvc_file=request.dvc_file,
        source_create_time=(
            convert.from_timestamp(request.source_create_time) if request.HasField("source_create_time") else None
        ),
        reference_statistics=features_from_proto(request.reference_statistics),
    )
