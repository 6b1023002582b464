"""The `:` command line: what it accepts, what it refuses, and that it never fails any other way."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from studbook.tui.command_line import Command, CommandError, parse_command


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (":models", Command("models")),
        ("m", Command("models")),
        (":versions fraud", Command("versions", ("fraud",))),
        (":v models/fraud", Command("versions", ("fraud",))),
        (":show fraud@3", Command("show", ("fraud@3",))),
        (":show fraud", Command("show", ("fraud@latest",))),
        (":diff fraud@2 fraud/3", Command("diff", ("fraud@2", "fraud@3"))),
        (":diff fraud@2", Command("diff", ("fraud@2",))),
        (":promote fraud@3 production", Command("promote", ("fraud@3", "production"))),
        (":rollback fraud staging", Command("rollback", ("fraud", "staging"))),
        (":approvals", Command("approvals")),
        (":pending", Command("approvals")),
        (":q", Command("quit")),
        ("  :QUIT  ", Command("quit")),
    ],
)
def test_commands_parse_to_a_verb_and_resolved_names(text: str, expected: Command) -> None:
    assert parse_command(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (":", "type a command"),
        (":frobnicate", "unknown command :frobnicate"),
        (":versions", "usage: :versions MODEL"),
        (":diff a@1 b@2 c@3", "usage: :diff VERSION [VERSION]"),
        (":versions fraud@3", "expected a model"),
        (':versions "fraud', "cannot read the command"),
        (":versions a/b/c", "cannot read"),
    ],
)
def test_mistakes_are_explained(text: str, message: str) -> None:
    with pytest.raises(CommandError, match=re.escape(message)):
        parse_command(text)


def test_readonly_refuses_commands_that_change_the_registry() -> None:
    with pytest.raises(CommandError, match="read-only"):
        parse_command(":promote fraud@3 staging", readonly=True)

    assert parse_command(":diff fraud@3", readonly=True) == Command("diff", ("fraud@3",))


@given(st.text(max_size=60))
def test_any_text_parses_or_raises_command_error(text: str) -> None:
    try:
        command = parse_command(text)
    except CommandError as error:
        assert str(error)
    else:
        assert command.verb
