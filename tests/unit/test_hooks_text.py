"""Webhooks in a terminal: event lines of hook changes, the list, the status block."""

from __future__ import annotations

from studbook.cli import views
from studbook.cli.hooks_text import hooks_table, status_lines
from studbook.cli.output import PLAIN
from studbook.v1 import events_pb2, hooks_pb2


def test_hook_events_say_where_the_hook_points_or_why_it_was_paused() -> None:
    added = events_pb2.Event(revision=5, type="hook.added", subject="ci", actor="ana",
                             hook=hooks_pb2.Hook(name="ci", url="http://ci.example.com/hook"))  # fmt: skip
    paused = events_pb2.Event(revision=9, type="hook.paused", subject="ci", actor="hooks",
                              hook=hooks_pb2.Hook(name="ci", url="http://ci.example.com/hook", paused=True,
                                                  pause_reason="20 failed attempts in a row"))  # fmt: skip

    assert views.event_line(added).split() == ["#5", "hook.added", "ci", "http://ci.example.com/hook", "by", "ana"]
    assert "20 failed attempts in a row" in views.event_line(paused)
    assert "http://ci.example.com/hook" not in views.event_line(paused)


def test_the_list_shows_each_hook_state_and_escapes_what_the_daemon_sent() -> None:
    hooks = [
        hooks_pb2.Hook(name="ci", url="http://a/", events=["promotion.*"], delivered_revision=12),
        hooks_pb2.Hook(name="chat", url="http://b/\x1b[2J", events=["*"], model_pattern="fraud-*", failures=2),
        hooks_pb2.Hook(name="old", url="http://c/", events=["*"], paused=True),
    ]
    lines = hooks_table(hooks, PLAIN).splitlines()
    assert lines[0].split() == ["NAME", "URL", "EVENTS", "MODELS", "DELIVERED", "STATE"]
    assert lines[1].split() == ["ci", "http://a/", "promotion.*", "*", "12", "active"]
    assert "retrying (2 failed)" in lines[2] and "\x1b" not in lines[2]
    assert lines[3].split()[-1] == "paused"


def test_status_names_each_paused_hook_and_how_to_resume_it() -> None:
    healthy = hooks_pb2.HookStatus(hooks=2, delivering=True)
    elsewhere = hooks_pb2.HookStatus(hooks=2, delivering=False)
    paused = hooks_pb2.HookStatus(hooks=1, delivering=True,
                                  paused=[hooks_pb2.PausedHook(name="ci", reason="down", next_revision=40)])  # fmt: skip
    assert status_lines(healthy, PLAIN) == "2 hooks, none paused"
    assert "delivered by another daemon" in status_lines(elsewhere, PLAIN)
    assert status_lines(paused, PLAIN).splitlines() == [
        "1 hook, 1 paused:",
        "ci: down",
        "  resume with `studbook hooks replay ci --from 40`",
    ]
