"""Event to webhook delivery on loopback: from asking for a registration until a receiver in
this process has the signed POST, beside a bare aiohttp POST to the same receiver (the floor)
and the registration call alone."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp
from studbook.v1 import hooks_pb2, hooks_pb2_grpc

from tests.bench.timing import percentiles
from tests.conftest import start_daemon, stop_daemon
from tests.support.receiver import Receiver
from tests.support.rpc import register, stubs


async def _bare_posts(url: str, count: int) -> list[float]:
    samples = []
    async with aiohttp.ClientSession() as session:
        for _ in range(count):
            started = time.perf_counter()
            async with session.post(url, data=b'{"type":"floor"}') as response:
                await response.read()
            samples.append(time.perf_counter() - started)
    return samples


def bench_webhooks(root: Path, samples: int = 200) -> dict[str, float]:
    """Milliseconds: delivery_p50/p99, register_p50/p99 and floor_p50/p99 (a bare POST)."""
    folder = root / "hooks-bench"
    folder.mkdir()
    receiver = Receiver().start()
    daemon = start_daemon(folder / "data", folder / "s.sock")
    try:
        floor = asyncio.run(_bare_posts(receiver.url, samples))
        receiver.received.clear()
        with daemon.channel() as channel:
            hooks_pb2_grpc.HookServiceStub(channel).AddHook(hooks_pb2.AddHookRequest(
                url=receiver.url, events=["version.registered"], secret="bench-secret-0123456789"))  # fmt: skip
            s = stubs(channel)
            register(s, "hookbench")  # the hook's client connects once, before the samples
            receiver.wait_for(lambda got: len(got) == 1)
            delivered, registered = [], []
            for n in range(samples):
                started = time.perf_counter()
                register(s, "hookbench")
                registered.append(time.perf_counter() - started)
                got = receiver.wait_for(lambda got: len(got) == n + 2)
                delivered.append(got[-1].at - started)
    finally:
        stop_daemon(daemon)
        receiver.stop()
    figures: dict[str, float] = {"samples": samples}
    for label, values in (("delivery", delivered), ("register", registered), ("floor", floor)):
        figures[f"{label}_p50_ms"], figures[f"{label}_p99_ms"] = percentiles(values)
    return figures


def print_webhooks(figures: dict[str, float]) -> None:
    print(f"\nevent to webhook delivery on loopback, {figures['samples']:.0f} registrations one at a time")
    for label, key in (("bare aiohttp POST round trip (floor)", "floor"), ("RegisterModelVersion call", "register"),
                       ("register asked -> receiver has the POST", "delivery")):  # fmt: skip
        print(f"  {label:<44} p50 {figures[f'{key}_p50_ms']:7.3f} ms   p99 {figures[f'{key}_p99_ms']:7.3f} ms")


if __name__ == "__main__":
    import shutil
    import tempfile

    scratch = Path(tempfile.mkdtemp(prefix="sb-bench-hooks-"))
    try:
        print_webhooks(bench_webhooks(scratch))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
