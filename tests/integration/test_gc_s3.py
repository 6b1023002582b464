"""`studbook gc` on a daemon whose artifact store is an S3 bucket (a real moto server): the blobs
no remaining version uses are deleted from the bucket, the others stay."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from conftest import start_daemon, stop_daemon
from studbook.client.clients import Client
from support.cli import runner
from support.s3 import S3Bucket

POLICY = '[[models]]\npattern = "gc-*"\n[models.retention]\nkeep_last = 1\npurge_after = "0s"\n'


def key(prefix: str, data: bytes) -> str:
    sha = hashlib.sha256(data).hexdigest()
    return f"{prefix}/sha256/{sha[:2]}/{sha[2:4]}/{sha}"


def register(client: Client, model: str, folder: Path, files: dict[str, bytes]) -> None:
    folder.mkdir()
    for name, data in files.items():
        (folder / name).write_bytes(data)
    client.register(model, path=folder, environment=False, git=False)


def test_gc_deletes_from_the_bucket_exactly_the_blobs_no_remaining_version_uses(
    bucket_env: S3Bucket, daemon_factory: Any, short_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (short_dir / "policy.toml").write_text(POLICY)
    daemon = daemon_factory("--artifact-store", bucket_env.url("team"), "--policy", str(short_dir / "policy.toml"),
                            "--gc-grace", "0")  # fmt: skip
    shared, first, second = b"shared weights" * 1000, b"first head" * 100, b"second head" * 100
    with Client(daemon.address, timeout=120) as client:
        register(client, "gc-s3", tmp_path / "v1", {"w.bin": shared, "head.bin": first})
        register(client, "gc-s3", tmp_path / "v2", {"w.bin": shared, "head.bin": second})
    orphan = b"left by a model deleted long ago"
    bucket_env.server.client().put_object(Bucket=bucket_env.name, Key=key("team", orphan), Body=orphan)
    studbook = runner(daemon.address, capsys)
    before = set(bucket_env.keys())

    planned = studbook("--json", "gc", "--dry-run")
    unchanged = set(bucket_env.keys())
    done = studbook("--json", "gc")

    assert planned.code == 0 and done.code == 0, done.err
    assert unchanged == before
    assert planned.json()["blobs"]["deleted_bytes"] == done.json()["blobs"]["deleted_bytes"] == len(first) + len(orphan)
    assert (done.json()["blobs"]["freed_by_purge"], done.json()["blobs"]["orphans"]) == (1, 1)
    assert done.json()["artifact_store"] == bucket_env.url("team")
    assert set(bucket_env.keys()) == before - {key("team", first), key("team", orphan)}
    assert {key("team", shared), key("team", second)} <= set(bucket_env.keys())


def test_gc_deletes_nothing_from_a_bucket_another_catalog_keeps_files_in(
    bucket_env: S3Bucket, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "policy.toml").write_text(POLICY)
    flags = ("--artifact-store", bucket_env.url(), "--policy", str(tmp_path / "policy.toml"), "--gc-grace", "0")
    ours = start_daemon(tmp_path / "ours", tmp_path / "o.sock", *flags)
    theirs = start_daemon(tmp_path / "theirs", tmp_path / "t.sock", *flags)
    try:
        used_by_them = b"their only version's weights"
        with Client(theirs.address, timeout=120) as client:
            register(client, "theirs", tmp_path / "t1", {"w.bin": used_by_them})
        with Client(ours.address, timeout=120) as client:
            register(client, "gc-ours", tmp_path / "v1", {"w.bin": used_by_them})  # the same bytes, stored once
            register(client, "gc-ours", tmp_path / "v2", {"w.bin": b"newer"})
        before = set(bucket_env.keys())

        done = runner(ours.address, capsys)("--json", "gc")
    finally:
        stop_daemon(ours)
        stop_daemon(theirs)

    report = done.json()
    assert done.code == 0, done.err
    assert report["purged"] == 1  # the catalog is ours to purge
    assert (report["blobs"]["deleted"], report["blobs"]["other_catalogs"], report["blobs"]["shared"]) == (0, 1, 1)
    assert set(bucket_env.keys()) == before and key("", used_by_them).lstrip("/") in before
