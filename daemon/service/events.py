"""Watch: replay the event log after a revision, then follow live, with bookmarks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc
from studbook.daemon.app.registry import Registry
from studbook.daemon.domain.errors import InvalidArgument, OutOfRange
from studbook.daemon.domain.event_filter import matches, parse_event_filter
from studbook.daemon.domain.model import Event
from studbook.daemon.service import convert
from studbook.daemon.service.errors import mapped_stream
from studbook.v1 import events_pb2, events_pb2_grpc

REPLAY_BATCH = 1_000
DEFAULT_BOOKMARK_SECONDS = 15


class EventServicer(events_pb2_grpc.EventServiceServicer):
    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    @mapped_stream
    async def Watch(
        self, request: events_pb2.WatchRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[events_pb2.WatchResponse]:  # noqa: N802
        core = self.registry.core
        expr = parse_event_filter(request.filter)
        if request.bookmark_interval_seconds < 0:
            raise InvalidArgument("bookmark_interval_seconds must not be negative", reason="INVALID_ARGUMENT",
                                  field="bookmark_interval_seconds")  # fmt: skip
        interval = request.bookmark_interval_seconds or DEFAULT_BOOKMARK_SECONDS
        current = core.cache.revision
        start = current if request.start_revision == -1 else request.start_revision
        if start < -1:
            raise InvalidArgument("start_revision must be -1, 0 or a revision", reason="INVALID_ARGUMENT",
                                  field="start_revision")  # fmt: skip
        oldest = await core.read(core.catalog.min_revision)
        if oldest and start < oldest - 1:
            raise OutOfRange(
                f"revisions up to {oldest - 1} are compacted; start from {oldest - 1} or later and re-read state",
                reason="REVISION_COMPACTED",
                oldest_revision=oldest,
            )
        if start > current and core.following:
            # Another daemon on the shared catalog may have committed it, not yet followed here.
            found = await core.read(core.catalog.events_after, start - 1, 1)
            current = max(current, found[0].revision if found else current)
        if start > current:
            raise OutOfRange(
                f"revision {start} is ahead of this registry ({current}); it may have been restored from a "
                "backup - re-read state and watch from -1",
                reason="REVISION_AHEAD",
                current_revision=current,
            )
        last = start
        while True:
            subscription = core.hub.subscribe()
            try:
                # Subscribe first, then replay: whatever commits meanwhile is in one or both, never neither.
                async for event in self._replay(last):
                    last = event.revision
                    if matches(expr, event):
                        yield _event(event)
                # Caught up: say so at once, so a client knows the revision it stands at.
                yield events_pb2.WatchResponse(bookmark=last)
                while not subscription.overflowed or not subscription.queue.empty():
                    try:
                        # Not asyncio.wait_for, which in Python 3.11 may swallow the stream's
                        # cancellation (see app/waiting.py); then the stream would never end.
                        async with asyncio.timeout(interval if interval else None):
                            event = await subscription.queue.get()
                    except TimeoutError:
                        # Only what this stream delivered: a newer commit may still be on its way.
                        yield events_pb2.WatchResponse(bookmark=last)
                        continue
                    if event.revision <= last:
                        continue
                    if event.revision > last + 1:
                        break  # a gap: fall back to the log
                    last = event.revision
                    if matches(expr, event):
                        yield _event(event)
            finally:
                core.hub.unsubscribe(subscription)

    async def _replay(self, after: int) -> AsyncIterator[Event]:
        core = self.registry.core
        while True:
            batch = await core.read(core.catalog.events_after, after, REPLAY_BATCH)
            for event in batch:
                yield event
            if len(batch) < REPLAY_BATCH:
                return
            after = batch[-1].revision


def _event(event: Event) -> events_pb2.WatchResponse:
    return events_pb2.WatchResponse(event=convert.event_to_proto(event))
