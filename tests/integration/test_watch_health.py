"""The watcher tells the truth about itself: an observer that dies is noticed, its root is
polled instead, and health, GetWatchStatus and `studbook status` say so and why."""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from conftest import DROP_SERVICE, Daemon, launch_daemon, start_daemon, stop_daemon
from grpc_health.v1 import health_pb2, health_pb2_grpc
from studbook.v1 import drops_pb2, drops_pb2_grpc
from support.cli import runner
from support.waiting import wait_for

QUIET = 0.3
# Deeper than any recursion limit a walk of the tree would meet.
DEPTH = 2000


@dataclass
class Watched:
    root: Path
    daemon: Daemon
    drops: drops_pb2_grpc.DropServiceStub


@pytest.fixture
def watched() -> Iterator[Watched]:
    yield from watching()


@pytest.fixture
def watched_deep_from_the_start() -> Iterator[Watched]:
    yield from watching(deep_first=True)


def watching(deep_first: bool = False) -> Iterator[Watched]:
    base = Path(tempfile.mkdtemp(prefix="sb-"))
    root = base / "drops"
    (root / "deep").mkdir(parents=True)
    if deep_first:
        make_deep(root / "deep", "1", DEPTH)
    daemon = start_daemon(base / "data", base / "s.sock", "--watch", str(root), "--quiet-seconds", str(QUIET),
                          "--config", str(base / "none.toml"))  # fmt: skip
    channel = daemon.channel()
    try:
        yield Watched(root, daemon, drops_pb2_grpc.DropServiceStub(channel))
    finally:
        channel.close()
        stop_daemon(daemon)
        remove_tree(base)


def remove_tree(path: Path) -> None:
    """rm -rf: shutil.rmtree recurses once per level and cannot remove a very deep tree."""
    subprocess.run(["rm", "-rf", str(path)], check=False)


def make_deep(parent: Path, name: str, depth: int) -> None:
    """`parent/name/d/d/...` `depth` levels deep, made beside the root and renamed in whole.

    Made through directory descriptors: the full path would pass PATH_MAX.
    """
    outside = parent.parent / f"{name}.building"
    outside.mkdir()
    fd = os.open(outside, os.O_RDONLY)
    try:
        for _ in range(depth):
            os.mkdir("d", dir_fd=fd)
            inner = os.open("d", os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = inner
    finally:
        os.close(fd)
    os.rename(outside, parent / name)


DROP_HEALTH = health_pb2.HealthCheckRequest(service=DROP_SERVICE)


def health(watched: Watched) -> int:
    stub = health_pb2_grpc.HealthStub(watched.daemon.channel())
    return stub.Check(DROP_HEALTH).status


def test_an_observer_killed_by_a_very_deep_folder_is_reported_and_replaced_by_polling(watched, capsys):
    assert health(watched) == health_pb2.HealthCheckResponse.SERVING

    make_deep(watched.root / "deep", "1", DEPTH)

    status = wait_for(lambda: (s := watched.drops.GetWatchStatus(drops_pb2.GetWatchStatusRequest())).degraded and s,
                      "degraded watching" + watched.daemon.output())  # fmt: skip
    (root,) = status.roots
    assert root.observer == "polling"
    assert root.problem.reason == "OBSERVER_DIED"
    assert "RecursionError" in root.problem.message and str(watched.root.resolve()) in root.problem.message
    assert len(root.problem.message) < 400
    assert health(watched) == health_pb2.HealthCheckResponse.NOT_SERVING
    cli = runner(watched.daemon.address, capsys)("status")
    assert "degraded" in cli.out and "RecursionError" in cli.out

    # Polling still sees drops, the deep folder notwithstanding.
    unit = watched.root / "after" / "1"
    unit.parent.mkdir()
    staged = watched.root.parent / "staged"
    staged.mkdir()
    (staged / "model.bin").write_bytes(b"weights")
    os.rename(staged, unit)
    drop = wait_for(lambda: [d for d in watched.drops.ListDrops(drops_pb2.ListDropsRequest()).drops
                             if d.path.endswith("after/1") and d.state == drops_pb2.DROP_STATE_REGISTERED],
                    "the drop registered by polling")  # fmt: skip
    assert drop


def test_a_folder_too_deep_to_watch_at_start_up_is_polled_and_reported(watched_deep_from_the_start, capsys):
    watched = watched_deep_from_the_start

    status = wait_for(lambda: (s := watched.drops.GetWatchStatus(drops_pb2.GetWatchStatusRequest())).degraded and s,
                      "degraded watching")  # fmt: skip

    (root,) = status.roots
    assert root.observer == "polling"
    assert root.problem.reason == "OBSERVER_FAILED" and "RecursionError" in root.problem.message
    assert health(watched) == health_pb2.HealthCheckResponse.NOT_SERVING
    staged = watched.root.parent / "staged"
    staged.mkdir()
    (staged / "model.bin").write_bytes(b"weights")
    (watched.root / "after").mkdir()
    os.rename(staged, watched.root / "after" / "1")
    wait_for(lambda: [d for d in watched.drops.ListDrops(drops_pb2.ListDropsRequest()).drops
                      if d.path.endswith("after/1") and d.state == drops_pb2.DROP_STATE_REGISTERED],
             "the drop registered by polling")  # fmt: skip


# Folders in a root whose first watch takes long enough to be seen (inotify watches each one).
MANY_FOLDERS = 4000


def test_the_drop_service_is_not_serving_before_its_roots_are_watched(short_dir):
    """A client told the drop service is SERVING can rely on a folder made now being seen by
    the observer; while the first watch of a root is still under way, the service says UNKNOWN."""
    root = short_dir / "drops"
    for n in range(MANY_FOLDERS):
        (root / "m" / str(n)).mkdir(parents=True)
    socket = short_dir / "s.sock"
    daemon = launch_daemon(short_dir / "data", socket, "--watch", str(root), "--config", str(short_dir / "none.toml"))
    seen: list[tuple[int, list[str]]] = []

    def watching_reported() -> bool:
        # A channel each time: one that failed before the socket listened would wait out its backoff.
        with daemon.channel() as channel:
            try:
                status = health_pb2_grpc.HealthStub(channel).Check(DROP_HEALTH, timeout=1).status
                reply = drops_pb2_grpc.DropServiceStub(channel).GetWatchStatus(drops_pb2.GetWatchStatusRequest())
            except grpc.RpcError:
                return False  # not listening yet
        seen.append((status, [r.observer for r in reply.roots]))
        return status != health_pb2.HealthCheckResponse.UNKNOWN

    try:
        wait_for(socket.exists, "the daemon's socket")
        wait_for(watching_reported, "the drop service's first report")
    finally:
        stop_daemon(daemon)

    assert seen[-1] == (health_pb2.HealthCheckResponse.SERVING, ["inotify"])
    assert all(
        observers == ["inotify"] for status, observers in seen if status != health_pb2.HealthCheckResponse.UNKNOWN
    )
