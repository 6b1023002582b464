"""Remote clients upload: a version's files travel to the daemon in resumable chunks, are
checked by sha256, kept, and read back byte for byte."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import grpc
import pytest
from studbook.client.clients import Client
from studbook.client.errors import StudbookError
from studbook.v1 import (
    access_pb2,
    access_pb2_grpc,
    artifacts_pb2,
    artifacts_pb2_grpc,
    registry_pb2,
    registry_pb2_grpc,
    resources_pb2,
)
from support.certs import TlsFiles, make_certificates
from support.cli import runner
from support.files import random_weights
from support.net import free_port
from support.rpc import error_info


def make_model(path: Path) -> dict[str, bytes]:
    header = json.dumps({"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}}).encode()
    files = {
        "model.safetensors": len(header).to_bytes(8, "little") + header + random_weights(16),
        "weights/shard.bin": random_weights(3 * 1024 * 1024 + 7),
        "README.md": b"# A card that travelled with the files\n",
    }
    for name, data in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_bytes(data)
    return files


def header_then(sha256: str, size: int, offset: int, *chunks: bytes) -> list[artifacts_pb2.UploadArtifactFileRequest]:
    first = artifacts_pb2.UploadArtifactFileRequest(
        header=artifacts_pb2.UploadHeader(sha256=sha256, size=size, offset=offset)
    )
    return [first, *(artifacts_pb2.UploadArtifactFileRequest(data=c) for c in chunks)]


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_certificates(tmp_path_factory.mktemp("tls"))


def test_a_contributor_over_tcp_uploads_a_folder_that_is_kept_inspected_and_pulled_back(
    daemon_factory: Any, tls: TlsFiles, tmp_path: Path
) -> None:
    address = f"127.0.0.1:{free_port()}"
    daemon = daemon_factory("--listen", address, "--tls-cert", str(tls.cert), "--tls-key", str(tls.key))
    with daemon.channel() as local:
        secret = (
            access_pb2_grpc.AccessServiceStub(local)
            .CreateToken(access_pb2.CreateTokenRequest(display_name="laptop", role=access_pb2.ROLE_CONTRIBUTOR))
            .secret
        )
    files = make_model(tmp_path / "model")

    with Client(address, token=secret, tls_ca=tls.ca, timeout=60) as client:
        version = client.register("remote", path=tmp_path / "model", environment=False, git=False)
        pulled = client.download("remote", tmp_path / "back")
    credentials = grpc.ssl_channel_credentials(tls.ca.read_bytes())
    with grpc.secure_channel(address, credentials) as channel:
        asked_for_a_path = list(artifacts_pb2_grpc.ArtifactServiceStub(channel).ReadArtifactFile(
            artifacts_pb2.ReadArtifactFileRequest(name=version.name, path="README.md", local_copy=True),
            metadata=(("authorization", f"Bearer {secret}"),)))  # fmt: skip

    by_path = {f.path: f for f in version.files}
    assert version.kept and set(by_path) == set(files)
    assert by_path["model.safetensors"].format == "safetensors"
    assert version.model_card.startswith("# A card that travelled")
    assert all(by_path[p].sha256 == hashlib.sha256(d).hexdigest() for p, d in files.items())
    assert {p.path.relative_to(tmp_path / "back").as_posix(): p.path.read_bytes() for p in pulled} == files
    # Over TCP the daemon's disk is not the caller's: the bytes come, never a path.
    assert [m.local_path for m in asked_for_a_path] == [""]
    assert b"".join(m.data for m in asked_for_a_path) == files["README.md"]


def test_bytes_the_store_holds_already_are_not_sent_again(daemon: Any, tmp_path: Path) -> None:
    files = make_model(tmp_path / "model")
    sent: list[int] = []
    with Client(daemon.address, timeout=60) as client:
        client.register("first", path=tmp_path / "model", upload=True, environment=False, git=False)
        again = client.register("second", path=tmp_path / "model", upload=True, progress=sent.append,
                                environment=False, git=False)  # fmt: skip

    assert again.kept and len(again.files) == len(files)
    assert sent == []


def test_an_interrupted_upload_resumes_from_the_daemons_offset(daemon: Any, tmp_path: Path) -> None:
    data = random_weights(2 * 1024 * 1024 + 5)
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "w.bin").write_bytes(data)
    sha = hashlib.sha256(data).hexdigest()
    with daemon.channel() as channel:
        artifacts = artifacts_pb2_grpc.ArtifactServiceStub(channel)
        partial = artifacts.UploadArtifactFile(iter(header_then(sha, len(data), 0, data[:1_000_000])))
        where = artifacts.GetUploadOffset(artifacts_pb2.GetUploadOffsetRequest(sha256=sha, size=len(data)))
    sent: list[int] = []
    with Client(daemon.address, timeout=60) as client:
        version = client.register("resumed", path=tmp_path / "model", upload=True, progress=sent.append,
                                  environment=False, git=False)  # fmt: skip

    assert (partial.received, partial.stored) == (1_000_000, False)
    assert (where.offset, where.stored) == (1_000_000, False)
    assert sum(sent) == len(data) - 1_000_000
    assert version.files[0].sha256 == sha


def test_bytes_that_do_not_hash_to_the_sha256_are_dropped(daemon: Any) -> None:
    data = b"not what was announced"
    claimed = hashlib.sha256(b"something else!!!!!!!!").hexdigest()
    with daemon.channel() as channel:
        artifacts = artifacts_pb2_grpc.ArtifactServiceStub(channel)
        with pytest.raises(grpc.RpcError) as refused:
            artifacts.UploadArtifactFile(iter(header_then(claimed, len(data), 0, data)))
        after = artifacts.GetUploadOffset(artifacts_pb2.GetUploadOffsetRequest(sha256=claimed, size=len(data)))

    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_info(refused.value).reason == "SHA256_MISMATCH"
    assert (after.offset, after.stored) == (0, False)


def test_a_chunk_sent_from_the_wrong_offset_is_refused_with_the_right_one(daemon: Any) -> None:
    data = random_weights(1000)
    sha = hashlib.sha256(data).hexdigest()
    with daemon.channel() as channel:
        artifacts = artifacts_pb2_grpc.ArtifactServiceStub(channel)
        artifacts.UploadArtifactFile(iter(header_then(sha, 1000, 0, data[:100])))
        with pytest.raises(grpc.RpcError) as refused:
            artifacts.UploadArtifactFile(iter(header_then(sha, 1000, 500, data[500:])))

    assert refused.value.code() == grpc.StatusCode.OUT_OF_RANGE
    info = error_info(refused.value)
    assert (info.reason, info.metadata["offset"]) == ("UPLOAD_OFFSET_MISMATCH", "100")


@pytest.mark.parametrize(("path", "sha256", "code", "reason"), [
    ("../escape.bin", "a" * 64, grpc.StatusCode.INVALID_ARGUMENT, "INVALID_FILE_NAME"),
    ("/etc/passwd", "a" * 64, grpc.StatusCode.INVALID_ARGUMENT, "INVALID_FILE_NAME"),
    ("w.bin", "not-a-hash", grpc.StatusCode.INVALID_ARGUMENT, "INVALID_SHA256"),
    ("w.bin", "b" * 64, grpc.StatusCode.FAILED_PRECONDITION, "BLOB_MISSING"),
])  # fmt: skip
def test_a_registration_naming_files_not_uploaded_or_badly_is_refused(daemon: Any, path: str, sha256: str,
                                                                      code: grpc.StatusCode, reason: str) -> None:  # fmt: skip
    with daemon.channel() as channel:
        with pytest.raises(grpc.RpcError) as refused:
            registry_pb2_grpc.VersionServiceStub(channel).RegisterModelVersion(
                registry_pb2.RegisterModelVersionRequest(
                    parent="models/m", uploaded_files=[resources_pb2.ArtifactFile(path=path, size=5, sha256=sha256)]
                )
            )

    assert (refused.value.code(), error_info(refused.value).reason) == (code, reason)


def test_the_cli_uploads_with_register_upload(daemon: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = make_model(tmp_path / "model")
    studbook = runner(daemon.address, capsys)

    registered = studbook("--json", "register", "cli-up", str(tmp_path / "model"), "--upload", "--no-env")
    pulled = studbook("pull", "cli-up", str(tmp_path / "back"))

    assert registered.code == 0, registered.err
    assert registered.json()["version"]["kept"] is True
    assert pulled.code == 0 and (tmp_path / "back" / "weights" / "shard.bin").read_bytes() == files["weights/shard.bin"]


def test_keep_in_place_cannot_be_uploaded(daemon: Any, tmp_path: Path) -> None:
    make_model(tmp_path / "model")
    with Client(daemon.address) as client, pytest.raises(StudbookError) as refused:
        client.register("x", path=tmp_path / "model", upload=True, keep_in_place=True, environment=False, git=False)

    assert refused.value.reason == "CONFLICTING_SOURCES"


def test_the_async_client_uploads_too(daemon: Any, tmp_path: Path) -> None:
    import asyncio

    from studbook.client.clients import AsyncClient

    files = make_model(tmp_path / "model")

    async def register() -> resources_pb2.ModelVersion:
        async with AsyncClient(daemon.address, timeout=60) as client:
            return await client.register("async-up", path=tmp_path / "model", upload=True, environment=False, git=False)

    version = asyncio.run(register())

    assert version.kept and {f.path for f in version.files} == set(files)
    assert not version.storage_uri  # nothing on the daemon's disk was named
