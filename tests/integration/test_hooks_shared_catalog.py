"""Webhooks on a PostgreSQL catalog shared by two daemons: one delivers at a time, whichever
holds the role, each event once; when it stops the other takes over from the stored cursor;
hooks are managed through either."""

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
def two_daemons(short_dir: Path, postgres_catalog: PostgresDatabase) -> Iterator[list[Daemon]]:
    daemons = [start_daemon(short_dir / f"{name}-data", short_dir / f"{name}.sock", "--catalog", postgres_catalog.url)
               for name in "ab"]  # fmt: skip
    yield daemons
    for daemon in daemons:
        if daemon.process.poll() is None:
            stop_daemon(daemon)


def delivering(daemon: Daemon) -> bool:
    with daemon.channel() as channel:
        return hooks_pb2_grpc.HookServiceStub(channel).GetHookStatus(hooks_pb2.GetHookStatusRequest()).delivering


def roles_once_one_leads(daemons: list[Daemon]) -> list[bool] | None:
    roles = [delivering(daemon) for daemon in daemons]
    return roles if any(roles) else None


def numbers(receiver: Receiver) -> list[str]:
    return [r.json["resource"]["version"]["number"] for r in receiver.accepted()]


def test_one_daemon_delivers_each_event_once_and_the_other_takes_over_when_it_stops(
    two_daemons: list[Daemon], receiver: Receiver
) -> None:
    first, second = two_daemons
    with second.channel() as channel:
        hooks_pb2_grpc.HookServiceStub(channel).AddHook(hooks_pb2.AddHookRequest(
            url=receiver.url, events=["version.registered"], secret=SECRET, name="ci"))  # fmt: skip
    roles = wait_for(lambda: roles_once_one_leads(two_daemons), "a daemon to take the delivering role", 30)
    leader, other = (first, second) if roles[0] else (second, first)
    for daemon in (first, second, first):  # writes through both
        with daemon.channel() as channel:
            register(stubs(channel), "fraud")
    receiver.wait_for(lambda got: len(got) >= 3)

    stop_daemon(leader)
    wait_for(lambda: delivering(other), "the other daemon to take the role over", 30)
    with other.channel() as channel:
        register(stubs(channel), "fraud")
    receiver.wait_for(lambda got: len(got) >= 4)

    assert roles.count(True) == 1  # never both
    assert numbers(receiver) == ["1", "2", "3", "4"]  # each once, in order, across the change of hands


def test_a_hook_removed_through_one_daemon_stops_the_deliveries_of_the_other(
    two_daemons: list[Daemon], receiver: Receiver
) -> None:
    with two_daemons[1].channel() as channel:
        hooks = hooks_pb2_grpc.HookServiceStub(channel)
        hooks.AddHook(hooks_pb2.AddHookRequest(url=receiver.url, events=["version.registered"], secret=SECRET,
                                               name="ci"))  # fmt: skip
        s = stubs(channel)
        for _ in range(3):
            register(s, "fraud")
        got = receiver.wait_for(lambda r: len(r) >= 3)
        # As stored, so either daemon says where the hook stands.
        wait_for(lambda: hooks.ListHooks(hooks_pb2.ListHooksRequest()).hooks[0].delivered_revision
                 == int(got[-1].headers["X-Studbook-Revision"]), "the stored cursor at the last delivery")  # fmt: skip
        hooks.RemoveHook(hooks_pb2.RemoveHookRequest(name="ci"))
    for daemon in two_daemons:
        with daemon.channel() as channel:
            wait_for(lambda c=channel: not hooks_pb2_grpc.HookServiceStub(c).GetHookStatus(
                hooks_pb2.GetHookStatusRequest()).hooks, "the removal followed by both daemons")  # fmt: skip
            register(stubs(channel), "fraud")

    assert numbers(receiver) == ["1", "2", "3"]
