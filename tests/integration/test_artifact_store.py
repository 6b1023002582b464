"""The registry keeps what it registers: every file's bytes in a content-addressed store,
readable back byte for byte whatever happens to the folder it came from."""

from __future__ import annotations

import hashlib
import shutil
import threading
from pathlib import Path
from typing import Any

import grpc
import pytest
from conftest import start_daemon, stop_daemon
from studbook.v1 import artifacts_pb2, artifacts_pb2_grpc, registry_pb2, registry_pb2_grpc
from support.files import random_weights, write_tree
from support.rpc import error_info
from support.waiting import wait_for


def register(channel: grpc.Channel, model: str, path: Path, **extra: Any) -> registry_pb2.RegisterModelVersionResponse:
    return registry_pb2_grpc.VersionServiceStub(channel).RegisterModelVersion(
        registry_pb2.RegisterModelVersionRequest(parent=f"models/{model}", source_path=str(path), **extra), timeout=60
    )


def read(channel: grpc.Channel, name: str, path: str, offset: int = 0, length: int = 0) -> tuple[list[Any], bytes]:
    replies = list(artifacts_pb2_grpc.ArtifactServiceStub(channel).ReadArtifactFile(
        artifacts_pb2.ReadArtifactFileRequest(name=name, path=path, offset=offset, length=length), timeout=60))  # fmt: skip
    return replies, b"".join(r.data for r in replies)


def blobs_in(data_dir: Path) -> dict[str, Path]:
    return {p.name: p for p in (data_dir / "blobs" / "sha256").rglob("*") if p.is_file()}


def test_a_registered_folder_is_kept_and_reads_back_byte_identical_after_it_is_deleted(
    daemon: Any, tmp_path: Path
) -> None:
    weights = random_weights(3 * 1024 * 1024 + 17)
    source = write_tree(tmp_path / "model", {"weights.bin": weights, "sub/config.json": b'{"a": 1}'})
    with daemon.channel() as channel:
        version = register(channel, "kept", source).version
        shutil.rmtree(source)
        replies, data = read(channel, version.name, "weights.bin")
        _, config = read(channel, "models/kept/versions/latest", "sub/config.json")
        fetched = registry_pb2_grpc.VersionServiceStub(channel).GetModelVersion(
            registry_pb2.GetModelVersionRequest(name=version.name)
        )

    assert version.kept and fetched.kept and fetched.status == version.status
    assert data == weights and config == b'{"a": 1}'
    assert (replies[0].size, replies[0].sha256) == (len(weights), hashlib.sha256(weights).hexdigest())
    assert replies[0].version == "models/kept/versions/1"
    assert max(len(r.data) for r in replies) <= 1024 * 1024


def test_over_the_unix_socket_a_caller_may_copy_the_stored_file_itself(daemon: Any, tmp_path: Path) -> None:
    data = random_weights(100_000)
    with daemon.channel() as channel:
        name = register(channel, "local", write_tree(tmp_path / "m", {"w.bin": data})).version.name
        replies = list(artifacts_pb2_grpc.ArtifactServiceStub(channel).ReadArtifactFile(
            artifacts_pb2.ReadArtifactFileRequest(name=name, path="w.bin", local_copy=True)))  # fmt: skip

    assert len(replies) == 1 and replies[0].data == b""
    assert Path(replies[0].local_path).read_bytes() == data
    assert Path(replies[0].local_path) == blobs_in(daemon.data_dir)[hashlib.sha256(data).hexdigest()]


def test_a_read_resumes_from_an_offset_and_stops_after_a_length(daemon: Any, tmp_path: Path) -> None:
    data = bytes(range(256)) * 10_000
    with daemon.channel() as channel:
        name = register(channel, "ranges", write_tree(tmp_path / "m", {"w.bin": data})).version.name
        _, tail = read(channel, name, "w.bin", offset=1000)
        _, middle = read(channel, name, "w.bin", offset=5, length=300)
        replies, empty = read(channel, name, "w.bin", offset=len(data))

    assert tail == data[1000:] and middle == data[5:305]
    assert empty == b"" and replies[0].size == len(data)


def test_identical_files_are_stored_once_across_versions_and_models(daemon: Any, tmp_path: Path) -> None:
    shared = random_weights(100_000)
    with daemon.channel() as channel:
        register(channel, "one", write_tree(tmp_path / "a", {"w.bin": shared, "card.md": b"a"}))
        register(channel, "two", write_tree(tmp_path / "b", {"weights.bin": shared, "card.md": b"b"}))

    stored = blobs_in(daemon.data_dir)
    assert hashlib.sha256(shared).hexdigest() in stored
    assert len(stored) == 3
    for sha256, path in stored.items():  # every blob holds exactly the bytes it is named after
        assert hashlib.sha256(path.read_bytes()).hexdigest() == sha256
        assert path.stat().st_mode & 0o777 == 0o400


def test_keep_in_place_references_the_files_without_a_copy(daemon: Any, tmp_path: Path) -> None:
    source = write_tree(tmp_path / "huge", {"w.bin": b"already on safe storage"})
    with daemon.channel() as channel:
        version = register(channel, "inplace", source, keep_in_place=True).version
        with pytest.raises(grpc.RpcError) as refused:
            read(channel, version.name, "w.bin")

    assert not version.kept and version.storage_uri == source.as_uri()
    assert blobs_in(daemon.data_dir) == {}
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_info(refused.value).reason == "VERSION_NOT_KEPT"


@pytest.mark.parametrize(("path", "offset", "length", "code", "reason"), [
    ("nope.bin", 0, 0, grpc.StatusCode.NOT_FOUND, "FILE_NOT_FOUND"),
    ("w.bin", 99, 0, grpc.StatusCode.OUT_OF_RANGE, "INVALID_OFFSET"),
    ("w.bin", -1, 0, grpc.StatusCode.OUT_OF_RANGE, "INVALID_OFFSET"),
    ("w.bin", 0, -5, grpc.StatusCode.INVALID_ARGUMENT, "INVALID_LENGTH"),
])  # fmt: skip
def test_a_bad_read_says_what_is_wrong(daemon: Any, tmp_path: Path, path: str, offset: int, length: int,
                                       code: grpc.StatusCode, reason: str) -> None:  # fmt: skip
    with daemon.channel() as channel:
        name = register(channel, "bad", write_tree(tmp_path / "m", {"w.bin": b"ten bytes!"})).version.name
        with pytest.raises(grpc.RpcError) as refused:
            read(channel, name, path, offset, length)

    assert (refused.value.code(), error_info(refused.value).reason) == (code, reason)


def test_kill_9_during_an_ingest_leaves_no_partial_blob_and_no_version(short_dir: Path, tmp_path: Path) -> None:
    big = write_tree(tmp_path / "big", {"w.bin": random_weights(256 * 1024 * 1024)})
    daemon = start_daemon(short_dir / "data", short_dir / "s.sock")
    staging = daemon.data_dir / "blobs" / "tmp"
    try:
        channel = daemon.channel()
        caller = threading.Thread(target=lambda: _ignore_errors(register, channel, "big", big), daemon=True)
        caller.start()
        wait_for(lambda: any(p.stat().st_size > 0 for p in staging.iterdir()), "a partial copy in staging")
        daemon.kill()
        caller.join(timeout=30)
        channel.close()
        restarted = start_daemon(short_dir / "data", short_dir / "s.sock")
        with restarted.channel() as channel:
            listed = registry_pb2_grpc.VersionServiceStub(channel).ListModelVersions(
                registry_pb2.ListModelVersionsRequest(parent="models/-")
            )
        stop_daemon(restarted)
    finally:
        stop_daemon(daemon)

    assert list(listed.versions) == []
    assert blobs_in(short_dir / "data") == {}  # the partial copy never took a blob's name


def _ignore_errors(function: Any, *args: Any) -> None:
    try:
        function(*args)
    except grpc.RpcError:
        pass
