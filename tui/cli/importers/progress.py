"""A progress bar on stderr: redrawn in place on a terminal, one line per step otherwise (a log
keeps every line), nothing at all when the output is JSON for a script."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TextIO

from studbook.client.safe_text import safe

WIDTH = 24
MIB = 1 << 20


class Progress:
    def __init__(self, total: int, *, stream: TextIO | None = None, enabled: bool = True) -> None:
        self.total = total
        self.done = 0
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.live = enabled and self.stream.isatty()

    def say(self, line: str) -> None:
        """A line of its own, above the bar."""
        if not self.enabled:
            return
        if self.live:
            self.stream.write("\r\x1b[2K")
        print(safe(line), file=self.stream, flush=True)

    def step(self, what: str) -> None:
        """One more of `total` is under way: `what` names it."""
        self.done += 1
        if not self.enabled:
            return
        bar = f"{self._bar()} {safe(what)}"
        if self.live:
            self.stream.write(f"\r\x1b[2K{bar}")
            self.stream.flush()
        else:
            print(bar, file=self.stream, flush=True)

    def sending(self, what: str, total: int) -> Callable[[int], None]:
        """A callback for each chunk of `total` bytes sent: on a terminal the bar says how far the
        upload of `what` is (a log would only fill up with such lines)."""
        sent = 0

        def chunk(size: int) -> None:
            nonlocal sent
            sent += size
            if self.live:
                self.stream.write(
                    f"\r\x1b[2K{self._bar()} {safe(what)}: {sent / MIB:,.1f} of {total / MIB:,.1f} MiB sent"
                )
                self.stream.flush()

        return chunk

    def _bar(self) -> str:
        filled = WIDTH * self.done // max(self.total, 1)
        return f"[{'#' * filled}{'.' * (WIDTH - filled)}] {self.done}/{self.total}"

    def finish(self) -> None:
        if self.live:
            self.stream.write("\r\x1b[2K")
            self.stream.flush()
