"""Serving over TCP: the daemon only with TLS, clients trusting a CA and sending a bearer token."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from hypothesis import given, settings
from hypothesis import strategies as st
from studbook.cli import commands as cli
from studbook.client.clients import AsyncClient, Client, StudbookError, call_metadata
from studbook.daemon import config
from studbook.daemon.config import Settings
from studbook.daemon.server import StartupError, listen_credentials
from studbook.v1 import access_pb2, access_pb2_grpc, registry_pb2, registry_pb2_grpc
from support.certs import TlsFiles, make_certificates
from support.net import free_port
from support.rpc import error_info

TOKEN = "sbk_k3y1d_s3cr3tv4lu3"
BEARER = ("authorization", f"Bearer {TOKEN}")


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_certificates(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def other_ca(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """Certificates of an unrelated CA: trusting it must not let a client trust the daemon."""
    return make_certificates(tmp_path_factory.mktemp("other"))


@dataclass
class TlsDaemon:
    daemon: Any
    address: str


@pytest.fixture
def tls_daemon(daemon_factory: Any, tls: TlsFiles) -> TlsDaemon:
    address = f"127.0.0.1:{free_port()}"
    daemon = daemon_factory("--listen", address, "--tls-cert", str(tls.cert), "--tls-key", str(tls.key))
    return TlsDaemon(daemon, address)


# ---- the daemon over TCP --------------------------------------------------------------


def test_a_client_trusting_the_ca_reaches_the_daemon_over_tcp(tls_daemon: TlsDaemon, tls: TlsFiles) -> None:
    with Client(tls_daemon.address, tls_ca=tls.ca) as client:
        status = client.health()

    assert status == "SERVING"


def tcp_caller(address: str, tls: TlsFiles, *metadata: tuple[str, str]) -> access_pb2.Caller:
    credentials = grpc.ssl_channel_credentials(tls.ca.read_bytes())
    with grpc.secure_channel(address, credentials) as channel:
        stub = access_pb2_grpc.AccessServiceStub(channel)
        return stub.GetCaller(access_pb2.GetCallerRequest(), metadata=metadata, timeout=10)


def test_over_tcp_a_token_is_needed_and_names_the_caller(tls_daemon: TlsDaemon, tls: TlsFiles) -> None:
    with tls_daemon.daemon.channel() as local:
        created = access_pb2_grpc.AccessServiceStub(local).CreateToken(
            access_pb2.CreateTokenRequest(display_name="remote", role=access_pb2.ROLE_VIEWER)
        )

    caller = tcp_caller(tls_daemon.address, tls, ("authorization", f"Bearer {created.secret}"))
    with pytest.raises(grpc.RpcError) as without:
        tcp_caller(tls_daemon.address, tls, ("x-studbook-actor", "admin"))

    assert (caller.actor, caller.role, caller.transport) == ("remote", access_pb2.ROLE_VIEWER, "tcp")
    assert without.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert error_info(without.value).reason == "TOKEN_MISSING"


def test_a_token_revoked_while_connected_over_tcp_is_refused_at_the_next_call(tls_daemon: TlsDaemon,
                                                                             tls: TlsFiles) -> None:  # fmt: skip
    with tls_daemon.daemon.channel() as local:
        access = access_pb2_grpc.AccessServiceStub(local)
        secret = access.CreateToken(access_pb2.CreateTokenRequest(display_name="laptop",
                                                                  role=access_pb2.ROLE_MAINTAINER)).secret  # fmt: skip
        credentials = grpc.ssl_channel_credentials(tls.ca.read_bytes())
        with grpc.secure_channel(tls_daemon.address, credentials) as remote:
            models = registry_pb2_grpc.ModelServiceStub(remote)
            bearer = (("authorization", f"Bearer {secret}"),)
            models.ListModels(registry_pb2.ListModelsRequest(), metadata=bearer, timeout=10)
            access.RevokeToken(access_pb2.RevokeTokenRequest(name="laptop"))
            with pytest.raises(grpc.RpcError) as caught:
                models.ListModels(registry_pb2.ListModelsRequest(), metadata=bearer, timeout=10)

    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert error_info(caught.value).reason == "TOKEN_REVOKED"


def test_the_startup_line_names_the_tcp_address(tls_daemon: TlsDaemon) -> None:
    output = tls_daemon.daemon.output()

    assert f"ready on unix://{tls_daemon.daemon.socket} and {tls_daemon.address} (TLS)" in output
    assert "no token exists yet" in output  # a fresh catalog: the port refuses everyone until one is made


def test_plaintext_to_the_tcp_port_fails(tls_daemon: TlsDaemon) -> None:
    with grpc.insecure_channel(tls_daemon.address) as channel, pytest.raises(grpc.RpcError) as raised:
        health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10)

    assert raised.value.code() is grpc.StatusCode.UNAVAILABLE


@pytest.mark.parametrize("trusting", ["system roots", "another CA"])
def test_a_client_that_does_not_trust_the_daemon_is_told_to_pass_its_ca(
    tls_daemon: TlsDaemon, other_ca: TlsFiles, trusting: str
) -> None:
    tls_ca = other_ca.ca if trusting == "another CA" else None

    with Client(tls_daemon.address, tls_ca=tls_ca, retries=False) as client, pytest.raises(StudbookError) as raised:
        client.health()

    assert (raised.value.code, raised.value.reason) == ("UNAVAILABLE", "TLS_UNTRUSTED_CERTIFICATE")
    assert "--tls-ca" in raised.value.message


def test_the_cli_without_the_ca_exits_unavailable_with_the_advice(
    tls_daemon: TlsDaemon, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.main(["--address", tls_daemon.address, "status"])

    err = capsys.readouterr().err
    assert code == cli.EXIT_UNAVAILABLE
    assert err.startswith("error: ") and "does not trust" in err and "[TLS_UNTRUSTED_CERTIFICATE]" in err


def test_the_unix_socket_stays_plaintext_whatever_ca_is_set(
    tls_daemon: TlsDaemon, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A CA meant for TCP daemons (even a missing one) never gets in the way of the local socket.
    monkeypatch.setenv("STUDBOOK_TLS_CA", str(tmp_path / "missing.pem"))

    with Client(tls_daemon.daemon.address, token=TOKEN) as client:
        status = client.health()

    assert status == "SERVING"


# ---- refusing to start -----------------------------------------------------------------


def run_daemon(short_dir: Path, *args: str, module: str = "studbook.daemon") -> subprocess.CompletedProcess[str]:
    """A daemon (or `studbook serve`) expected to refuse to start; its exit code and stderr."""
    command = [sys.executable, "-m", module, *(["serve"] if module == "studbook.cli.commands" else []),
               "--data-dir", str(short_dir / "d"), "--socket", str(short_dir / "s.sock"), *args]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


def test_serve_listen_without_tls_exits_saying_what_to_pass(short_dir: Path) -> None:
    started = run_daemon(short_dir, "--listen", f"0.0.0.0:{free_port()}", module="studbook.cli.commands")

    assert started.returncode != 0
    assert "--tls-cert FILE and --tls-key FILE" in started.stderr
    assert "Traceback" not in started.stderr


def test_a_key_readable_by_group_is_refused(short_dir: Path, tls: TlsFiles, tmp_path: Path) -> None:
    key = tmp_path / "server.key"
    key.write_bytes(tls.key.read_bytes())
    key.chmod(0o640)

    started = run_daemon(short_dir, "--listen", f"127.0.0.1:{free_port()}", "--tls-cert", str(tls.cert),
                         "--tls-key", str(key))  # fmt: skip

    assert started.returncode != 0
    assert f"chmod 600 {key}" in started.stderr and "mode 0640" in started.stderr


def test_a_port_that_is_taken_is_refused_at_start(short_dir: Path, tls: TlsFiles) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = f"127.0.0.1:{taken.getsockname()[1]}"

        started = run_daemon(short_dir, "--listen", address, "--tls-cert", str(tls.cert), "--tls-key", str(tls.key))

    assert started.returncode != 0
    assert f"cannot listen on {address}" in started.stderr


def listening(tls_cert: Path | None, tls_key: Path | None) -> Settings:
    return Settings(listen="0.0.0.0:7443", tls_cert=tls_cert, tls_key=tls_key)


@pytest.mark.parametrize("missing", ["tls_cert", "tls_key"])
def test_listening_needs_both_certificate_and_key(tls: TlsFiles, missing: str) -> None:
    given_files = {"tls_cert": tls.cert, "tls_key": tls.key, missing: None}

    with pytest.raises(StartupError, match="--tls-cert FILE and --tls-key FILE"):
        listen_credentials(listening(**given_files))


def private_copy(path: Path, folder: Path) -> Path:
    """`path` copied with mode 0600, so it passes the key's mode check."""
    copy = folder / f"private-{path.name}"
    copy.write_bytes(path.read_bytes())
    copy.chmod(0o600)
    return copy


def encrypted_key(folder: Path) -> Path:
    key = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.BestAvailableEncryption(b"pw")
    )
    path = folder / "encrypted.key"
    path.write_bytes(key)
    path.chmod(0o600)
    return path


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("missing certificate", "does not exist"),
        ("missing key", "does not exist"),
        ("swapped files", "holds no PEM certificate"),
        ("key of another certificate", "does not belong to the certificate"),
        ("encrypted key", "is encrypted"),
    ],
)
def test_a_pair_that_cannot_serve_tls_stops_the_start_with_the_reason(
    tls: TlsFiles, other_ca: TlsFiles, tmp_path: Path, case: str, expected: str
) -> None:
    cert, key = {
        "missing certificate": lambda: (tmp_path / "nope.pem", tls.key),
        "missing key": lambda: (tls.cert, tmp_path / "nope.key"),
        "swapped files": lambda: (tls.key, private_copy(tls.cert, tmp_path)),
        "key of another certificate": lambda: (tls.cert, other_ca.key),
        "encrypted key": lambda: (tls.cert, encrypted_key(tmp_path)),
    }[case]()

    with pytest.raises(StartupError, match=expected):
        listen_credentials(listening(cert, key))


def test_a_good_pair_gives_server_credentials(tls: TlsFiles) -> None:
    credentials = listen_credentials(listening(tls.cert, tls.key))

    assert isinstance(credentials, grpc.ServerCredentials)


@settings(max_examples=60, deadline=None)
@given(mode=st.integers(min_value=0, max_value=0o777))
def test_a_key_is_refused_exactly_when_group_or_others_may_touch_it(tls: TlsFiles, mode: int) -> None:
    mode |= 0o400  # the owner reads it in every case: only the others' bits are in question
    original = tls.key.stat().st_mode & 0o777
    os.chmod(tls.key, mode)
    try:
        try:
            listen_credentials(listening(tls.cert, tls.key))
            refused = False
        except StartupError as error:
            refused = "accessible to group or others" in str(error)
    finally:
        os.chmod(tls.key, original)

    assert refused == bool(mode & 0o077)


def test_tls_files_come_from_the_config_file_and_flags_win(tmp_path: Path) -> None:
    config_file = tmp_path / "config.toml"
    config_file.write_text(
        '[daemon]\nlisten = "0.0.0.0:7443"\ntls_cert = "/etc/sb/cert.pem"\ntls_key = "/etc/sb/key.pem"\n'
    )

    from_file = config.load(["--config", str(config_file)])
    overridden = config.load(["--config", str(config_file), "--tls-key", "/run/sb/key.pem"])

    assert (from_file.listen, from_file.tls_cert, from_file.tls_key) == (
        "0.0.0.0:7443", Path("/etc/sb/cert.pem"), Path("/etc/sb/key.pem"))  # fmt: skip
    assert (overridden.tls_cert, overridden.tls_key) == (Path("/etc/sb/cert.pem"), Path("/run/sb/key.pem"))


# ---- what the client sends: a stand-in server that records every call's metadata ------


class Recorder(grpc.ServerInterceptor):
    """Writes down the method and metadata of every call, answered or not."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[tuple[str, str]]]] = []

    def intercept_service(self, continuation: Any, details: grpc.HandlerCallDetails) -> Any:
        self.calls.append((details.method, [(m.key, m.value) for m in details.invocation_metadata]))
        return continuation(details)

    def methods(self) -> list[str]:
        return [method.rsplit("/", 1)[1] for method, _ in self.calls]

    def without(self, header: tuple[str, str]) -> list[str]:
        return [method for method, metadata in self.calls if header not in metadata]


@dataclass
class RecordingServer:
    recorder: Recorder
    address: str  # TLS, with the test CA's certificate
    plain_address: str  # the same server without TLS


@pytest.fixture
def recording(tls: TlsFiles) -> Iterator[RecordingServer]:
    recorder = Recorder()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4), interceptors=[recorder])
    health_pb2_grpc.add_HealthServicer_to_server(health.HealthServicer(), server)
    credentials = grpc.ssl_server_credentials([(tls.key.read_bytes(), tls.cert.read_bytes())])
    port = server.add_secure_port("127.0.0.1:0", credentials)
    plain = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield RecordingServer(recorder, f"127.0.0.1:{port}", f"127.0.0.1:{plain}")
    server.stop(grace=None)


def test_the_client_sends_the_bearer_token_on_every_call(recording: RecordingServer, tls: TlsFiles) -> None:
    with Client(recording.address, token=TOKEN, tls_ca=tls.ca, retries=False) as client:
        client.health()
        # The stand-in serves health only: the others fail, but only after their metadata arrived.
        for call in (lambda: client.get_model("fraud"), lambda: list(client.watch(0)),
                     lambda: list(client.export_audit_trail())):  # fmt: skip
            with pytest.raises(StudbookError):
                call()

    assert recording.recorder.methods() == ["Check", "GetModel", "Watch", "ExportAuditTrail"]
    assert recording.recorder.without(BEARER) == []
    assert all(any(key == "x-studbook-actor" for key, _ in metadata) for _, metadata in recording.recorder.calls)


def test_the_async_client_sends_the_bearer_token_on_every_call(recording: RecordingServer, tls: TlsFiles) -> None:
    async def calls() -> None:
        async with AsyncClient(recording.address, token=TOKEN, tls_ca=tls.ca, retries=False) as client:
            await client.health()
            with pytest.raises(StudbookError):
                async for _ in client.watch(0):
                    pass

    asyncio.run(calls())

    assert recording.recorder.methods() == ["Check", "Watch"]
    assert recording.recorder.without(BEARER) == []


def test_token_and_ca_default_to_the_environment(
    recording: RecordingServer, tls: TlsFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STUDBOOK_TOKEN", TOKEN)
    monkeypatch.setenv("STUDBOOK_TLS_CA", str(tls.ca))

    with Client(recording.address) as client:
        client.health()

    assert recording.recorder.methods() == ["Check"] and recording.recorder.without(BEARER) == []


def test_without_a_token_no_authorization_header_is_sent(recording: RecordingServer, tls: TlsFiles) -> None:
    with Client(recording.address, tls_ca=tls.ca) as client:
        client.health()

    assert [key for _, metadata in recording.recorder.calls for key, _ in metadata if key == "authorization"] == []


def test_a_tls_client_meeting_a_plaintext_port_is_told_so(recording: RecordingServer, tls: TlsFiles) -> None:
    with (
        Client(recording.plain_address, tls_ca=tls.ca, retries=False) as client,
        pytest.raises(StudbookError) as raised,
    ):
        client.health()

    assert raised.value.reason == "TLS_NOT_SERVED"


def test_the_cli_flags_reach_every_call_and_the_token_is_never_printed(
    recording: RecordingServer, tls: TlsFiles, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.main(["--address", recording.address, "--tls-ca", str(tls.ca), "--token", TOKEN, "models"])

    captured = capsys.readouterr()
    assert code != cli.EXIT_OK  # the stand-in has no ModelService
    assert recording.recorder.methods() == ["ListModels"] and recording.recorder.without(BEARER) == []
    assert TOKEN not in captured.out + captured.err


def test_the_terminal_ui_connects_with_the_token_and_the_ca(
    recording: RecordingServer, tls: TlsFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    from studbook.tui.app import StudbookApp

    def run_headless(app: StudbookApp) -> None:
        # In place of the screen: what each of the app's clients sends.
        asyncio.run(app.client.health())
        asyncio.run(app.watch_client.health())

    monkeypatch.setattr(StudbookApp, "run", run_headless)
    monkeypatch.setenv("STUDBOOK_TOKEN", TOKEN)

    code = cli.main(["--address", recording.address, "--tls-ca", str(tls.ca)])

    assert code == cli.EXIT_OK
    # The launcher's probe (over TLS: no daemon is started for a TCP address), then both clients.
    assert recording.recorder.methods() == ["Check", "Check", "Check"]
    assert recording.recorder.without(BEARER) == []


# ---- a CA or token the client cannot use -----------------------------------------------


def test_a_missing_ca_file_is_a_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "ca.pem"

    with pytest.raises(StudbookError) as raised:
        Client("127.0.0.1:7443", tls_ca=missing)

    assert (raised.value.code, raised.value.reason) == ("INVALID_ARGUMENT", "TLS_CA_UNREADABLE")
    assert str(missing) in raised.value.message


def test_the_async_client_refuses_a_ca_that_is_no_certificate(tls: TlsFiles) -> None:
    with pytest.raises(StudbookError) as raised:
        AsyncClient("127.0.0.1:7443", tls_ca=tls.key)

    assert raised.value.reason == "TLS_CA_INVALID"


def test_the_cli_reports_a_missing_ca_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["--address", "127.0.0.1:7443", "--tls-ca", str(tmp_path / "ca.pem"), "models"])

    err = capsys.readouterr().err
    assert code == cli.EXIT_INVALID
    assert err.count("\n") == 1 and "[TLS_CA_UNREADABLE]" in err and "Traceback" not in err


@given(token=st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1))
def test_a_printable_token_is_sent_as_a_bearer_header(token: str) -> None:
    metadata = call_metadata("ana@lab", token)

    assert metadata == (("x-studbook-actor", "ana@lab"), ("authorization", f"Bearer {token}"))


@given(token=st.text(min_size=1).filter(lambda t: not (t.isascii() and t.isprintable())))
def test_a_token_no_header_can_carry_is_refused_without_echoing_it(token: str) -> None:
    with pytest.raises(StudbookError) as raised:
        call_metadata("ana@lab", token)

    assert raised.value.reason == "INVALID_TOKEN"
    assert token not in str(raised.value)
