"""ProductionService: translates calls to the production feedback use cases.

Each RPC the daemon does not serve yet answers UNIMPLEMENTED (the generated base class).
"""

from __future__ import annotations

from datetime import datetime

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from studbook.daemon.app.production import LogCall, RecordQuery
from studbook.daemon.app.registry import Registry
from studbook.daemon.domain.errors import InvalidArgument
from studbook.daemon.domain.names import parse_model_name, version_name
from studbook.daemon.domain.production import ProductionPoint
from studbook.daemon.service import convert
from studbook.daemon.service.access import caller_of
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
            ProductionPoint(p.key, p.value, _time(p.window_end, f"points[{i}].window_end")
                            if p.HasField("window_end") else None, p.segment)
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

    @mapped
    async def GetProductionRecord(
        self, request: production_pb2.GetProductionRecordRequest, context: grpc.aio.ServicerContext
    ) -> production_pb2.ProductionRecord:  # noqa: N802
        since = _time(request.since, "since") if request.HasField("since") else None
        until = _time(request.until, "until") if request.HasField("until") else None
        holders = await self.registry.production.record(
            RecordQuery(
                request.model, request.stage, list(request.keys), request.segment, since, until, request.version
            )  # fmt: skip
        )
        return record_to_proto(parse_model_name(request.model, "model"), request.stage, holders)


def _time(stamp: Timestamp, field: str) -> datetime:
    """A request's time; one out of the range a date can hold is the caller's mistake, not ours."""
    try:
        return convert.from_timestamp(stamp)
    except (ValueError, OverflowError) as exc:
        raise InvalidArgument(f"{field} is not a valid time ({exc})", reason="INVALID_TIME", field=field) from exc
