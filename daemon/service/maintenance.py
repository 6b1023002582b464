"""MaintenanceService: re-hashing the artifact store and online backups (streamed as progress then a summary), and the catalog's status."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import grpc
from studbook.daemon.app.integrity import VerifyProgress, VerifyReport
from studbook.daemon.app.registry import Registry
from studbook.daemon.domain.integrity import Outcome
from studbook.daemon.domain.names import version_name
from studbook.daemon.service import convert
from studbook.daemon.service.access import caller_of
from studbook.daemon.service.errors import mapped, mapped_stream
from studbook.v1 import maintenance_pb2, maintenance_pb2_grpc, resources_pb2

if TYPE_CHECKING:  # loaded with the first backup (see Registry.backups)
    from studbook.daemon.app.backup import BackupReport


class MaintenanceServicer(maintenance_pb2_grpc.MaintenanceServiceServicer):
    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    @mapped_stream
    async def VerifyArtifacts(
        self, request: maintenance_pb2.VerifyArtifactsRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[maintenance_pb2.VerifyArtifactsResponse]:  # noqa: N802
        async for step in self.registry.integrity.verify(request.name, caller_of(context)):
            if isinstance(step, VerifyProgress):
                yield maintenance_pb2.VerifyArtifactsResponse(progress=_progress(step))
            else:
                yield maintenance_pb2.VerifyArtifactsResponse(summary=_summary(step))

    @mapped_stream
    async def BackupRegistry(
        self, request: maintenance_pb2.BackupRegistryRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[maintenance_pb2.BackupRegistryResponse]:  # noqa: N802
        from studbook.daemon.app.backup import BackupProgress

        async for step in self.registry.backups.backup(request.destination, caller_of(context)):
            if isinstance(step, BackupProgress):
                yield maintenance_pb2.BackupRegistryResponse(progress=maintenance_pb2.BackupProgress(
                    phase=step.phase, done_bytes=step.done_bytes, total_bytes=step.total_bytes,
                    done_blobs=step.done_blobs, total_blobs=step.total_blobs))  # fmt: skip
            else:
                yield maintenance_pb2.BackupRegistryResponse(summary=_backup_summary(step))

    @mapped
    async def GetCatalogStatus(
        self, request: maintenance_pb2.GetCatalogStatusRequest, context: grpc.aio.ServicerContext
    ) -> maintenance_pb2.CatalogStatus:  # noqa: N802
        status = self.registry.catalog_status(caller_of(context))
        message = maintenance_pb2.CatalogStatus(
            backend=status.backend, location=status.location, shared=status.shared, revision=status.revision,
            following=status.following, problem=status.problem)  # fmt: skip
        if status.since is not None:
            message.since.FromDatetime(status.since)
        if status.caught_up_time is not None:
            message.caught_up_time.FromDatetime(status.caught_up_time)
        return message


def _backup_summary(report: BackupReport) -> maintenance_pb2.BackupSummary:
    manifest = report.manifest
    summary = maintenance_pb2.BackupSummary(
        destination=report.destination, revision=manifest.revision, chain_head=manifest.chain_head,
        versions=manifest.versions, catalog=manifest.catalog, catalog_bytes=manifest.catalog_size,
        blob_count=manifest.blob_count, blob_bytes=manifest.blob_bytes, copied_blobs=report.copied_blobs,
        copied_bytes=report.copied_bytes, lost_blobs=[b.sha256 for b in manifest.lost_blobs],
        snapshot_seconds=report.snapshot_seconds, seconds=report.seconds,
    )  # fmt: skip
    stamp = convert.timestamp(manifest.created)
    if stamp is not None:
        summary.create_time.CopyFrom(stamp)
    return summary


def _progress(step: VerifyProgress) -> maintenance_pb2.VerifyProgress:
    return maintenance_pb2.VerifyProgress(checked_bytes=step.checked_bytes, total_bytes=step.total_bytes,
                                          checked_blobs=step.checked_blobs, total_blobs=step.total_blobs)  # fmt: skip


def _summary(report: VerifyReport) -> maintenance_pb2.VerifySummary:
    return maintenance_pb2.VerifySummary(
        store=report.store, versions_checked=report.versions_checked, blobs_checked=report.blobs_checked,
        bytes_checked=report.bytes_checked, skipped_count=report.skipped_count,
        skipped_versions=[version_name(m, n) for m, n in report.skipped],
        bad_blobs=[maintenance_pb2.BadBlob(sha256=s, missing=gone) for s, gone in sorted(report.bad_blobs.items())],
        corrupt_versions=[_outcome(o) for o in report.corrupt], corrupt_count=report.corrupt_count,
        repaired_versions=[_outcome(o) for o in report.repaired],
    )  # fmt: skip


def _outcome(outcome: Outcome) -> maintenance_pb2.VerifiedVersion:
    return maintenance_pb2.VerifiedVersion(
        version=version_name(outcome.model, outcome.number),
        status=resources_pb2.VersionStatus.Value(f"VERSION_STATUS_{outcome.status.name}"),
        reason=outcome.reason,
    )
