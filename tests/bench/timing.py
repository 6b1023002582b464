"""The timing helpers every benchmark shares: samples of a call, and their p50 and p99."""

from __future__ import annotations

import time
from collections.abc import Callable

import grpc
from studbook.v1 import registry_pb2, registry_pb2_grpc


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


def until_visible(
    versions: registry_pb2_grpc.VersionServiceStub, name: str, timeout: float, pause: float = 0.0
) -> float:
    """perf_counter() when GetModelVersion first finds `name`, polled every `pause` seconds."""
    request = registry_pb2.GetModelVersionRequest(name=name)
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        try:
            versions.GetModelVersion(request)
            return time.perf_counter()
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.NOT_FOUND:
                raise
        time.sleep(pause)
    raise TimeoutError(f"{name} never became visible")
