"""Running `studbook ARGS...` in this process, as a user would type it, and reading what it said."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from studbook.cli import commands as cli


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


def runner(address: str, capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    """Runs `studbook ARGS...` in this process against the daemon at `address`."""

    def invoke(*argv: str) -> Result:
        code = cli.main(["--address", address, *argv])
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return invoke


def run_studbook(*argv: str, env: dict[str, str] | None = None, timeout: float = 300) -> Result:
    """Runs `studbook ARGS...` as its own process: for commands that exec another program (restore)."""
    import os
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "studbook.cli.commands", *argv], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=timeout)  # fmt: skip
    return Result(done.returncode, done.stdout, done.stderr)


class ActorRunner:
    """Runs `studbook ARGS...` as a given actor (STUDBOOK_ACTOR): in this process, giving
    (exit code, stdout, stderr), or as a process of its own that runs on (`start`)."""

    def __init__(self, address: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                 actor: str) -> None:  # fmt: skip
        self.address, self.capsys, self.monkeypatch, self.actor = address, capsys, monkeypatch, actor

    def __call__(self, *argv: str, actor: str | None = None) -> tuple[int, str, str]:
        self.monkeypatch.setenv("STUDBOOK_ACTOR", actor or self.actor)
        code = cli.main(["--address", self.address, *argv])
        captured = self.capsys.readouterr()
        return code, captured.out, captured.err

    def start(self, *argv: str) -> Any:
        """`subprocess.Popen` of the command, its output in pipes as text."""
        import os
        import subprocess
        import sys

        env = {**os.environ, "STUDBOOK_ACTOR": self.actor}
        return subprocess.Popen([sys.executable, "-m", "studbook.cli.commands", "--address", self.address, *argv],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)  # fmt: skip
