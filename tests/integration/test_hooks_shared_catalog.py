"""Webhooks on a PostgreSQL catalog shared by two daemons: one delivers (the other runs with
--no-hook-delivery), and hooks are managed through either."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import Daemon, start_daemon, stop_daemon
from studbook.v1 import hooks_pb2, hooks_pb2_grpc
from support.postgres import PostgresDatabase
from support.receiver import Receiver
from support.rpc import register, stubs
from support.waiting import wait_for

SECRET = "a-secret-of-at-least-16-chars"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    started = Receiver().start()
    yield started
    started.stop()


@pytest.fixture
def delivering_and_not(short_dir: Path, postgres_catalog: PostgresDatabase) -> Iterator[tuple[Daemon, Daemon]]:
    delivering = start_daemon(short_dir / "a-data", short_dir / "a.sock", "--catalog", postgres_catalog.url)
    quiet = start_daemon(short_dir / "b-data", short_dir / "b.sock", "--catalog", postgres_catalog.url,
                         "--no-hook-delivery")  # fmt: skip
    yield delivering, quiet
    for daemon in (delivering, quiet):
        stop_daemon(daemon)


def test_a_hook_added_through_either_daemon_is_delivered_once_by_the_delivering_one(
    delivering_and_not: tuple[Daemon, Daemon], receiver: Receiver
) -> None:
    delivering, quiet = delivering_and_not
    with quiet.channel() as channel:
        hooks = hooks_pb2_grpc.HookServiceStub(channel)
        hooks.AddHook(hooks_pb2.AddHookRequest(url=receiver.url, events=["version.registered"], secret=SECRET,
                                               name="ci"))  # fmt: skip
        s = stubs(channel)
        for _ in range(3):
            register(s, "fraud")
        got = receiver.wait_for(lambda r: len(r) >= 3)
        # As stored, so the daemon that does not deliver still says where the hook stands.
        wait_for(lambda: hooks.ListHooks(hooks_pb2.ListHooksRequest()).hooks[0].delivered_revision
                 == int(got[-1].headers["X-Studbook-Revision"]), "the stored cursor at the last delivery")  # fmt: skip
        hooks.RemoveHook(hooks_pb2.RemoveHookRequest(name="ci"))
    with delivering.channel() as channel:
        wait_for(lambda: not hooks_pb2_grpc.HookServiceStub(channel).GetHookStatus(
            hooks_pb2.GetHookStatusRequest()).hooks, "the removal followed by the delivering daemon")  # fmt: skip
        register(stubs(channel), "fraud")
        register(stubs(channel), "fraud")
    assert [r.json["resource"]["version"]["number"] for r in receiver.accepted()] == ["1", "2", "3"]
