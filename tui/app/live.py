"""Follow the registry's event log for the UI: resume from the last revision, back off, report state.

Free of Textual, so the reconnect rules can be tested with a fake client.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from enum import Enum
from typing import TYPE_CHECKING, Protocol

from studbook.client.errors import StudbookError

if TYPE_CHECKING:
    from studbook.v1 import events_pb2

# Idle seconds before the daemon sends a bookmark. Short, because a bookmark is also how
# a fresh stream learns the current revision (the stream says nothing until then).
BOOKMARK_SECONDS = 2
# Failed attempts shown as "reconnecting" before the state turns "offline".
RECONNECTING_ATTEMPTS = 3
BACKOFF_BASE = 0.25
BACKOFF_CAP = 8.0
# The daemon cannot replay from the revision asked for: state must be read afresh.
RESYNC_REASONS = frozenset({"REVISION_COMPACTED", "REVISION_AHEAD"})


class ConnectionState(str, Enum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    OFFLINE = "offline"


class WatchClient(Protocol):
    async def health(self, service: str = "") -> str: ...

    def watch(
        self, start_revision: int = -1, *, filter: str = "", bookmark_interval: int | None = None
    ) -> AsyncIterator[events_pb2.WatchResponse]: ...


def backoff_delay(failures: int, *, jitter: Callable[[float, float], float] = random.uniform) -> float:
    """Seconds to wait after `failures` failed attempts in a row: 0.25, 0.5, 1, 2 ... capped at 8, jittered."""
    delay = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** max(0, failures - 1))
    return delay * jitter(0.8, 1.2)


def state_after(failures: int) -> ConnectionState:
    return ConnectionState.RECONNECTING if failures <= RECONNECTING_ATTEMPTS else ConnectionState.OFFLINE


class Follower:
    """Runs the Watch stream forever; the UI hears about events, state changes and resyncs.

    `on_event(event)` gets every event once, in revision order. `on_resync()` means events
    may have been missed (a reconnect, or a stream started without a known revision, once it
    has answered): re-read whatever is shown. `on_state(state, detail)` reports the connection.

    `start_revision`: the revision of what is shown already (a listing's), so that the stream
    starts right after it and a change committed before the stream opened is not missed; None
    starts at the daemon's current revision.
    """

    def __init__(
        self,
        client: WatchClient,
        *,
        on_event: Callable[[events_pb2.Event], None],
        on_state: Callable[[ConnectionState, str], None],
        on_resync: Callable[[], None],
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        start_revision: int | None = None,
    ) -> None:
        self.client = client
        self.on_event = on_event
        self.on_state = on_state
        self.on_resync = on_resync
        self.sleep = sleep
        # Last revision seen (or the one started from); None until the first event or bookmark.
        self.revision: int | None = start_revision
        self.failures = 0

    async def run(self, attempts: int | None = None) -> None:
        """Follow until cancelled (or after `attempts` connections, for tests)."""
        self.on_state(ConnectionState.CONNECTING, "")
        while attempts is None or attempts > 0:
            if attempts is not None:
                attempts -= 1
            try:
                await self._follow()
                error = "the daemon closed the event stream"
            except StudbookError as failure:
                if failure.reason in RESYNC_REASONS:
                    self.revision = None
                    continue
                error = failure.message
            self.failures += 1
            self.on_state(state_after(self.failures), error)
            await self.sleep(backoff_delay(self.failures))

    async def _follow(self) -> None:
        await self.client.health()
        # Without a revision the stream starts at the daemon's current one, unknown until its
        # first answer: whatever screens read before then may lack a change committed before the
        # stream began. Once the stream has answered it delivers every later change, so a re-read
        # begun then misses nothing (re-read before it, a commit in between could be lost).
        live_only = self.revision is None
        # Screens loaded while the daemon was away show errors or stale rows: reload them.
        # The replay below still delivers every event after the last revision, in order.
        missed = self.failures > 0 and not live_only
        self.failures = 0
        self.on_state(ConnectionState.CONNECTED, "")
        if missed:
            self.on_resync()
        start = -1 if self.revision is None else self.revision
        async for response in self.client.watch(start, bookmark_interval=BOOKMARK_SECONDS):
            if live_only:
                live_only = False
                self.on_resync()
            if response.HasField("event"):
                self.revision = response.event.revision
                self.on_event(response.event)
            else:
                self.revision = response.bookmark
