"""One specification for every artifact store: the local folder and S3 (a real moto server)."""

from __future__ import annotations

import hashlib
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from studbook.daemon.blobs import BlobMissing, BlobStore
from studbook.daemon.blobs.local import LocalBlobStore
from studbook.daemon.blobs.s3 import SINGLE_PUT_MAX, S3BlobStore
from studbook.daemon.blobs.store import READ_CHUNK
from studbook.daemon.domain.errors import InvalidArgument

# The S3 store reads in windows of this many bytes, smaller than its default so that a few MiB
# cross several windows; not a multiple of a read chunk.
WINDOW = 2 * READ_CHUNK + 17
# Bigger than one S3 single PUT, several windows and many read chunks, and not a multiple of any.
BIG = SINGLE_PUT_MAX + 3 * READ_CHUNK + 12_345


@dataclass
class Backend:
    """A store under test, and a way to open a second store on the same blobs (another daemon)."""

    store: BlobStore
    another: Callable[[], BlobStore]

    def stage(self, data: bytes, store: BlobStore | None = None) -> Path:
        """A verified file in the store's staging folder, as ingest leaves it."""
        staged = (store or self.store).staging / f"{uuid.uuid4().hex}.part"
        staged.write_bytes(data)
        return staged

    def put(self, data: bytes) -> str:
        digest = sha(data)
        self.store.put(digest, self.stage(data))
        return digest


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_all(store: BlobStore, digest: str, offset: int = 0, length: int | None = None) -> bytes:
    return b"".join(store.read(digest, offset, length))


@pytest.fixture(params=["local", "s3"])
def backend(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Backend:
    if request.param == "local":
        return Backend(LocalBlobStore(tmp_path / "blobs"), lambda: LocalBlobStore(tmp_path / "blobs"))
    for name in [name for name in os.environ if name.startswith("AWS_")]:
        monkeypatch.delenv(name)
    bucket = request.getfixturevalue("moto").create_bucket()
    url = bucket.url("team/models")
    opened = iter(range(1_000))

    def open_s3(staging: Path) -> S3BlobStore:
        return S3BlobStore(url, staging=staging, environ=bucket.env, read_window=WINDOW)

    return Backend(open_s3(tmp_path / "staging"), lambda: open_s3(tmp_path / f"staging-{next(opened)}"))


def test_a_usable_store_passes_its_check(backend: Backend) -> None:
    backend.store.check()
    backend.store.check()  # a restart checks again


def test_a_new_blob_is_stored_and_its_staged_file_taken(backend: Backend) -> None:
    data = b"weights" * 1000
    staged = backend.stage(data)

    new = backend.store.put(sha(data), staged)

    assert new is True
    assert not staged.exists()
    assert backend.store.has(sha(data))
    assert backend.store.size(sha(data)) == len(data)
    assert read_all(backend.store, sha(data)) == data


def test_the_same_bytes_put_twice_are_stored_once(backend: Backend) -> None:
    data = b"the same model twice"
    backend.put(data)
    staged = backend.stage(data)

    new = backend.store.put(sha(data), staged)

    assert new is False
    assert not staged.exists()
    assert list(backend.store.list()) == [(sha(data), len(data))]


def test_an_empty_file_is_a_blob_like_any_other(backend: Backend) -> None:
    digest = backend.put(b"")

    assert backend.store.size(digest) == 0
    assert read_all(backend.store, digest) == b""


def test_a_big_blob_reads_back_whole_in_chunks_no_bigger_than_a_read_chunk(backend: Backend) -> None:
    data = os.urandom(BIG)
    digest = backend.put(data)

    chunks = list(backend.store.read(digest))

    assert b"".join(chunks) == data
    assert max(len(chunk) for chunk in chunks) <= READ_CHUNK
    assert backend.store.size(digest) == BIG


@pytest.mark.parametrize(
    ("offset", "length"),
    [
        (0, None),
        (1, 10),
        (READ_CHUNK - 1, 2),  # across a chunk boundary
        (WINDOW - 5, 10),  # across an S3 read window
        (3, 2 * WINDOW + READ_CHUNK),  # several windows
        (BIG - 3, None),
        (BIG - 3, 100),  # a length past the end stops at the end
        (5, 0),
        (BIG, None),  # at the end: nothing
        (BIG + 10, 4),  # past the end: nothing
    ],
)
def test_a_range_reads_exactly_those_bytes(backend: Backend, offset: int, length: int | None) -> None:
    data = os.urandom(BIG)
    digest = backend.put(data)

    got = read_all(backend.store, digest, offset, length)

    assert got == data[offset : None if length is None else offset + length]


def test_a_missing_blob_is_missing_everywhere(backend: Backend) -> None:
    digest = sha(b"never stored")

    assert backend.store.has(digest) is False
    assert backend.store.size(digest) is None
    with pytest.raises(BlobMissing) as missing:
        backend.store.read(digest)  # before the first chunk is asked for
    assert missing.value.reason == "BLOB_MISSING"
    assert missing.value.metadata["sha256"] == digest
    with pytest.raises(BlobMissing):
        backend.store.read(digest, 0, 0)


def test_list_names_every_blob_with_its_size(backend: Backend) -> None:
    blobs = [b"a", b"bb" * 100, os.urandom(3000)]
    for data in blobs:
        backend.put(data)

    listed = sorted(backend.store.list())

    assert listed == sorted((sha(data), len(data)) for data in blobs)


def test_list_entries_say_when_each_blob_was_written(backend: Backend) -> None:
    before = time.time()
    blobs = [b"one", os.urandom(2000)]
    for data in blobs:
        backend.put(data)
    after = time.time()

    entries = sorted(backend.store.list_entries())

    assert [(e.sha256, e.size) for e in entries] == sorted((sha(data), len(data)) for data in blobs)
    # S3 keeps Last-Modified to the second: the window is widened by that much on each side.
    assert all(before - 1 <= e.modified <= after + 1 for e in entries), (before, after, entries)


def test_a_store_records_each_catalog_that_keeps_files_in_it_once(backend: Backend) -> None:
    first, second = "a" * 32, "0123456789abcdef" * 2

    backend.store.add_catalog(first)
    backend.store.add_catalog(first)  # a restart records it again
    backend.another().add_catalog(second)  # another daemon, its own catalog
    with pytest.raises(InvalidArgument):
        backend.store.add_catalog("../../etc")

    assert backend.store.catalogs() == backend.another().catalogs() == {first, second}
    assert list(backend.store.list()) == []  # a record is no blob


def test_a_deleted_blob_is_gone_and_deleting_again_is_no_error(backend: Backend) -> None:
    kept, dropped = backend.put(b"kept"), backend.put(b"dropped")

    backend.store.delete(dropped)
    backend.store.delete(dropped)

    assert not backend.store.has(dropped)
    assert backend.store.has(kept)
    assert [name for name, _ in backend.store.list()] == [kept]


def test_a_name_that_is_not_a_sha256_is_refused(backend: Backend) -> None:
    with pytest.raises(InvalidArgument) as refused:
        backend.store.has("../../etc/passwd")
    assert refused.value.reason == "INVALID_SHA256"


def test_two_stores_putting_the_same_blob_at_once_store_it_once(backend: Backend) -> None:
    """Two daemons on one store: both succeed, exactly one of them stored the bytes."""
    data = os.urandom(64 * 1024)
    stores = [backend.store, backend.another()]
    staged = [backend.stage(data, store) for store in stores]
    start = threading.Barrier(len(stores))
    answers: list[bool] = []
    failures: list[BaseException] = []

    def put(index: int) -> None:
        start.wait()
        try:
            answers.append(stores[index].put(sha(data), staged[index]))
        except BaseException as exc:  # noqa: BLE001 - the test reports it
            failures.append(exc)

    threads = [threading.Thread(target=put, args=(index,)) for index in range(len(stores))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert failures == []
    assert sorted(answers) == [False, True]
    assert read_all(stores[1], sha(data)) == data
    assert not any(path.exists() for path in staged)
