"""The DropService servicer: drop verdicts and the watcher's health, translated to v1 messages."""

from __future__ import annotations

from typing import TYPE_CHECKING

import grpc
from studbook.daemon.app.drops import DropRecord, DropState
from studbook.daemon.app.registry import Registry
from studbook.daemon.domain.errors import FailedPrecondition
from studbook.daemon.domain.names import model_name, version_name
from studbook.daemon.domain.printable import printable
from studbook.daemon.domain.safety import check_may_allow
from studbook.daemon.service.access import caller_of
from studbook.daemon.service.convert import timestamp
from studbook.daemon.service.errors import mapped
from studbook.v1 import drops_pb2, drops_pb2_grpc

if TYPE_CHECKING:  # the watcher is imported only by a daemon that watches folders
    from studbook.daemon.watch.status import Incident, WatchStatus
    from studbook.daemon.watch.watcher import DropWatcher

_STATE = {s: drops_pb2.DropState.Value(f"DROP_STATE_{s.name}") for s in DropState}


class DropServicer(drops_pb2_grpc.DropServiceServicer):
    """`watcher` is None when the daemon watches no folder: verdicts stay readable."""

    def __init__(self, registry: Registry, watcher: DropWatcher | None) -> None:
        self.registry = registry
        self.watcher = watcher

    @mapped
    async def ListDrops(
        self, request: drops_pb2.ListDropsRequest, context: grpc.aio.ServicerContext
    ) -> drops_pb2.ListDropsResponse:  # noqa: N802
        page = self.registry.drops.list(page_size=request.page_size, page_token=request.page_token,
                                        model=request.model, quarantined_only=False)  # fmt: skip
        return drops_pb2.ListDropsResponse(drops=[drop_to_proto(d) for d in page.drops],
                                           next_page_token=page.next_page_token, total_size=page.total)  # fmt: skip

    @mapped
    async def ListQuarantinedDrops(
        self, request: drops_pb2.ListQuarantinedDropsRequest, context: grpc.aio.ServicerContext
    ) -> drops_pb2.ListQuarantinedDropsResponse:  # noqa: N802
        page = self.registry.drops.list(page_size=request.page_size, page_token=request.page_token,
                                        model=request.model, quarantined_only=True)  # fmt: skip
        return drops_pb2.ListQuarantinedDropsResponse(drops=[drop_to_proto(d) for d in page.drops],
                                                      next_page_token=page.next_page_token,
                                                      total_size=page.total)  # fmt: skip

    @mapped
    async def RetryDrop(self, request: drops_pb2.RetryDropRequest, context: grpc.aio.ServicerContext) -> drops_pb2.Drop:  # noqa: N802
        caller = caller_of(context)
        if request.allow_unsafe:
            check_may_allow(caller)
        record = self.registry.drops.find(name=request.name, path=request.path)
        if self.watcher is None:
            raise FailedPrecondition("this daemon watches no folder; start it with --watch ROOT",
                                     reason="WATCH_DISABLED")  # fmt: skip
        return drop_to_proto(
            await self.watcher.retry(record, unsafe_allowed_by=caller if request.allow_unsafe else None)
        )

    @mapped
    async def GetWatchStatus(
        self, request: drops_pb2.GetWatchStatusRequest, context: grpc.aio.ServicerContext
    ) -> drops_pb2.WatchStatus:  # noqa: N802
        if self.watcher is None:
            return drops_pb2.WatchStatus()
        return status_to_proto(self.watcher.status())


def drop_to_proto(record: DropRecord) -> drops_pb2.Drop:
    message = drops_pb2.Drop(
        name=record.name,
        # Names from disk may hold control characters or bytes that are not UTF-8.
        path=printable(record.full_path),
        root=printable(record.root),
        model=model_name(printable(record.model)),
        version=version_name(record.model, record.number) if record.number else "",
        state=_STATE[record.state],
        reason=record.reason,
        message=record.message,
        details=record.details,
        content_digest=record.content_digest,
    )
    stamp = timestamp(record.update_time)
    if stamp is not None:
        message.update_time.CopyFrom(stamp)
    return message


def _incident(incident: Incident) -> drops_pb2.WatchIncident:
    message = drops_pb2.WatchIncident(reason=incident.reason, message=incident.message, root=incident.root)
    message.time.CopyFrom(timestamp(incident.time))
    return message


def status_to_proto(status: WatchStatus) -> drops_pb2.WatchStatus:
    message = drops_pb2.WatchStatus(
        roots=[
            drops_pb2.WatchedRoot(
                path=r.path,
                observer=r.observer,
                keep_in_place=r.keep_in_place,
                problem=_incident(r.problem) if r.problem else None,
            )
            for r in status.roots
        ],  # fmt: skip
        degraded=status.degraded,
        problems=[_incident(i) for i in status.problems],
        incidents=[_incident(i) for i in status.incidents],
        queue_depth=status.queue_depth,
        pending_drops=status.pending,
        quarantined_drops=status.quarantined,
        quiet_seconds=status.quiet_seconds,
        reconcile_seconds=status.reconcile_seconds,
        files_hashed=status.counters.files_hashed,
        bytes_hashed=status.counters.bytes_hashed,
        versions_registered=status.counters.registered,
        kept_sources_changed=status.kept_sources_changed,
    )
    stamp = timestamp(status.last_reconcile)
    if stamp is not None:
        message.last_reconcile_time.CopyFrom(stamp)
    return message
