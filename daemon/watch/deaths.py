"""Which watchdog threads died of an exception, and of what.

watchdog's threads (observers, emitters, the shared inotify reader) end silently when
something raises inside them: a RecursionError walking a very deep folder, a bug in an
emitter. The thread is gone but the observer object still looks alive, so the only place
the failure shows is `threading.excepthook`; this module listens there, remembers the
failure by thread and hands every other thread's exception on unchanged.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

# A reason someone reads in a status line, not a traceback: the type and this much text.
MAX_MESSAGE = 160


@dataclass(frozen=True)
class Death:
    """Why a thread stopped: the exception's type name and a short message."""

    exc_type: str
    message: str

    def describe(self) -> str:
        return f"{self.exc_type}: {self.message}" if self.message else self.exc_type


# Every death so far, oldest first; threads die rarely, and a dead thread is small.
_deaths: list[tuple[threading.Thread, Death]] = []
_lock = threading.Lock()
_installed = False


def install() -> None:
    """Listens for dying threads from now on; idempotent. The previous hook still runs."""
    global _installed
    with _lock:
        if _installed:
            return
        _installed = True
        previous = threading.excepthook

        def hook(args: threading.ExceptHookArgs) -> None:
            if args.thread is not None and _is_watchdog(args.thread):
                death = Death(getattr(args.exc_type, "__name__", str(args.exc_type)), short(str(args.exc_value or "")))
                with _lock:
                    _deaths.append((args.thread, death))
            previous(args)

        threading.excepthook = hook


def deaths_since(seen: int) -> list[tuple[threading.Thread, Death]]:
    """The watchdog threads that died of an exception after the first `seen` deaths."""
    with _lock:
        return _deaths[seen:]


def _is_watchdog(thread: threading.Thread) -> bool:
    return type(thread).__module__.startswith("watchdog.")


def short(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= MAX_MESSAGE else line[: MAX_MESSAGE - 1] + "…"
