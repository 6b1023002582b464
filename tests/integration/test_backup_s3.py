"""Backups in S3: a daemon writes one under a bucket prefix, and restore rebuilds a data dir from it,
its stored files into a bucket too if asked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conftest import start_daemon, stop_daemon
from studbook.client.clients import Client
from support.cli import run_studbook
from support.files import random_weights
from support.s3 import S3Bucket


def test_a_backup_to_s3_restores_into_a_new_data_dir_with_its_files_in_a_bucket(
    bucket_env: S3Bucket, daemon: Any, short_dir: Path, tmp_path: Path
) -> None:
    weights = random_weights(9 * 1024 * 1024 + 5)  # in parts on the way up
    source = tmp_path / "m"
    source.mkdir()
    (source / "weights.bin").write_bytes(weights)
    (source / "card.md").write_bytes(b"# card")
    with Client(daemon.address, timeout=120) as client:
        version = client.register("s3-backup", path=source, environment=False, git=False)
        first = client.backup(bucket_env.url("backups/registry"))
        again = client.backup(bucket_env.url("backups/registry"))

    restored = run_studbook("restore", bucket_env.url("backups/registry"), "--data-dir", str(short_dir / "restored"),
                            "--artifact-store", bucket_env.url("live"))  # fmt: skip
    assert restored.code == 0, restored.err
    other = start_daemon(short_dir / "restored", short_dir / "r.sock", "--artifact-store", bucket_env.url("live"))
    try:
        with Client(other.address, timeout=120) as client:
            client.download(version.name, tmp_path / "out")
            count = client.list_versions("-", page_size=1).total_size
            checked = client.verify_artifacts()  # read back from the bucket
            local = client.backup(tmp_path / "from-bucket")
    finally:
        stop_daemon(other)

    keys = bucket_env.keys()
    assert (first.copied_blobs, again.copied_blobs, again.blob_count) == (2, 0, 2)
    assert "backups/registry/manifest.json" in keys and f"backups/registry/{again.catalog}" in keys
    assert f"backups/registry/{first.catalog}" not in keys  # the catalog the new manifest replaced
    assert len([k for k in keys if k.startswith("backups/registry/blobs/sha256/")]) == 2
    assert len([k for k in keys if k.startswith("live/sha256/")]) == 2
    assert not (short_dir / "restored" / "blobs").exists() or not list(
        (short_dir / "restored" / "blobs").rglob("sha256/*/*/*")
    )
    assert (tmp_path / "out" / "weights.bin").read_bytes() == weights
    assert count == 1
    assert (checked.blobs_checked, checked.corrupt_count) == (2, 0)
    assert (local.copied_blobs, local.blob_bytes) == (2, len(weights) + len(b"# card"))


def test_restore_from_an_s3_prefix_without_a_manifest_refuses_in_one_line(
    bucket_env: S3Bucket, short_dir: Path
) -> None:
    refused = run_studbook("restore", bucket_env.url("nothing-here"), "--data-dir", str(short_dir / "restored"))

    assert refused.code == 4
    assert "BACKUP_INCOMPLETE" in refused.err and len(refused.err.strip().splitlines()) == 1
    assert not (short_dir / "restored").exists()
