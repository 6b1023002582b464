"""RetentionService: garbage collection as the policy's retention says; translation only."""

from __future__ import annotations

import grpc
from studbook.daemon.app.registry import Registry
from studbook.daemon.app.retention import BlobOutcome, Collection
from studbook.daemon.domain.retention import Fate
from studbook.daemon.service.access import caller_of
from studbook.daemon.service.convert import timestamp
from studbook.daemon.service.errors import mapped
from studbook.v1 import retention_pb2, retention_pb2_grpc

# A report lists at most this many decisions; its counts cover them all.
LISTED_DECISIONS = 10_000
_ACTIONS = {
    Fate.KEEP: retention_pb2.RETENTION_ACTION_KEEP,
    Fate.ARCHIVE: retention_pb2.RETENTION_ACTION_ARCHIVE,
    Fate.WAIT: retention_pb2.RETENTION_ACTION_WAIT,
    Fate.PURGE: retention_pb2.RETENTION_ACTION_PURGE,
}
# What a truncated list shows first: what the collection changes, then what it leaves.
_LISTING_ORDER = {Fate.PURGE: 0, Fate.ARCHIVE: 1, Fate.WAIT: 2, Fate.KEEP: 3}


class RetentionServicer(retention_pb2_grpc.RetentionServiceServicer):
    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    @mapped
    async def PlanGarbageCollection(
        self, request: retention_pb2.PlanGarbageCollectionRequest, context: grpc.aio.ServicerContext
    ) -> retention_pb2.GarbageCollection:  # noqa: N802
        return collection_to_proto(await self.registry.retention.plan())

    @mapped
    async def CollectGarbage(
        self, request: retention_pb2.CollectGarbageRequest, context: grpc.aio.ServicerContext
    ) -> retention_pb2.GarbageCollection:  # noqa: N802
        return collection_to_proto(await self.registry.retention.collect(caller_of(context)))


def collection_to_proto(collection: Collection) -> retention_pb2.GarbageCollection:
    listed = sorted(collection.decisions, key=lambda d: (_LISTING_ORDER[d.fate], d.model, d.number))
    message = retention_pb2.GarbageCollection(
        dry_run=collection.dry_run, artifact_store=collection.store,
        archived=collection.count(Fate.ARCHIVE), purged=collection.count(Fate.PURGE),
        waiting=collection.count(Fate.WAIT), kept=collection.count(Fate.KEEP),
        decisions_not_listed=max(0, len(listed) - LISTED_DECISIONS), blobs=_blobs(collection.blobs),
    )  # fmt: skip
    if (stamp := timestamp(collection.time)) is not None:
        message.time.CopyFrom(stamp)
    for decision in listed[:LISTED_DECISIONS]:
        item = message.decisions.add(version=decision.name, action=_ACTIONS[decision.fate], reason=decision.why,
                                     size_bytes=decision.size)  # fmt: skip
        if (due := timestamp(decision.purge_time)) is not None:
            item.purge_time.CopyFrom(due)
    return message


def _blobs(outcome: BlobOutcome) -> retention_pb2.BlobCollection:
    return retention_pb2.BlobCollection(
        deleted=outcome.deleted, deleted_bytes=outcome.deleted_bytes, freed_by_purge=outcome.freed_by_purge,
        freed_by_purge_bytes=outcome.freed_by_purge_bytes, orphans=outcome.orphans, orphan_bytes=outcome.orphan_bytes,
        recent=outcome.recent, recent_bytes=outcome.recent_bytes, claimed=outcome.claimed,
        claimed_bytes=outcome.claimed_bytes, other_catalogs=outcome.other_catalogs, shared=outcome.shared,
        shared_bytes=outcome.shared_bytes,
    )  # fmt: skip
