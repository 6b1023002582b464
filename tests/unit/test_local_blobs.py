"""The local artifact store: blobs named by their sha256, written once, never overwritten."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest
from studbook.daemon.blobs import BlobMissing, blob_key, open_store
from studbook.daemon.blobs.store import clear_stale_staging
from studbook.daemon.domain.errors import InvalidArgument


def staged(store: object, data: bytes) -> tuple[str, Path]:
    path = store.staging / f"test-{hashlib.sha256(data).hexdigest()[:8]}-{time.monotonic_ns()}.part"  # type: ignore[attr-defined]
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest(), path


def test_a_blob_is_stored_once_and_a_second_put_keeps_the_first_bytes(tmp_path: Path) -> None:
    store = open_store("", tmp_path)
    sha, first = staged(store, b"weights")
    _, second = staged(store, b"weights")

    assert store.put(sha, first) is True
    assert store.put(sha, second) is False
    assert not first.exists() and not second.exists()  # put always consumes what was staged
    assert list(store.list()) == [(sha, 7)]
    assert (tmp_path / "blobs" / blob_key(sha)).stat().st_mode & 0o777 == 0o400


def test_reads_take_an_offset_and_a_length_and_a_missing_blob_says_so(tmp_path: Path) -> None:
    store = open_store("", tmp_path)
    data = os.urandom(3 * 1024 * 1024 + 5)
    sha, path = staged(store, data)
    store.put(sha, path)

    assert b"".join(store.read(sha)) == data
    assert b"".join(store.read(sha, 1024 * 1024 + 1, 10)) == data[1024 * 1024 + 1 : 1024 * 1024 + 11]
    assert store.size(sha) == len(data) and store.has(sha)
    store.delete(sha)
    store.delete(sha)  # twice is no error
    with pytest.raises(BlobMissing):
        store.read(sha)


def test_only_stale_leftovers_are_cleared_from_staging(tmp_path: Path) -> None:
    store = open_store("", tmp_path)
    old, fresh = store.staging / "old.part", store.staging / "fresh.part"
    old.write_bytes(b"killed mid-copy")
    fresh.write_bytes(b"being written now")
    os.utime(old, (time.time() - 7200, time.time() - 7200))

    assert clear_stale_staging(store.staging) == 1
    assert not old.exists() and fresh.exists()


@pytest.mark.parametrize("url", ["ftp://x/y", "file://relative/path", "gopher://"])
def test_an_unknown_or_relative_store_url_is_refused(tmp_path: Path, url: str) -> None:
    with pytest.raises(InvalidArgument) as refused:
        open_store(url, tmp_path)

    assert refused.value.reason == "INVALID_ARTIFACT_STORE"
