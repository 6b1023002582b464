"""Each daemon on a shared PostgreSQL catalog follows the others' commits: its read cache and
its Watch streams show what another daemon changed, without a restart.

Visibility is eventual (a notification, then a read of the events table): the tests wait for
it with a generous deadline and never assert on how long it took.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from conftest import start_daemon, stop_daemon
from studbook.v1 import access_pb2, access_pb2_grpc, events_pb2, registry_pb2, resources_pb2, stages_pb2
from support.postgres import PostgresDatabase
from support.rpc import Stubs, register, stubs
from support.waiting import wait_for

VISIBLE = 30.0  # generous: a notification is normally followed within milliseconds


@pytest.fixture
def pair(short_dir: Path, postgres_catalog: PostgresDatabase) -> Iterator[tuple[Stubs, Stubs]]:
    daemons = [start_daemon(short_dir / f"{n}-data", short_dir / f"{n}.sock", "--catalog", postgres_catalog.url)
               for n in ("a", "b")]  # fmt: skip
    channels = [d.channel() for d in daemons]
    yield stubs(channels[0]), stubs(channels[1])
    for channel in channels:
        channel.close()
    for daemon in daemons:
        stop_daemon(daemon)


def get_version(api: Stubs, name: str) -> resources_pb2.ModelVersion:
    return api.versions.GetModelVersion(registry_pb2.GetModelVersionRequest(name=name), timeout=10)


def test_a_change_through_one_daemon_reaches_the_other_daemons_cached_reads(pair: tuple[Stubs, Stubs]) -> None:
    a, b = pair
    a.models.CreateModel(registry_pb2.CreateModelRequest(model_id="fraud"))
    created = register(a, "fraud", description="first")
    # B reads it (the model appears once B follows A's commit), and so caches the record.
    seen = wait_for(lambda: _or_none(lambda: get_version(b, created.name)), "B to serve A's new version", VISIBLE)
    assert seen.description == "first"

    a.versions.UpdateModelVersion(registry_pb2.UpdateModelVersionRequest(
        version=resources_pb2.ModelVersion(name=created.name, description="second"),
        update_mask={"paths": ["description"]}))  # fmt: skip
    a.stages.PromoteModelVersion(stages_pb2.PromoteModelVersionRequest(name=created.name, target="production",
                                                                       reason="good"))  # fmt: skip

    updated = wait_for(lambda: (v := get_version(b, created.name)).description == "second" and v, "B's cache to "
                       "drop the record A changed", VISIBLE)  # fmt: skip
    model = wait_for(lambda: (m := b.models.GetModel(registry_pb2.GetModelRequest(name="models/fraud")))
                     .stage_holders.get("production") and m, "B to see A's promotion", VISIBLE)  # fmt: skip
    assert updated.etag == get_version(a, created.name).etag
    assert model.stage_holders["production"] == created.name
    # B writes on what it follows: the next number, not one A already gave out.
    assert register(b, "fraud", description="from b").name == "models/fraud/versions/2"


def _or_none(read):  # type: ignore[no-untyped-def]
    try:
        return read()
    except grpc.RpcError as error:
        if error.code() == grpc.StatusCode.NOT_FOUND:
            return None
        raise


def test_watch_on_one_daemon_streams_every_commit_of_both_in_revision_order(pair: tuple[Stubs, Stubs]) -> None:
    a, b = pair
    a.models.CreateModel(registry_pb2.CreateModelRequest(model_id="churn"))
    wait_for(lambda: _or_none(lambda: b.models.GetModel(registry_pb2.GetModelRequest(name="models/churn"))),
             "B to follow the model's creation", VISIBLE)  # fmt: skip
    # From the start: the model's creation is replayed from the log, the rest comes live.
    stream = b.events.Watch(events_pb2.WatchRequest(start_revision=0, bookmark_interval_seconds=0), timeout=VISIBLE)
    got: list[events_pb2.Event] = []
    expected = 25

    def read() -> None:
        for reply in stream:
            if reply.WhichOneof("kind") == "event":
                got.append(reply.event)
                if len(got) == expected:
                    return

    reader = threading.Thread(target=read)
    reader.start()
    writers = [threading.Thread(target=lambda api=api: [register(api, "churn", description=f"{i}")
                                                          for i in range(expected // 2)]) for api in pair]  # fmt: skip
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    reader.join(VISIBLE)
    stream.cancel()

    revisions = [event.revision for event in got]
    assert len(revisions) == expected, f"B's Watch streamed {len(revisions)} of {expected} events"
    assert revisions == list(range(1, expected + 1)), "in revision order, none missing"
    assert [event.type for event in got].count("version.created") == expected - 1


def test_a_token_created_or_revoked_through_one_daemon_is_honoured_by_the_other(pair: tuple[Stubs, Stubs],
                                                                                 short_dir: Path) -> None:  # fmt: skip
    a_channel, b_channel = (grpc.insecure_channel(f"unix://{short_dir / f'{n}.sock'}") for n in "ab")
    a_access, b_access = access_pb2_grpc.AccessServiceStub(a_channel), access_pb2_grpc.AccessServiceStub(b_channel)
    secret = a_access.CreateToken(
        access_pb2.CreateTokenRequest(display_name="ci", role=access_pb2.ROLE_CONTRIBUTOR)
    ).secret
    bearer = (("authorization", f"Bearer {secret}"),)

    def caller_on_b() -> str | None:
        try:
            return b_access.GetCaller(access_pb2.GetCallerRequest(), metadata=bearer, timeout=10).actor
        except grpc.RpcError as error:
            return None if error.code() == grpc.StatusCode.UNAUTHENTICATED else error.code().name

    actor = wait_for(caller_on_b, "B to accept the token A created", VISIBLE)
    a_access.RevokeToken(access_pb2.RevokeTokenRequest(name="ci"))
    wait_for(lambda: caller_on_b() is None, "B to refuse the token A revoked", VISIBLE)
    a_channel.close()
    b_channel.close()

    assert actor == "ci"
