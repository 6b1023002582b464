"""The Watch follower: resumes from the last revision, resyncs when it must, reports the connection."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from studbook.client.errors import StudbookError
from studbook.tui.live import ConnectionState, Follower, backoff_delay, state_after
from studbook.v1 import events_pb2

DOWN = StudbookError("UNAVAILABLE", "UNAVAILABLE", "no studbook daemon answers")


def event(revision: int) -> events_pb2.WatchResponse:
    return events_pb2.WatchResponse(event=events_pb2.Event(revision=revision, type="version.created"))


class FakeDaemon:
    """Answers health and Watch from a script: each connection gets the next list (an error ends it)."""

    def __init__(self, *connections: list[object]) -> None:
        self.connections = list(connections)
        self.starts: list[int] = []
        self.healthy = True

    async def health(self, service: str = "") -> str:
        if not self.connections or self.connections[0] == [DOWN]:
            if self.connections:
                self.connections.pop(0)
            raise DOWN
        return "SERVING"

    async def watch(
        self, start_revision: int = -1, *, filter: str = "", bookmark_interval: int | None = None
    ) -> AsyncIterator[events_pb2.WatchResponse]:
        self.starts.append(start_revision)
        for item in self.connections.pop(0):
            if isinstance(item, StudbookError):
                raise item
            yield item  # type: ignore[misc]


def follow(
    daemon: FakeDaemon, attempts: int, start_revision: int | None = None
) -> tuple[list[int], list[ConnectionState], int]:
    seen: list[int] = []
    states: list[ConnectionState] = []
    resyncs = []

    async def no_wait(seconds: float) -> None:
        pass

    follower = Follower(
        daemon,
        on_event=lambda e: seen.append(e.revision),
        on_state=lambda state, detail: states.append(state),
        on_resync=lambda: resyncs.append(1),
        sleep=no_wait,
        start_revision=start_revision,
    )
    asyncio.run(follower.run(attempts))
    return seen, states, len(resyncs)


def test_a_reconnect_resumes_after_the_last_revision_seen() -> None:
    daemon = FakeDaemon([event(5), event(6), DOWN], [event(7)])

    seen, states, resyncs = follow(daemon, attempts=2)

    assert daemon.starts == [-1, 6]
    assert seen == [5, 6, 7]
    assert states[:3] == [ConnectionState.CONNECTING, ConnectionState.CONNECTED, ConnectionState.RECONNECTING]
    # Screens re-read once the first stream, started without a revision, has said where it
    # stands, and again after the reconnect, for what may have gone stale while away.
    assert resyncs == 2


def test_a_stream_started_without_a_revision_asks_for_a_re_read_only_once_it_has_answered() -> None:
    """A re-read begun before the stream is open could miss a commit made between the two."""
    log: list[str] = []
    bookmark = events_pb2.WatchResponse(bookmark=8)

    class Recording(FakeDaemon):
        async def watch(self, start_revision=-1, *, filter="", bookmark_interval=None):  # type: ignore[no-untyped-def]
            log.append(f"watch from {start_revision}")
            async for response in super().watch(start_revision, bookmark_interval=bookmark_interval):
                log.append("answer")
                yield response

    async def no_wait(seconds: float) -> None:
        pass

    follower = Follower(Recording([bookmark, event(9)]), on_event=lambda e: log.append(f"event {e.revision}"),
                        on_state=lambda state, detail: None, on_resync=lambda: log.append("re-read"), sleep=no_wait)  # fmt: skip
    asyncio.run(follower.run(1))

    assert log == ["watch from -1", "answer", "re-read", "answer", "event 9"]


def test_a_bookmark_is_a_revision_to_resume_from() -> None:
    daemon = FakeDaemon([events_pb2.WatchResponse(bookmark=41), DOWN], [])

    follow(daemon, attempts=2)

    assert daemon.starts == [-1, 41]


def test_a_follower_given_the_revision_of_the_rows_shown_starts_right_after_it() -> None:
    daemon = FakeDaemon([event(13), event(14), DOWN], [event(15)])

    seen, _, resyncs = follow(daemon, attempts=2, start_revision=12)

    assert daemon.starts == [12, 14]
    assert seen == [13, 14, 15]
    # Nothing was missed before the first stream (it replays from the rows' revision): only the
    # reconnect asks screens to re-read.
    assert resyncs == 1


def test_compacted_history_means_starting_live_and_resyncing() -> None:
    compacted = StudbookError("OUT_OF_RANGE", "REVISION_COMPACTED", "gone")
    daemon = FakeDaemon([event(3), DOWN], [compacted], [event(9)])

    seen, _, resyncs = follow(daemon, attempts=3)

    assert daemon.starts == [-1, 3, -1]
    assert seen == [3, 9]
    # The first stream's first answer, the reconnect, and the stream started afresh at 9.
    assert resyncs == 3


def test_repeated_failures_turn_reconnecting_into_offline() -> None:
    daemon = FakeDaemon([DOWN], [DOWN], [DOWN], [DOWN], [DOWN])

    _, states, _ = follow(daemon, attempts=5)

    assert states[1:4] == [ConnectionState.RECONNECTING] * 3
    assert states[4:] == [ConnectionState.OFFLINE] * 2


def test_backoff_doubles_up_to_a_cap() -> None:
    exact = [backoff_delay(n, jitter=lambda low, high: 1.0) for n in range(1, 10)]

    assert exact[:4] == [0.25, 0.5, 1.0, 2.0]
    assert max(exact) == 8.0
    assert state_after(1) is ConnectionState.RECONNECTING
