"""`studbook` with no arguments: starts a daemon on the default socket when none answers, and says so.

The command runs as a person would run it, as its own process, with Textual's headless
driver; Textual saves what the screen shows as an SVG (TEXTUAL_SCREENSHOT) and exits.
The isolated XDG folders of tests/conftest.py are inherited, so the default socket and
catalog are this test's own.
"""

from __future__ import annotations

import html
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from studbook import locations
from studbook.cli import launcher
from studbook.cli.commands import EXIT_UNAVAILABLE, main
from studbook.client.clients import Client

# Seconds after the UI is ready that Textual saves the screen and exits; the notice shows for 8.
SCREENSHOT_AFTER = 2
RUN_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0
SVG_TEXT = re.compile(
    r'<text class="[^"]*" x="([\d.]+)" y="[\d.]+" textLength="([\d.]+)" '
    r'clip-path="url\(#[\w-]*line-(\d+)\)">([^<]*)</text>'
)
# A notification's lines begin with its left border.
TOAST_EDGE = "▌"


def screen_rows(svg: str) -> list[str]:
    """The terminal rows of a Textual screenshot, as plain text, each character in its column."""
    cells: dict[int, dict[int, str]] = {}
    for match in SVG_TEXT.finditer(svg):
        text = html.unescape(match[4]).replace("\xa0", " ").rstrip("\n")
        if not text:
            continue
        cell_width = float(match[2]) / len(text)
        row = cells.setdefault(int(match[3]), {})
        start = round(float(match[1]) / cell_width)
        row.update({start + offset: char for offset, char in enumerate(text)})
    return ["".join(row.get(c, " ") for c in range(max(row) + 1)) for _, row in sorted(cells.items())]


def notices(rows: list[str]) -> str:
    """The words of every notification on screen, its lines joined with spaces."""
    lines = [row.split(TOAST_EDGE, 1)[1].strip() for row in rows if TOAST_EDGE in row]
    return " ".join(line for line in lines if line)


def run_studbook(shots: Path, *args: str) -> str:
    """Run `studbook ARGS` headless until Textual saves its screen; return what the screen showed."""
    script = Path(sys.executable).with_name("studbook")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "studbook.cli.commands"]
    env = {
        **os.environ,
        "TEXTUAL_DRIVER": "textual.drivers.headless_driver:HeadlessDriver",
        "TEXTUAL_SCREENSHOT": str(SCREENSHOT_AFTER),
        "TEXTUAL_SCREENSHOT_LOCATION": str(shots),
        "TEXTUAL_SCREENSHOT_FILENAME": "screen.svg",
        "COLUMNS": "120",
        "LINES": "30",
    }
    finished = subprocess.run(
        [*command, *args], env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=RUN_TIMEOUT
    )
    assert finished.returncode == 0, finished.stderr.decode(errors="replace")
    return "\n".join(screen_rows((shots / "screen.svg").read_text()))


def recorded_daemon_pid() -> int | None:
    """The pid the daemon on the default catalog wrote into its lock file, if one started."""
    try:
        return int((locations.data_dir() / "daemon.lock").read_text().strip())
    except (OSError, ValueError):
        return None


def running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # An exited daemon whose new parent has not reaped it yet counts as gone.
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


@pytest.fixture
def started_daemon() -> Iterator[None]:
    """Stops, by pid, the daemon a test's `studbook` started in the background (it outlives the command)."""
    yield
    pid = recorded_daemon_pid()
    if pid is None or not running(pid):
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    while running(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if running(pid):
        os.kill(pid, signal.SIGKILL)


def test_studbook_alone_starts_a_daemon_on_the_default_socket_and_says_so(started_daemon: None, tmp_path: Path) -> None:
    address = locations.default_address()
    assert not launcher.is_serving(address)

    screen = run_studbook(tmp_path)

    said = " ".join(notices(screen.splitlines()).split())
    pid = recorded_daemon_pid()
    with Client(address) as client:
        health = client.health()
    assert "no daemon answered, so one was started in the background" in said
    assert pid is not None and f"(pid {pid})" in said  # the pid it names is the daemon's own
    assert "`studbook stop` ends it" in said
    assert health == "SERVING"  # and it outlived the command, on the default socket
    assert "models" in screen.splitlines()[0]  # the UI opened on the models screen


def test_studbook_alone_uses_a_daemon_that_already_answers(
    daemon: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(locations.ADDRESS_ENV, daemon.address)

    screen = run_studbook(tmp_path)

    assert notices(screen.splitlines()) == ""
    assert recorded_daemon_pid() is None  # nothing started on the default catalog
    assert "models" in screen.splitlines()[0]


def test_a_tcp_address_nobody_answers_is_an_error_not_a_started_daemon(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["tui", "--address", "127.0.0.1:9"])

    assert code == EXIT_UNAVAILABLE
    assert "no studbook daemon answers at 127.0.0.1:9" in capsys.readouterr().err
    assert recorded_daemon_pid() is None
