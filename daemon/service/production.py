"""ProductionService: translates calls to the production feedback use cases."""

from __future__ import annotations

from datetime import datetime

import grpc
from google.protobuf.message import Message
from studbook.daemon.app.drift import InputWindow
from studbook.daemon.app.production import LogCall, RecordQuery
from studbook.daemon.app.registry import Registry
from studbook.daemon.domain.errors import InvalidArgument
from studbook.daemon.domain.names import parse_model_name, version_name
from studbook.daemon.domain.production import ProductionPoint
from studbook.daemon.service import convert
from studbook.daemon.service.access import caller_of
from studbook.daemon.service.drift_convert import features_from_proto, window_to_proto
from studbook.daemon.service.errors import mapped
from studbook.daemon.service.monitor_convert import candidate_to_proto, monitor_state_to_proto
from studbook.daemon.service.production_convert import record_to_proto
from studbook.v1 import production_pb2, production_pb2_grpc


class ProductionServicer(production_pb2_grpc.ProductionServiceServicer):
    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    @mapped
    async def LogProductionMetrics(
        self, request: production_pb2.LogProductionMetricsRequest, context: grpc.aio.ServicerContext
    ) -> production_pb2.LogProductionMetricsResponse:  # noqa: N802
        points = [
            ProductionPoint(p.key, p.value, _time_of(p, "window_end", f"points[{i}].window_end"), p.segment)
            for i, p in enumerate(request.points)
        ]  # fmt: skip
        logged = await self.registry.production.log_metrics(
            LogCall(request.model, request.stage, points, request.request_id, caller_of(context))
        )
        names = {n: version_name(logged.model, n) for n in logged.versions()}
        return production_pb2.LogProductionMetricsResponse(
            recorded=logged.recorded,
            versions=[names[n] for n in logged.numbers],
            changed=[monitor_state_to_proto(s) for s in logged.changed],
        )

    @mapped
    async def GetProductionRecord(
        self, request: production_pb2.GetProductionRecordRequest, context: grpc.aio.ServicerContext
    ) -> production_pb2.ProductionRecord:  # noqa: N802
        since = _time_of(request, "since")
        until = _time_of(request, "until")
        holders = await self.registry.production.record(
            RecordQuery(
                request.model, request.stage, list(request.keys), request.segment, since, until, request.version
            )  # fmt: skip
        )
        return record_to_proto(parse_model_name(request.model, "model"), request.stage, holders)

    @mapped
    async def ListMonitorStates(
        self, request: production_pb2.ListMonitorStatesRequest, context: grpc.aio.ServicerContext
    ) -> production_pb2.ListMonitorStatesResponse:  # noqa: N802
        states = await self.registry.monitors.list_states(request.model, request.breached_only)
        return production_pb2.ListMonitorStatesResponse(states=[monitor_state_to_proto(s) for s in states])

    @mapped
    async def GetRollbackCandidate(
        self, request: production_pb2.GetRollbackCandidateRequest, context: grpc.aio.ServicerContext
    ) -> production_pb2.RollbackCandidate:  # noqa: N802
        candidate = await self.registry.monitors.candidate(request.model, request.stage, request.key)
        return candidate_to_proto(candidate)

    # -- input statistics and drift -------------------------------------------------------

    @mapped
    async def LogInputStatistics(
        self, request: production_pb2.LogInputStatisticsRequest, context: grpc.aio.ServicerContext
    ) -> production_pb2.LogInputStatisticsResponse:  # noqa: N802
        window = InputWindow(
            model=request.model, stage=request.stage,
            window_end=_time_of(request, "window_end"),
            segment=request.segment, features=features_from_proto(request.features), request_id=request.request_id,
        )  # fmt: skip
        stored = await self.registry.drift.log_inputs(window, caller_of(context))
        return production_pb2.LogInputStatisticsResponse(
            drift=window_to_proto(stored), changed=[monitor_state_to_proto(s) for s in stored.changed]
        )

    @mapped
    async def SetReferenceStatistics(
        self, request: production_pb2.SetReferenceStatisticsRequest, context: grpc.aio.ServicerContext
    ) -> production_pb2.SetReferenceStatisticsResponse:  # noqa: N802
        count = await self.registry.drift.set_reference(request.version, features_from_proto(request.features),
                                                        caller_of(context))  # fmt: skip
        return production_pb2.SetReferenceStatisticsResponse(features=count)

    @mapped
    async def GetInputDrift(
        self, request: production_pb2.GetInputDriftRequest, context: grpc.aio.ServicerContext
    ) -> production_pb2.InputDriftReport:  # noqa: N802
        windows = await self.registry.drift.input_drift(
            request.model, request.stage, version=request.version,
            since=_time_of(request, "since"),
            until=_time_of(request, "until"),
            segment=request.segment, last=request.last_windows,
        )  # fmt: skip
        return production_pb2.InputDriftReport(windows=[window_to_proto(w) for w in windows])


def _time_of(message: Message, name: str, field: str = "") -> datetime | None:
    """The message's time field `name`, None when unset; one out of the range a date can hold is
    the caller's mistake, not ours (`field` names it in the error; default `name`)."""
    if not message.HasField(name):
        return None
    field = field or name
    try:
        return convert.from_timestamp(getattr(message, name))
    except (ValueError, OverflowError) as exc:
        raise InvalidArgument(f"{field} is not a valid time ({exc})", reason="INVALID_TIME", field=field) from exc
