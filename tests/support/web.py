"""`studbook web` as its own process: started on a free loopback port, stopped by its pid."""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

START_TIMEOUT = 20.0
# Long enough for the server's checks to pass; a stable test value, never a real secret.
TOKEN = "web-login-token-of-the-tests-0123456789"
_URL = re.compile(r"serving the UI on (https?://\S+/)")


@dataclass
class WebServer:
    process: subprocess.Popen[str]
    url: str  # e.g. http://127.0.0.1:41234/

    @property
    def login_url(self) -> str:
        return f"{self.url}?token={TOKEN}"

    def descendants(self) -> set[int]:
        """Every process under the server: the UI of each browser session (and its shell)."""
        children: dict[int, list[int]] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                except (OSError, IndexError, ValueError):
                    continue
                children.setdefault(parent, []).append(int(entry.name))
        found: set[int] = set()
        todo = [self.process.pid]
        while todo:
            for child in children.get(todo.pop(), []):
                found.add(child)
                todo.append(child)
        return found

    def stop(self) -> int:
        """SIGTERM, as a service manager would; its exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def start_web(
    address: str, *args: str, env: dict[str, str] | None = None, listen: str | None = "127.0.0.1:0"
) -> WebServer:
    """`studbook web --listen LISTEN ARGS` on the daemon at `address`, once it says where it listens.

    LISTEN None: no --listen, the command's default.
    """
    environment = {**os.environ, "STUDBOOK_ADDRESS": address, "STUDBOOK_WEB_TOKEN": TOKEN, **(env or {})}
    process = subprocess.Popen(
        [sys.executable, "-m", "studbook.cli.commands", "web", *(["--listen", listen] if listen else []), *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment,
    )  # fmt: skip
    assert process.stdout is not None
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.2)
        if ready:
            line = process.stdout.readline()
            if found := _URL.search(line):
                return WebServer(process, found.group(1))
        if process.poll() is not None:
            raise RuntimeError(f"studbook web exited with {process.returncode}: {process.stderr.read()}")  # type: ignore[union-attr]
    process.kill()
    raise RuntimeError(f"studbook web did not say where it listens within {START_TIMEOUT:g} s")
