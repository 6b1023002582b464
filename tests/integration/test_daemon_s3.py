"""A daemon whose artifact store is an S3 bucket: registrations keep their files there, pulls
read them back, and daemons sharing the bucket store each file once."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import start_daemon, stop_daemon
from studbook.client.clients import Client
from support.files import random_weights, write_tree
from support.s3 import MotoServer, S3Bucket


def test_a_version_is_kept_in_the_bucket_and_pulled_back_after_its_folder_is_gone(
    bucket_env: S3Bucket, daemon_factory: Any, tmp_path: Path
) -> None:
    weights = random_weights(20 * 1024 * 1024 + 1)  # multipart on the way up
    daemon = daemon_factory("--artifact-store", bucket_env.url("team"))
    source = write_tree(tmp_path / "src", {"weights.bin": weights, "config.json": b"{}"})
    with Client(daemon.address, timeout=120) as client:
        version = client.register("s3-kept", path=source, environment=False, git=False)
        shutil.rmtree(source)
        pulled = client.download("s3-kept", tmp_path / "out")

    sha = hashlib.sha256(weights).hexdigest()
    assert version.kept
    assert f"team/sha256/{sha[:2]}/{sha[2:4]}/{sha}" in bucket_env.keys()
    assert not (daemon.data_dir / "blobs").exists() or not list((daemon.data_dir / "blobs").rglob("sha256/*/*/*"))
    assert (tmp_path / "out" / "weights.bin").read_bytes() == weights
    assert sorted(p.path.name for p in pulled) == ["config.json", "weights.bin"]


def test_two_daemons_sharing_a_bucket_store_the_same_file_once(bucket_env: S3Bucket, tmp_path: Path) -> None:
    shared = random_weights(3 * 1024 * 1024)
    daemons = [start_daemon(tmp_path / f"data-{i}", tmp_path / f"s{i}.sock", "--artifact-store", bucket_env.url())
               for i in range(2)]  # fmt: skip
    try:
        versions = []
        for i, daemon in enumerate(daemons):
            with Client(daemon.address, timeout=120) as client:
                source = write_tree(tmp_path / f"src-{i}", {"w.bin": shared, "card.md": f"daemon {i}".encode()})
                versions.append(client.register(f"shared-{i}", path=source, environment=False, git=False))
    finally:
        for daemon in daemons:
            stop_daemon(daemon)

    blobs = [k for k in bucket_env.keys() if k.startswith("sha256/")]
    assert [f.sha256 for v in versions for f in v.files if f.path == "w.bin"] == [
        hashlib.sha256(shared).hexdigest()
    ] * 2
    assert len(blobs) == 3  # the shared weights once, and each daemon's card


def test_a_daemon_whose_bucket_is_missing_refuses_to_start_in_one_line(moto: MotoServer, monkeypatch: pytest.MonkeyPatch,
                                                                        tmp_path: Path) -> None:  # fmt: skip
    for name, value in moto.env().items():
        monkeypatch.setenv(name, value)

    with pytest.raises(RuntimeError) as refused:
        start_daemon(tmp_path / "data", tmp_path / "s.sock", "--artifact-store", "s3://no-such-bucket/x")

    output = str(refused.value)
    assert "ARTIFACT_STORE_BUCKET_MISSING" in output or "no-such-bucket" in output
    assert "Traceback" not in output
