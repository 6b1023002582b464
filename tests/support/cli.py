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
