"""The import's progress on stderr: redrawn in place on a terminal, a line per step in a log."""

from __future__ import annotations

import io

from studbook.cli.importers.progress import Progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_log_gets_one_line_per_step_with_the_count() -> None:
    log = io.StringIO()
    progress = Progress(2, stream=log)

    progress.say("reading")
    progress.step("fraud@1")
    progress.step("fraud@2")

    assert log.getvalue().splitlines() == ["reading", "[############............] 1/2 fraud@1",
                                           "[########################] 2/2 fraud@2"]  # fmt: skip


def test_a_terminal_gets_one_line_redrawn_and_cleared_at_the_end() -> None:
    terminal = Terminal()
    progress = Progress(1, stream=terminal)

    progress.step("fraud@1")
    progress.finish()

    assert "\n" not in terminal.getvalue() and terminal.getvalue().endswith("\r\x1b[2K")


def test_names_from_the_source_cannot_drive_the_terminal() -> None:
    log = io.StringIO()
    Progress(1, stream=log).step("evil\x1b[2Jname")

    assert "\x1b" not in log.getvalue()


def test_json_output_gets_no_progress() -> None:
    log = io.StringIO()
    progress = Progress(1, stream=log, enabled=False)
    progress.say("reading")
    progress.step("x")

    assert log.getvalue() == ""


def test_a_terminal_sees_how_far_an_upload_is_and_a_log_does_not() -> None:
    terminal, log = Terminal(), io.StringIO()
    for stream in (terminal, log):
        progress = Progress(1, stream=stream)
        progress.step("fraud@1")
        sent = progress.sending("fraud@1", 3 << 20)
        sent(1 << 20)
        sent(2 << 20)

    assert terminal.getvalue().endswith("fraud@1: 3.0 of 3.0 MiB sent")
    assert "MiB" not in log.getvalue()
