"""What a remote caller can make the daemon read: over TCP, nothing outside the allowed roots."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
from studbook.v1 import (
    access_pb2,
    access_pb2_grpc,
    audit_pb2,
    audit_pb2_grpc,
    registry_pb2,
    registry_pb2_grpc,
    resources_pb2,
)
from support.certs import TlsFiles, make_certificates
from support.net import free_port
from support.rpc import error_info


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_certificates(tmp_path_factory.mktemp("tls"))


def remote_daemon(daemon_factory: Any, tls: TlsFiles, *extra: str) -> tuple[Any, Callable[..., Any]]:
    """A daemon on TCP and a function registering through it with a contributor token."""
    address = f"127.0.0.1:{free_port()}"
    daemon = daemon_factory("--listen", address, "--tls-cert", str(tls.cert), "--tls-key", str(tls.key), *extra)
    with daemon.channel() as local:
        secret = (
            access_pb2_grpc.AccessServiceStub(local)
            .CreateToken(access_pb2.CreateTokenRequest(display_name="ci", role=access_pb2.ROLE_CONTRIBUTOR))
            .secret
        )

    def register(source_path: str, model: str = "m") -> registry_pb2.RegisterModelVersionResponse:
        credentials = grpc.ssl_channel_credentials(tls.ca.read_bytes())
        with grpc.secure_channel(address, credentials) as channel:
            return registry_pb2_grpc.VersionServiceStub(channel).RegisterModelVersion(
                registry_pb2.RegisterModelVersionRequest(parent=f"models/{model}", source_path=source_path,
                                                         version=resources_pb2.ModelVersion()),
                metadata=(("authorization", f"Bearer {secret}"),), timeout=30,
            )  # fmt: skip

    return daemon, register


def refusal(register: Callable[..., Any], path: str) -> tuple[grpc.StatusCode, str, str, dict[str, str]]:
    with pytest.raises(grpc.RpcError) as caught:
        register(path)
    info = error_info(caught.value)
    return caught.value.code(), info.reason, caught.value.details() or "", dict(info.metadata)


def test_a_contributor_over_tcp_cannot_register_server_files_and_learns_nothing(
    daemon_factory: Any, tls: TlsFiles, tmp_path: Path
) -> None:
    secret_dir = tmp_path / "secret"
    secret_dir.mkdir()
    (secret_dir / "README.md").write_text("the card would leak this")
    (secret_dir / "key.pem").write_text("-----BEGIN PRIVATE KEY-----")
    _, register = remote_daemon(daemon_factory, tls)

    existing = refusal(register, "/etc/shadow")
    folder = refusal(register, str(secret_dir))
    absent = refusal(register, "/etc/no-such-file-here")
    relative = refusal(register, "etc/passwd")

    assert existing[:2] == (grpc.StatusCode.PERMISSION_DENIED, "SOURCE_PATH_NOT_ALLOWED")
    # Whether the path exists, is a file or a folder, or is spelled oddly: the same answer.
    assert existing == folder == absent == relative


def test_a_refused_source_path_is_recorded_in_the_audit_trail(daemon_factory: Any, tls: TlsFiles) -> None:
    daemon, register = remote_daemon(daemon_factory, tls)

    refusal(register, "/root")
    with daemon.channel() as local:
        records = list(audit_pb2_grpc.AuditServiceStub(local).ExportAuditTrail(audit_pb2.ExportAuditTrailRequest()))

    denied = [r for r in records if r.event.type == "access.denied"]
    assert denied and denied[-1].event.actor == "ci"


def test_over_tcp_a_path_under_an_allowed_root_registers(daemon_factory: Any, tls: TlsFiles, tmp_path: Path) -> None:
    root = tmp_path / "shared"
    (root / "m1").mkdir(parents=True)
    (root / "m1" / "model.bin").write_bytes(b"weights")
    _, register = remote_daemon(daemon_factory, tls, "--allow-root", str(root))

    reply = register(str(root / "m1"))
    outside = refusal(register, "/etc/shadow")
    climbing = refusal(register, f"{root}/../../etc/shadow")

    assert reply.created and [f.path for f in reply.version.files] == ["model.bin"]
    assert outside[1] == climbing[1] == "SOURCE_PATH_NOT_ALLOWED"


def test_over_tcp_a_symlink_inside_an_allowed_root_leading_out_is_refused(
    daemon_factory: Any, tls: TlsFiles, tmp_path: Path
) -> None:
    root = tmp_path / "shared"
    root.mkdir()
    os.symlink("/etc", root / "escape")
    _, register = remote_daemon(daemon_factory, tls, "--allow-root", str(root))

    code, reason, _, _ = refusal(register, str(root / "escape" / "passwd"))

    assert (code, reason) == (grpc.StatusCode.PERMISSION_DENIED, "SOURCE_PATH_NOT_ALLOWED")


def test_over_the_unix_socket_the_owner_still_names_local_paths(daemon: Any, tmp_path: Path) -> None:
    (tmp_path / "model.bin").write_bytes(b"local weights")
    with daemon.channel() as local:
        reply = registry_pb2_grpc.VersionServiceStub(local).RegisterModelVersion(
            registry_pb2.RegisterModelVersionRequest(parent="models/m", source_path=str(tmp_path / "model.bin")),
            timeout=30,
        )

    assert reply.created and reply.version.files[0].path == "model.bin"
