"""`studbook backup` and `studbook restore`: a consistent copy taken while the daemon serves and
writes, rebuilt into a new data dir and proven whole before a daemon starts on it."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import threading
from pathlib import Path
from typing import Any

import grpc
import pytest
from conftest import start_daemon, stop_daemon
from studbook.client.clients import Client
from studbook.client.errors import StudbookError
from studbook.daemon.app.backup import WORK_FOLDER, BackupReport
from studbook.daemon.app.registry import Registry
from studbook.daemon.domain.access import Caller, Role
from studbook.daemon.service.convert import encode_payload
from studbook.v1 import maintenance_pb2, maintenance_pb2_grpc, resources_pb2
from support.certs import TlsFiles, make_certificates
from support.cli import Result, run_studbook, runner
from support.files import random_weights, write_tree
from support.net import free_port
from support.rpc import error_info
from support.waiting import wait_for

MiB = 1 << 20
# Files of 8 MiB in the version a backup is killed during.
PARTS = 32


@pytest.fixture
def studbook(daemon: Any, capsys: pytest.CaptureFixture[str]) -> Any:
    return runner(daemon.address, capsys)


def register(client: Client, model: str, folder: Path) -> resources_pb2.ModelVersion:
    return client.register(model, path=folder, environment=False, git=False)


def blob_files(root: Path) -> list[Path]:
    return [p for p in (root / "blobs" / "sha256").rglob("*") if p.is_file()] if (root / "blobs").exists() else []


def restore(src: Path | str, data_dir: Path, *extra: str) -> Result:
    return run_studbook("restore", str(src), "--data-dir", str(data_dir), *extra)


def test_a_backup_taken_while_16_writers_register_restores_every_version_acknowledged_before_it(
    daemon: Any, studbook: Any, short_dir: Path, tmp_path: Path
) -> None:
    stop = threading.Event()
    acknowledged: list[tuple[str, bytes]] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def writer(index: int) -> None:
        with Client(daemon.address, timeout=60) as client:
            count = 0
            while not stop.is_set():
                data = f"writer {index} version {count}\n".encode() + os.urandom(4096)
                folder = write_tree(tmp_path / "src" / f"{index}-{count}", {"model.bin": data})
                try:
                    version = register(client, f"w-{index % 4}", folder)
                except BaseException as exc:  # noqa: BLE001 - reported by the assertions below
                    failures.append(exc)
                    return
                with lock:
                    acknowledged.append((version.name, data))
                count += 1

    writers = [threading.Thread(target=writer, args=(i,)) for i in range(16)]
    for thread in writers:
        thread.start()
    try:
        wait_for(lambda: len(acknowledged) >= 64, "64 acknowledged registrations", timeout=60)
        with lock:
            before = list(acknowledged)
        backup = studbook("--json", "backup", str(tmp_path / "bk"))
    finally:
        stop.set()
        for thread in writers:
            thread.join(timeout=60)

    assert backup.code == 0, backup.err
    assert not failures, failures[:3]
    restored = restore(tmp_path / "bk", short_dir / "restored", "--json")
    assert restored.code == 0, restored.err
    assert restored.json()["revision"] == int(backup.json()["revision"])
    other = start_daemon(short_dir / "restored", short_dir / "r.sock")
    try:
        with Client(other.address, timeout=60) as client:
            for name, data in before:
                out = tmp_path / "out" / name.replace("/", "_")
                client.download(name, out)
                assert (out / "model.bin").read_bytes() == data, name
            summary = client.verify_artifacts()
            count = client.list_versions("-", page_size=1, summary_only=True).total_size
            trail = client.verify_audit_trail()
    finally:
        stop_daemon(other)
    assert len(before) <= count <= len(acknowledged)
    assert count == int(backup.json()["versions"])
    assert (summary.versions_checked, summary.corrupt_count) == (count, 0)
    assert trail.intact and trail.head == backup.json()["chain_head"]


def test_a_backup_killed_with_kill_9_leaves_no_manifest_restore_refuses_it_and_a_restarted_daemon_finishes_it(
    daemon_factory: Any, short_dir: Path, tmp_path: Path
) -> None:
    daemon = daemon_factory()
    source = tmp_path / "big"
    for i in range(PARTS):  # the first blobs land in ms; copying them all takes far longer than a kill
        write_tree(source, {f"part-{i:02}.bin": random_weights(8 * MiB)})
    dest = tmp_path / "bk"
    with Client(daemon.address, timeout=120) as client:
        register(client, "big", source)
    outcome: list[BaseException] = []

    def back_up() -> None:
        try:
            with Client(daemon.address) as client:
                client.backup(dest)
        except StudbookError as exc:
            outcome.append(exc)

    thread = threading.Thread(target=back_up)
    thread.start()
    wait_for(lambda: blob_files(dest), "the first blob in the backup")
    daemon.kill()
    thread.join(timeout=60)

    copied = len(blob_files(dest))
    assert outcome and not (dest / "manifest.json").exists()
    assert 0 < copied < PARTS
    refused = restore(dest, short_dir / "restored")
    assert refused.code == 4, refused.err
    assert "BACKUP_INCOMPLETE" in refused.err and len(refused.err.strip().splitlines()) == 1
    assert not (short_dir / "restored").exists()
    restarted = daemon_factory()
    with Client(restarted.address) as client:
        assert client.get_version("big@1").status == resources_pb2.VERSION_STATUS_READY
        finished = client.backup(dest)
    assert (finished.copied_blobs, finished.blob_count) == (PARTS - copied, PARTS)
    assert restore(dest, short_dir / "restored").code == 0


def test_a_second_backup_copies_only_new_blobs_and_keeps_one_catalog(
    daemon: Any, studbook: Any, tmp_path: Path
) -> None:
    shared = random_weights(100_000)
    dest = tmp_path / "bk"
    with Client(daemon.address) as client:
        register(client, "inc", write_tree(tmp_path / "a", {"w.bin": shared, "a.bin": b"first"}))
        first = studbook("--json", "backup", str(dest))
        register(client, "inc", write_tree(tmp_path / "b", {"w.bin": shared, "b.bin": b"second"}))
        second = studbook("--json", "backup", str(dest))
    one, two = first.json(), second.json()

    assert first.code == second.code == 0, second.err
    assert (int(one["copied_blobs"]), int(two["copied_blobs"]), int(two["blob_count"])) == (2, 1, 3)
    assert int(two["copied_bytes"]) == len(b"second")
    assert int(two["revision"]) > int(one["revision"])
    assert sorted(p.name for p in dest.glob("catalog-*")) == [two["catalog"]]
    assert json.loads((dest / "manifest.json").read_text())["catalog"]["name"] == two["catalog"]
    assert len(blob_files(dest)) == 3


def test_a_backup_is_over_when_its_report_is_sent(tmp_path: Path) -> None:
    """A client returns at the report (`Client.backup`): a backup it starts right after must not
    be refused as BACKUP_RUNNING, nor meet this one's work folder. Taken at the moment the report
    is handed over, which a second call through gRPC only sometimes hits."""
    data = tmp_path / "data"
    data.mkdir()
    registry = Registry(data / "catalog.duckdb", encode_payload)

    async def at_the_report() -> tuple[bool, bool]:
        registry.start()
        try:
            steps = registry.backups.backup(str(tmp_path / "bk"), Caller("ana", Role.ADMIN))
            try:
                async for step in steps:
                    if isinstance(step, BackupReport):
                        return registry.backups.running, (data / WORK_FOLDER).exists() and any(
                            (data / WORK_FOLDER).iterdir()
                        )
            finally:
                await steps.aclose()
            raise AssertionError("the backup ended without a report")
        finally:
            registry.close()

    running, work_left = asyncio.run(at_the_report())

    assert not running
    assert not work_left


def test_restore_refuses_a_data_dir_that_holds_anything_or_is_served_and_a_backup_whose_blob_was_altered(
    daemon: Any, studbook: Any, tmp_path: Path
) -> None:
    weights = random_weights(50_000)
    with Client(daemon.address) as client:
        register(client, "r", write_tree(tmp_path / "m", {"w.bin": weights}))
    assert studbook("backup", str(tmp_path / "bk")).code == 0
    mine = tmp_path / "mine"
    write_tree(mine, {"notes.txt": b"keep me"})

    not_empty = restore(tmp_path / "bk", mine)
    served = restore(tmp_path / "bk", daemon.data_dir)
    sha = hashlib.sha256(weights).hexdigest()
    with open(tmp_path / "bk" / "blobs" / "sha256" / sha[:2] / sha[2:4] / sha, "r+b") as blob:
        blob.write(b"tampered")
    altered = restore(tmp_path / "bk", tmp_path / "fresh")

    assert (not_empty.code, served.code, altered.code) == (4, 4, 4)
    assert "DATA_DIR_NOT_EMPTY" in not_empty.err and (mine / "notes.txt").read_bytes() == b"keep me"
    assert "DATA_DIR_IN_USE" in served.err and f"pid {daemon.process.pid}" in served.err
    assert "BACKUP_BLOB_ALTERED" in altered.err and sha[:12] in altered.err
    assert not (tmp_path / "fresh").exists()
    assert not [p for p in tmp_path.iterdir() if ".restoring-" in p.name]


def test_bytes_known_bad_are_recorded_as_lost_and_bytes_nobody_checked_refuse_the_backup(
    daemon: Any, studbook: Any, short_dir: Path, tmp_path: Path
) -> None:
    bad = random_weights(20_000)
    with Client(daemon.address) as client:
        good = register(client, "good", write_tree(tmp_path / "g", {"g.bin": b"good bytes"}))
        broken = register(client, "broken", write_tree(tmp_path / "b", {"b.bin": bad}))
    sha = hashlib.sha256(bad).hexdigest()
    (daemon.data_dir / "blobs" / "sha256" / sha[:2] / sha[2:4] / sha).unlink()

    refused = studbook("backup", str(tmp_path / "bk"))
    studbook("verify", "--all")
    done = studbook("--json", "backup", str(tmp_path / "bk"))
    restored = restore(tmp_path / "bk", short_dir / "restored")

    assert refused.code == 4 and "BACKUP_SOURCE_CORRUPT" in refused.err and "studbook verify" in refused.err
    assert done.code == 0, done.err
    assert done.json()["lost_blobs"] == [sha]
    assert restored.code == 0, restored.err
    other = start_daemon(short_dir / "restored", short_dir / "r.sock")
    try:
        with Client(other.address) as client:
            statuses = [client.get_version(v.name).status for v in (good, broken)]
            client.download(good.name, tmp_path / "out")
    finally:
        stop_daemon(other)
    assert statuses == [resources_pb2.VERSION_STATUS_READY, resources_pb2.VERSION_STATUS_CORRUPT]
    assert (tmp_path / "out" / "g.bin").read_bytes() == b"good bytes"


def test_a_backup_refuses_the_data_dir_a_folder_of_other_files_and_a_relative_path(
    daemon: Any, studbook: Any, tmp_path: Path
) -> None:
    others = write_tree(tmp_path / "docs", {"thesis.tex": b"\\section{}"})

    inside = studbook("backup", str(daemon.data_dir / "bk"))
    foreign = studbook("backup", str(others))
    with daemon.channel() as channel, pytest.raises(grpc.RpcError) as relative:
        stub = maintenance_pb2_grpc.MaintenanceServiceStub(channel)
        list(stub.BackupRegistry(maintenance_pb2.BackupRegistryRequest(destination="relative/bk"), timeout=30))

    assert inside.code == 7 and "BACKUP_DESTINATION_INSIDE_DATA_DIR" in inside.err
    assert foreign.code == 4 and "BACKUP_DESTINATION_NOT_EMPTY" in foreign.err and "thesis.tex" in foreign.err
    assert sorted(p.name for p in others.iterdir()) == ["thesis.tex"]
    assert not (daemon.data_dir / "bk").exists()
    assert error_info(relative.value).reason == "INVALID_BACKUP_DESTINATION"


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_certificates(tmp_path_factory.mktemp("tls"))


def test_over_tcp_a_backup_goes_only_to_a_folder_under_the_allowed_roots(
    daemon_factory: Any, tls: TlsFiles, tmp_path: Path
) -> None:
    root = tmp_path / "allowed"
    root.mkdir()
    (tmp_path / "outside").mkdir()
    (root / "link").symlink_to(tmp_path / "outside")
    address = f"127.0.0.1:{free_port()}"
    daemon = daemon_factory("--listen", address, "--tls-cert", str(tls.cert), "--tls-key", str(tls.key),
                            "--allow-root", str(root))  # fmt: skip
    with Client(daemon.address) as local:
        secret = local.create_token("ops", "admin").secret

    with Client(address, token=secret, tls_ca=tls.ca) as remote:
        refusals = []
        for destination in (str(tmp_path / "elsewhere"), "s3://bucket/bk", str(root / "link" / "bk")):
            with pytest.raises(StudbookError) as caught:
                remote.backup(destination)
            refusals.append((caught.value.code, caught.value.reason))
        done = remote.backup(root / "bk")

    assert refusals == [("PERMISSION_DENIED", "BACKUP_DESTINATION_NOT_ALLOWED")] * 3
    assert not (tmp_path / "elsewhere").exists() and not list((tmp_path / "outside").iterdir())
    assert done.destination == (root / "bk").as_uri() and (root / "bk" / "manifest.json").is_file()
