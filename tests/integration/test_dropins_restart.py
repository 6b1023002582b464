"""Drop-ins across daemon restarts, with a polling observer, and from the config file."""

from __future__ import annotations

import json
import os
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from studbook.v1 import drops_pb2, drops_pb2_grpc, registry_pb2, registry_pb2_grpc, resources_pb2
from support.waiting import wait_for

QUIET = "0.3"


def version(daemon, name: str) -> resources_pb2.ModelVersion | None:  # type: ignore[no-untyped-def]
    with daemon.channel() as channel:
        try:
            return registry_pb2_grpc.VersionServiceStub(channel).GetModelVersion(
                registry_pb2.GetModelVersionRequest(name=name))  # fmt: skip
        except grpc.RpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND:
                return None
            raise


def watch_status(daemon) -> drops_pb2.WatchStatus:  # type: ignore[no-untyped-def]
    with daemon.channel() as channel:
        return drops_pb2_grpc.DropServiceStub(channel).GetWatchStatus(drops_pb2.GetWatchStatusRequest())


def quarantined(daemon) -> list[drops_pb2.Drop]:  # type: ignore[no-untyped-def]
    with daemon.channel() as channel:
        return list(drops_pb2_grpc.DropServiceStub(channel).ListQuarantinedDrops(
            drops_pb2.ListQuarantinedDropsRequest()).drops)  # fmt: skip


def write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


@pytest.fixture
def root(short_dir: Path) -> Path:
    path = short_dir / "drops"
    path.mkdir()
    return path


def test_drops_made_while_the_daemon_was_down_register_and_nothing_unchanged_is_hashed_again(daemon_factory, root):
    args = ("--watch", str(root), "--quiet-seconds", QUIET)
    write(root / "fraud" / "1" / "model.bin", b"one" * 1000)
    write(root / "fraud" / "bad" / "model.bin", b"bad")
    write(root / "fraud" / "bad" / "studbook.json", b'{"metrics": {"auc": "high"}}')
    first = daemon_factory(*args)
    wait_for(lambda: version(first, "models/fraud/versions/1"), "version 1")
    wait_for(lambda: quarantined(first), "the bad drop's quarantine")
    first.kill(15)

    write(root / "fraud" / "2" / "model.bin", b"two" * 1000)
    write(root / "ads" / "model.bin", b"plain bytes")
    second = daemon_factory(*args)
    wait_for(lambda: version(second, "models/fraud/versions/2"), "version 2, dropped while down")
    wait_for(lambda: version(second, "models/ads/versions/1"), "the single-file drop made while down")
    status = watch_status(second)

    assert status.files_hashed == 2 and status.bytes_hashed == 3000 + len(b"plain bytes")
    assert [d.reason for d in quarantined(second)] == ["INVALID_MANIFEST"]


def test_a_polling_observer_finds_drops_too(daemon_factory, root):
    daemon = daemon_factory("--watch", str(root), "--poll", "--quiet-seconds", QUIET)
    staging = root / ".staging" / "1"
    write(staging / "model.bin", b"polled")
    (root / "nfs").mkdir()
    os.rename(staging, root / "nfs" / "1")

    found = wait_for(lambda: version(daemon, "models/nfs/versions/1"), "version 1")

    assert found.files[0].size == len(b"polled")
    assert [r.observer for r in watch_status(daemon).roots] == ["polling"]
    assert not watch_status(daemon).degraded  # polling by choice is not a fallback


def test_watch_roots_come_from_the_config_file_and_a_missing_root_is_reported(daemon_factory, root, short_dir):
    config = short_dir / "config.toml"
    absent = short_dir / "later"
    config.write_text(f"[daemon]\nwatch_roots = [{json.dumps(str(root))}, {json.dumps(str(absent))}]\n"
                      f"quiet_seconds = {QUIET}\n")  # fmt: skip
    daemon = daemon_factory("--config", str(config))
    write(root / "cfg" / "1" / "model.bin", b"from config")

    wait_for(lambda: version(daemon, "models/cfg/versions/1"), "version 1")
    status = watch_status(daemon)
    with daemon.channel() as channel:
        health = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service="studbook.v1.DropService")
        )

    assert status.degraded and [(p.reason, p.root) for p in status.problems] == [("ROOT_MISSING", str(absent))]
    assert health.status == health_pb2.HealthCheckResponse.NOT_SERVING

    write(absent / "late" / "1" / "model.bin", b"late")
    wait_for(lambda: version(daemon, "models/late/versions/1"), "a drop in the root that appeared")
    assert not watch_status(daemon).degraded


def test_overlapping_roots_are_refused_at_start(short_dir, root):
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "studbook.daemon", "--data-dir", str(short_dir / "data"), "--socket",
         str(short_dir / "s.sock"), "--watch", str(root), "--watch", str(root / "inner")],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip

    assert result.returncode == 1
    assert "lies inside watch root" in result.stderr
