"""Webhooks through a real daemon and a real HTTP receiver on loopback: what arrives, in which
order, signed how; a receiver down, a daemon restarted, a slow receiver, a hook paused."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from conftest import stop_daemon
from studbook.v1 import events_pb2, hooks_pb2, hooks_pb2_grpc
from support.receiver import Received, Receiver
from support.rpc import error_info, register, stubs

README = Path(__file__).parents[2] / "README.md"
SECRET = "a-secret-of-at-least-16-chars"
FAST = ("--hook-backoff", "0.05", "--hook-backoff-max", "0.2")


def readme_verify() -> Callable[..., bool]:
    """The verification snippet of the README's Webhooks section, as a user would paste it."""
    section = README.read_text().split("## Webhooks", 1)[1].split("\n## ", 1)[0]
    (code,) = re.findall(r"```python\n(.*?)```", section, re.S)
    scope: dict[str, Any] = {}
    exec(code, scope)  # noqa: S102 - the README's own code is what is under test
    return scope["verify"]  # type: ignore[no-any-return]


@pytest.fixture
def other_receiver() -> Iterator[Receiver]:
    started = Receiver().start()
    yield started
    started.stop()


def hooks(channel: grpc.Channel) -> hooks_pb2_grpc.HookServiceStub:
    return hooks_pb2_grpc.HookServiceStub(channel)


def add(channel: grpc.Channel, url: str, events: str = "version.registered", **fields: Any) -> hooks_pb2.Hook:
    fields.setdefault("secret", SECRET)
    return hooks(channel).AddHook(hooks_pb2.AddHookRequest(url=url, events=[events], **fields)).hook


def revisions(received: list[Received]) -> list[int]:
    return [int(r.headers["X-Studbook-Revision"]) for r in received]


def deliveries(channel: grpc.Channel, name: str) -> list[hooks_pb2.HookDelivery]:
    return list(hooks(channel).ListDeliveries(hooks_pb2.ListDeliveriesRequest(name=name)).deliveries)


def wait_until(ready: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        assert time.monotonic() < deadline, "the awaited state did not come"
        time.sleep(0.02)


def test_matching_events_arrive_in_order_signed_as_the_readme_verifies(daemon, receiver: Receiver) -> None:  # type: ignore[no-untyped-def]
    with daemon.channel() as channel:
        hook = add(channel, receiver.url, "version.registered,promotion.*", model_pattern="fraud-*", name="ci")
        s = stubs(channel)
        for model in ("fraud-a", "churn", "fraud-a", "fraud-b"):
            register(s, model)
        got = receiver.wait_for(lambda r: len(r) == 3)
    verify = readme_verify()
    assert all(verify(SECRET, r.headers, r.body) for r in got)
    assert not verify("another-secret-16-chars", got[0].headers, got[0].body)
    assert not verify(SECRET, got[0].headers, got[0].body + b" ")
    assert revisions(got) == sorted(revisions(got)) and min(revisions(got)) > hook.delivered_revision
    assert [(r.json["type"], r.json["model"], r.json["resource"]["version"]["name"]) for r in got] == [
        ("version.created", "fraud-a", "models/fraud-a/versions/1"),
        ("version.created", "fraud-a", "models/fraud-a/versions/2"),
        ("version.created", "fraud-b", "models/fraud-b/versions/1"),
    ]
    assert {r.headers["X-Studbook-Event"] for r in got} == {"version.created"}
    assert [int(r.json["revision"]) for r in got] == revisions(got)


def test_a_secret_is_never_returned_and_a_made_one_is_shown_once(daemon, receiver: Receiver) -> None:  # type: ignore[no-untyped-def]
    with daemon.channel() as channel:
        given = add(channel, receiver.url, name="given")
        made = hooks(channel).AddHook(hooks_pb2.AddHookRequest(url=receiver.url, events=["*"], name="made"))
        listed = hooks(channel).ListHooks(hooks_pb2.ListHooksRequest())
    assert made.secret.startswith("whsec_") and len(made.secret) > 30
    assert given.name == "given" and list(given.events) == ["version.registered"]
    wire = listed.SerializeToString()
    assert SECRET.encode() not in wire and made.secret.encode() not in wire
    assert [h.name for h in listed.hooks] == ["given", "made"]


def test_a_receiver_down_gets_everything_once_it_is_back(daemon_factory, receiver: Receiver) -> None:  # type: ignore[no-untyped-def]
    daemon = daemon_factory(*FAST, "--hook-max-failures", "1000")
    with daemon.channel() as channel:
        add(channel, receiver.url, name="ci")
        receiver.stop()
        s = stubs(channel)
        for _ in range(3):
            register(s, "fraud")
        wait_until(lambda: sum(d.status_code == 0 for d in deliveries(channel, "ci")) >= 3)
        receiver.start()
        got = receiver.wait_for(lambda r: len(r) >= 3)
        failed = [d for d in deliveries(channel, "ci") if d.status_code == 0]
    assert [r.json["resource"]["version"]["number"] for r in got] == ["1", "2", "3"]  # int64 as proto3 JSON spells it
    assert failed and all(d.error for d in failed) and max(d.attempt for d in failed) >= 3


def test_a_daemon_restarted_mid_retry_loses_nothing(daemon_factory, receiver: Receiver) -> None:  # type: ignore[no-untyped-def]
    first = daemon_factory(*FAST, "--hook-max-failures", "1000")
    receiver.status = 503
    with first.channel() as channel:
        add(channel, receiver.url, name="ci")
        s = stubs(channel)
        register(s, "fraud")
        register(s, "fraud")
        wait_until(lambda: any(d.status_code == 503 for d in deliveries(channel, "ci")))
    first.kill()
    receiver.status = 200
    second = daemon_factory(*FAST)
    got = receiver.wait_for(lambda r: len(r) >= 2)
    with second.channel() as channel:
        listed = hooks(channel).ListHooks(hooks_pb2.ListHooksRequest()).hooks
        wait_until(lambda: hooks(channel).ListHooks(hooks_pb2.ListHooksRequest()).hooks[0].failures == 0)
    assert [r.json["resource"]["version"]["number"] for r in got] == ["1", "2"]
    assert listed[0].name == "ci"


def test_a_slow_receiver_delays_no_other_hook(daemon, receiver: Receiver, other_receiver: Receiver) -> None:  # type: ignore[no-untyped-def]
    receiver.delay = 30.0  # answers long after the other hook got everything
    with daemon.channel() as channel:
        add(channel, receiver.url, name="slow")
        add(channel, other_receiver.url, name="fast")
        s = stubs(channel)
        for _ in range(3):
            register(s, "fraud")
        other_receiver.wait_for(lambda r: len(r) == 3)
    assert receiver.accepted() == []


def test_a_hook_that_keeps_failing_is_paused_shown_in_status_and_resumed_by_replay(daemon_factory,  # type: ignore[no-untyped-def]
                                                                                  receiver: Receiver) -> None:  # fmt: skip
    daemon = daemon_factory(*FAST, "--hook-max-failures", "3")
    receiver.status = 500
    with daemon.channel() as channel:
        hook = add(channel, receiver.url, name="ci")
        s = stubs(channel)
        register(s, "fraud")
        wait_until(lambda: len(hooks(channel).GetHookStatus(hooks_pb2.GetHookStatusRequest()).paused) == 1)
        status = hooks(channel).GetHookStatus(hooks_pb2.GetHookStatusRequest())
        register(s, "fraud")
        receiver.status = 200
        replayed = hooks(channel).ReplayHook(
            hooks_pb2.ReplayHookRequest(name="ci", from_revision=hook.delivered_revision + 1)
        )
        got = receiver.wait_for(lambda r: len(r) >= 2)
        failed = [d for d in deliveries(channel, "ci") if d.status_code == 500]
        after = hooks(channel).GetHookStatus(hooks_pb2.GetHookStatusRequest())
    stop_daemon(daemon)
    assert "Unclosed" not in daemon.output()  # the paused task let its connections go
    (paused,) = status.paused
    assert (paused.name, paused.next_revision) == ("ci", failed[0].revision)
    assert "3 failed attempts" in paused.reason and "500" in paused.reason
    assert sorted(d.attempt for d in failed) == [1, 2, 3] and len({d.revision for d in failed}) == 1
    assert not replayed.paused and [r.json["resource"]["version"]["number"] for r in got] == ["1", "2"]
    assert after.hooks == 1 and list(after.paused) == []


def test_a_test_delivery_is_signed_and_recorded(daemon, receiver: Receiver) -> None:  # type: ignore[no-untyped-def]
    with daemon.channel() as channel:
        add(channel, receiver.url, name="ci")
        answer = hooks(channel).TestHook(hooks_pb2.TestHookRequest(name="ci"))
        recorded = deliveries(channel, "ci")
    (got,) = receiver.accepted()
    assert (answer.status_code, answer.event_type, answer.error) == (200, "hook.test", "")
    assert got.headers["X-Studbook-Event"] == "hook.test" and readme_verify()(SECRET, got.headers, got.body)
    assert [(d.event_type, d.status_code) for d in recorded] == [("hook.test", 200)]


@pytest.mark.parametrize(("url", "events", "reason"), [
    ("file:///etc/passwd", "*", "INVALID_HOOK_URL"),
    ("ftp://example.com/x", "*", "INVALID_HOOK_URL"),
    ("http://user:pw@example.com/x", "*", "INVALID_HOOK_URL"),
    ("http://example.com/x", " , ", "INVALID_EVENT_PATTERN"),
])  # fmt: skip
def test_bad_hooks_are_refused_with_a_reason(shared_daemon, url: str, events: str, reason: str) -> None:  # type: ignore[no-untyped-def]
    with shared_daemon.channel() as channel, pytest.raises(grpc.RpcError) as caught:
        add(channel, url, events)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_info(caught.value).reason == reason


def test_removing_a_hook_stops_its_deliveries_and_is_audited(daemon, receiver: Receiver) -> None:  # type: ignore[no-untyped-def]
    with daemon.channel() as channel:
        add(channel, receiver.url, name="ci")
        s = stubs(channel)
        register(s, "fraud")
        receiver.wait_for(lambda r: len(r) == 1)
        hooks(channel).RemoveHook(hooks_pb2.RemoveHookRequest(name="ci"))
        register(s, "fraud")
        with pytest.raises(grpc.RpcError) as caught:
            deliveries(channel, "ci")
        watched = []
        for reply in s.events.Watch(events_pb2.WatchRequest(start_revision=0, filter='type = "hook.removed"')):
            if reply.WhichOneof("kind") == "bookmark":
                break
            watched.append(reply.event)
    assert error_info(caught.value).reason == "HOOK_NOT_FOUND"
    assert [(e.subject, e.hook.url) for e in watched] == [("ci", receiver.url)]
    assert len(receiver.accepted()) == 1
