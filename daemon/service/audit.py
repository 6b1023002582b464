"""AuditService: verify and export the hash-chained event log."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
from studbook.daemon.app.registry import Registry
from studbook.daemon.service import convert
from studbook.daemon.service.errors import mapped, mapped_stream
from studbook.v1 import audit_pb2, audit_pb2_grpc


class AuditServicer(audit_pb2_grpc.AuditServiceServicer):
    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    @mapped
    async def VerifyAuditTrail(
        self, request: audit_pb2.VerifyAuditTrailRequest, context: grpc.aio.ServicerContext
    ) -> audit_pb2.VerifyAuditTrailResponse:  # noqa: N802
        verdict = await self.registry.audit.verify()
        return audit_pb2.VerifyAuditTrailResponse(
            intact=verdict.intact,
            checked=verdict.checked,
            head=verdict.head,
            broken_revision=verdict.broken_revision or 0,
            problem=verdict.problem,
        )

    @mapped_stream
    async def ExportAuditTrail(
        self, request: audit_pb2.ExportAuditTrailRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[audit_pb2.AuditRecord]:  # noqa: N802
        async for event, chain_hash, before in self.registry.audit.export(request.start_revision):
            record = audit_pb2.AuditRecord(event=convert.event_to_proto(event), chain_hash=chain_hash)
            if before is not None:
                record.before.CopyFrom(convert.event_to_proto(before))
            yield record
