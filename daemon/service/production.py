"""ProductionService: translates calls to the production feedback use cases.

Each RPC the daemon does not serve yet answers UNIMPLEMENTED (the generated base class).
"""

from __future__ import annotations

import grpc
from studbook.daemon.app.registry import Registry
from studbook.daemon.service.errors import mapped
from studbook.daemon.service.monitor_convert import candidate_to_proto, monitor_state_to_proto
from studbook.v1 import production_pb2, production_pb2_grpc


class ProductionServicer(production_pb2_grpc.ProductionServiceServicer):
    def __init__(self, registry: Registry) -> None:
        self.registry = registry

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
