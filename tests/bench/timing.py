"""The timing helpers every benchmark shares: samples of a call, and their p50 and p99."""

from __future__ import annotations

import time
from collections.abc import Callable


def timed(call: Callable[[], object], count: int) -> list[float]:
    """Seconds each of `count` calls took."""
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return samples


def percentiles(samples: list[float]) -> tuple[float, float]:
    """(p50, p99) in milliseconds; the p50 is the upper median."""
    ordered = sorted(samples)
    return ordered[len(ordered) // 2] * 1000, ordered[max(0, int(len(ordered) * 0.99) - 1)] * 1000
