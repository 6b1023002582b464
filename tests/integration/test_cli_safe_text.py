"""What users wrote is printed escaped: no escape sequence, bidi override or other
invisible character a user stored reaches the terminal raw, while --json stays exact."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import pytest
from studbook.cli import commands as cli
from support.cli import Result, runner

HYPERLINK = "\x1b]8;;https://evil.example/\x07click\x1b]8;;\x07"
CLEAR = "\x1b[2J"
RTL = "\u202egnp.exe"
HOSTILE = f"{HYPERLINK} {CLEAR} {RTL} \x9b1m"
RAW = ("\x1b", "\x07", "\u202e", "\x9b")


@pytest.fixture
def run(shared_daemon: Any, capsys: pytest.CaptureFixture[str]) -> Any:
    return runner(shared_daemon.address, capsys)


def shows_no_raw_control(result: Result) -> None:
    for text in (result.out, result.err):
        assert not any(ch in text for ch in RAW), repr(text[:400])


def test_show_history_and_diff_print_hostile_text_escaped_and_json_keeps_it(run: Any, tmp_path: Path) -> None:
    model = f"safe-{uuid.uuid4().hex[:8]}"
    card = tmp_path / "card.md"
    card.write_text(f"# Card\n\n{HOSTILE}\n")
    for number in (1, 2):
        registered = run("register", model, "--uri", f"s3://bucket/{model}/{number}", "--no-env",
                         "--description", f"v{number} {HOSTILE}", "--tag", f"team=risk {HOSTILE}",
                         "--param", f"lr=0.{number} {CLEAR}", "--metric", f"auc=0.9{number}",
                         "--model-card", str(card) if number == 1 else os.devnull)  # fmt: skip
        assert registered.code == cli.EXIT_OK, registered.err
    promoted = run("promote", f"{model}@1", "staging", "--reason", f"because {HOSTILE}")
    assert promoted.code == cli.EXIT_OK, promoted.err

    results = {
        "show": run("show", f"{model}@1"),
        "history": run("history", model),
        "diff": run("diff", f"{model}@1", f"{model}@2"),
        "versions": run("versions", model),
        "promote": promoted,
    }
    as_json = run("show", f"{model}@1", "--json")

    for name, result in results.items():
        assert result.code == cli.EXIT_OK, (name, result.err)
        shows_no_raw_control(result)
    assert "\\x1b]8;;https://evil.example/\\x07click" in results["show"].out
    assert "\\x1b[2J" in results["show"].out and "\\u202egnp.exe" in results["show"].out
    assert "# Card" in results["show"].out  # the card keeps its lines
    assert "because \\x1b]8;;" in results["history"].out
    assert "\\x1b[2J" in results["diff"].out
    shown = as_json.json()
    assert shown["description"] == f"v1 {HOSTILE}" and shown["tags"]["team"] == f"risk {HOSTILE}"
    assert "\\u001b" in as_json.out  # JSON escapes control characters itself


def test_errors_echoing_hostile_input_print_it_escaped(run: Any) -> None:
    refused = run("show", f"no-such-model{CLEAR}\u202e")
    unknown = run("show", "x", f"--bogus{CLEAR}{RTL}")

    assert refused.code == cli.EXIT_INVALID and unknown.code == cli.EXIT_USAGE
    shows_no_raw_control(refused)
    shows_no_raw_control(unknown)
    assert refused.err.startswith("error: ") and refused.err.count("\n") == 1
    assert "--bogus\\x1b[2J\\u202egnp.exe" in unknown.err


NOT_UTF8 = os.fsdecode(b"caf\xff")


@pytest.mark.parametrize("argv", [
    ("register", NOT_UTF8, "--uri", "s3://bucket/x", "--no-env"),
    ("register", "fine-name", "--uri", "s3://bucket/x", "--no-env", "--description", f"d {NOT_UTF8}"),
    ("show", NOT_UTF8),
    ("history", NOT_UTF8),
    ("versions", NOT_UTF8),
])  # fmt: skip
def test_a_name_with_bytes_that_are_not_utf8_is_invalid_name(run: Any, argv: tuple[str, ...]) -> None:
    result = run(*argv)

    assert result.code == cli.EXIT_INVALID
    assert "[INVALID_NAME]" in result.err and "caf\\xff" in result.err
    assert result.err.startswith("error: ") and result.err.count("\n") == 1


def test_an_unknown_argument_with_bytes_that_are_not_utf8_is_a_usage_error_not_a_traceback(run: Any) -> None:
    result = run("show", "x", f"--{NOT_UTF8}")

    assert result.code == cli.EXIT_USAGE
    assert "caf\\xff" in result.err and "Traceback" not in result.err
