"""Watch: replay from a revision, follow live, bookmarks, and compaction errors."""

from __future__ import annotations

import threading

import grpc
import pytest
from studbook.v1 import events_pb2
from support.rpc import error_info, register, stubs


def collect(stream, count):
    events = []
    for response in stream:
        if response.HasField("event"):
            events.append(response.event)
            if len(events) == count:
                break
    return events


def test_watch_replays_history_then_follows_live(daemon):
    with daemon.channel() as channel:
        api = stubs(channel)
        register(api, "fraud")
        stream = api.events.Watch(events_pb2.WatchRequest(start_revision=0), timeout=20)
        replayed = collect(stream, 2)
        writer = threading.Timer(0.2, lambda: register(api, "fraud", storage_uri="s3://b/2"))
        writer.start()
        live = collect(stream, 1)
        writer.join()
        stream.cancel()

    assert [e.type for e in replayed] == ["model.created", "version.created"]
    assert live[0].type == "version.created" and live[0].version.number == 2
    assert [e.revision for e in replayed + live] == [1, 2, 3]


def test_a_reconnecting_watcher_misses_nothing(daemon):
    with daemon.channel() as channel:
        api = stubs(channel)
        register(api, "fraud")
        first = collect(api.events.Watch(events_pb2.WatchRequest(), timeout=20), 2)
        register(api, "fraud", storage_uri="s3://b/2")
        register(api, "fraud", storage_uri="s3://b/3")
        resumed = collect(api.events.Watch(events_pb2.WatchRequest(start_revision=first[-1].revision), timeout=20), 2)

    assert [e.version.number for e in resumed] == [2, 3]


def test_watch_filters_events_by_model_and_type(daemon):
    with daemon.channel() as channel:
        api = stubs(channel)
        register(api, "ads")
        register(api, "fraud")
        events = collect(
            api.events.Watch(events_pb2.WatchRequest(filter='model = "fraud" AND type = "version.*"'), timeout=20), 1
        )

    assert events[0].subject == "models/fraud/versions/1"


def test_an_idle_watch_sends_bookmarks(daemon):
    with daemon.channel() as channel:
        api = stubs(channel)
        register(api, "fraud")
        stream = api.events.Watch(events_pb2.WatchRequest(start_revision=-1, bookmark_interval_seconds=1), timeout=20)
        first = next(iter(stream))
        stream.cancel()

    assert first.WhichOneof("kind") == "bookmark"
    assert first.bookmark == 2


def test_a_revision_ahead_of_the_registry_is_out_of_range(daemon):
    with daemon.channel() as channel:
        api = stubs(channel)
        with pytest.raises(grpc.RpcError) as raised:
            next(iter(api.events.Watch(events_pb2.WatchRequest(start_revision=99), timeout=20)))

    assert raised.value.code() == grpc.StatusCode.OUT_OF_RANGE
    assert error_info(raised.value).reason == "REVISION_AHEAD"
