"""ProductionService: translates calls to the production feedback use cases.

Each RPC the daemon does not serve yet answers UNIMPLEMENTED (the generated base class).
"""

from __future__ import annotations

import grpc
from studbook.daemon.app.drift import InputWindow
from studbook.daemon.app.registry import Registry
from studbook.daemon.service.access import caller_of
from studbook.daemon.service.convert import from_timestamp
from studbook.daemon.service.drift_convert import features_from_proto, window_to_proto
from studbook.daemon.service.errors import mapped
from studbook.v1 import production_pb2, production_pb2_grpc


class ProductionServicer(production_pb2_grpc.ProductionServiceServicer):
    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    # -- input statistics and drift -------------------------------------------------------

    @mapped
    async def LogInputStatistics(
        self, request: production_pb2.LogInputStatisticsRequest, context: grpc.aio.ServicerContext
    ) -> production_pb2.LogInputStatisticsResponse:  # noqa: N802
        window = InputWindow(
            model=request.model, stage=request.stage,
            window_end=from_timestamp(request.window_end) if request.HasField("window_end") else None,
            segment=request.segment, features=features_from_proto(request.features), request_id=request.request_id,
        )  # fmt: skip
        stored = await self.registry.drift.log_inputs(window, caller_of(context))
        return production_pb2.LogInputStatisticsResponse(drift=window_to_proto(stored))

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
            since=from_timestamp(request.since) if request.HasField("since") else None,
            until=from_timestamp(request.until) if request.HasField("until") else None,
            segment=request.segment, last=request.last_windows,
        )  # fmt: skip
        return production_pb2.InputDriftReport(windows=[window_to_proto(w) for w in windows])
