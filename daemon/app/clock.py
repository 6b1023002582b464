"""The daemon's clocks: the real one, and a simulated one for demos and tests only.

The simulated clock exists so that `studbook demo` can show a registry with a history:
registrations, promotions and approvals spread over days, as a team would have made them,
written in seconds. It is never on by default; `studbook serve` accepts it only through
hidden flags, and only for a catalog that holds nothing yet, so the times of a real
registry can never go backwards or be invented.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta


def utcnow() -> datetime:
    return datetime.now(UTC)


class SimulatedClock:
    """Starts `span` back and moves `span / writes` forward at each of the first `writes`
    writes; from then on it is the real clock (and never behind it).

    Time moves per write, not per reading, so the times one write records (a version's
    create and update time, its event) are the same, as with the real clock.
    """

    def __init__(self, span: timedelta, writes: int, real: Callable[[], datetime] = utcnow) -> None:
        if writes < 1 or span <= timedelta(0):
            raise ValueError("a simulated clock needs a positive span and at least one write")
        self._real = real
        self._step = span / writes
        self._left = writes
        self._now = real() - span

    def __call__(self) -> datetime:
        if self._left <= 0:
            return self._real()
        return min(self._now, self._real())

    def advance(self) -> None:
        """One write begins: the simulated time moves one step (the last step reaches real time)."""
        if self._left > 0:
            self._left -= 1
            self._now += self._step

    @property
    def running(self) -> bool:
        """Still before real time: some of its writes are left."""
        return self._left > 0
