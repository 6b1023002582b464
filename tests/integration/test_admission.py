"""Over TCP a caller is admitted before its message is read, and no message is read past a small
limit: callers without a token cannot make the daemon hold what they send."""

from __future__ import annotations

from collections.abc import Callable
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2
from studbook.client.clients import Client, StudbookError
from studbook.daemon.config import MAX_REMOTE_MESSAGE_BYTES
from studbook.daemon.domain.names import MAX_MODEL_CARD
from studbook.v1 import access_pb2, access_pb2_grpc, registry_pb2, registry_pb2_grpc, resources_pb2
from support.certs import TlsFiles, make_certificates
from support.files import random_weights
from support.net import free_port

SENDERS = 12
HUGE = 60 << 20
# Before admission came first, twelve such sends grew the daemon by ~720 MiB, which it kept.
# Admitted first, it grows by ~10 MiB (TLS sessions, transport buffers); the bound is generous
# so a busy machine cannot make this fail, and still far below what reading them would take.
MAX_GROWTH_MIB = 160


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_certificates(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def remote(daemon_factory: Any, tls: TlsFiles) -> tuple[Any, str]:
    address = f"127.0.0.1:{free_port()}"
    return daemon_factory("--listen", address, "--tls-cert", str(tls.cert), "--tls-key", str(tls.key)), address


def rss_mib(pid: int) -> float:
    for entry in Path(f"/proc/{pid}/status").read_text().splitlines():
        if entry.startswith("VmRSS:"):
            return int(entry.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for pid {pid}")


def send_raw(address: str, tls: TlsFiles, method: str, payload: bytes, *metadata: tuple[str, str]) -> grpc.StatusCode:
    """One unary call carrying `payload` as its serialized request; the status it ended with."""
    credentials = grpc.ssl_channel_credentials(tls.ca.read_bytes())
    with grpc.secure_channel(address, credentials, options=[("grpc.max_send_message_length", -1)]) as channel:
        # Bytes in, bytes sent: twelve callers share one payload instead of serializing twelve.
        call = channel.unary_unary(method, request_serializer=lambda raw: raw, response_deserializer=lambda raw: raw)
        try:
            call(payload, metadata=metadata, timeout=120)
        except grpc.RpcError as error:
            return error.code()
    return grpc.StatusCode.OK


def create_model_request(description_bytes: int) -> bytes:
    model = resources_pb2.Model(description="x" * description_bytes)
    return registry_pb2.CreateModelRequest(model_id="flood", model=model).SerializeToString()


def token(daemon: Any, role: int = access_pb2.ROLE_CONTRIBUTOR) -> str:
    with daemon.channel() as local:
        return str(access_pb2_grpc.AccessServiceStub(local).CreateToken(
            access_pb2.CreateTokenRequest(display_name="laptop", role=role)).secret)  # fmt: skip


def huge_health_check() -> bytes:
    return health_pb2.HealthCheckRequest(service="x" * HUGE).SerializeToString()


def huge_create_model() -> bytes:
    return create_model_request(HUGE)


@pytest.mark.parametrize(
    ("method", "make_payload", "answered"),
    [
        # A guarded method: refused for its missing token before a byte of the message is read.
        ("/studbook.v1.ModelService/CreateModel", huge_create_model, grpc.StatusCode.UNAUTHENTICATED),
        # An open method (load balancers probe it without a token): read, but not past the limit.
        ("/grpc.health.v1.Health/Check", huge_health_check, grpc.StatusCode.RESOURCE_EXHAUSTED),
    ],
    ids=["guarded", "open"],
)
def test_callers_without_a_token_cannot_make_the_daemon_hold_huge_messages(
    remote: tuple[Any, str], tls: TlsFiles, method: str, make_payload: Callable[[], bytes], answered: grpc.StatusCode
) -> None:
    payload = make_payload()  # made here, not at collection: 60 MiB each
    daemon, address = remote
    # One small call first, so that TLS and the server's first connection count as before.
    send_raw(address, tls, method, b"")
    before = rss_mib(daemon.process.pid)

    with futures.ThreadPoolExecutor(SENDERS) as pool:
        codes = list(pool.map(lambda _: send_raw(address, tls, method, payload), range(SENDERS)))
    after = rss_mib(daemon.process.pid)

    assert codes == [answered] * SENDERS
    assert after - before < MAX_GROWTH_MIB, f"the daemon grew from {before:.0f} to {after:.0f} MiB"
    assert daemon.process.poll() is None


def test_an_admitted_caller_over_tcp_registers_with_the_largest_model_card(remote: tuple[Any, str],
                                                                          tls: TlsFiles) -> None:  # fmt: skip
    daemon, address = remote
    card = "# card\n" + "c" * (MAX_MODEL_CARD - 7)

    with Client(address, token=token(daemon), tls_ca=tls.ca, timeout=60) as client:
        version = client.register("carded", uri="s3://bucket/carded", model_card=card, environment=False, git=False)

    assert version.model_card == card


def test_a_message_past_the_tcp_limit_is_refused_even_with_a_token_but_not_over_the_socket(
    remote: tuple[Any, str], tls: TlsFiles
) -> None:
    daemon, address = remote
    payload = create_model_request(MAX_REMOTE_MESSAGE_BYTES + 1024)

    over_tcp = send_raw(address, tls, "/studbook.v1.ModelService/CreateModel", payload,
                        ("authorization", f"Bearer {token(daemon)}"))  # fmt: skip
    with daemon.channel() as local, pytest.raises(grpc.RpcError) as over_socket:
        registry_pb2_grpc.ModelServiceStub(local).CreateModel(registry_pb2.CreateModelRequest.FromString(payload))

    assert over_tcp == grpc.StatusCode.RESOURCE_EXHAUSTED
    # The socket's owner keeps the generous limit: the message is read, and its description judged.
    assert over_socket.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_the_client_says_what_to_do_about_a_request_past_the_tcp_limit(remote: tuple[Any, str],
                                                                       tls: TlsFiles) -> None:  # fmt: skip
    daemon, address = remote
    params = {f"p{i}": "v" * 8000 for i in range(1000)}  # ~8 MB: within the validators, past the TCP limit

    with Client(address, token=token(daemon), tls_ca=tls.ca, timeout=60) as client, \
            pytest.raises(StudbookError) as raised:  # fmt: skip
        client.register("wide", uri="s3://bucket/wide", params=params, environment=False, git=False)

    assert raised.value.code == "RESOURCE_EXHAUSTED"
    assert raised.value.reason == "MESSAGE_TOO_LARGE"
    assert "4 MiB" in raised.value.message and "unix socket" in raised.value.message


def test_an_artifact_far_past_the_limit_still_uploads_over_tcp(remote: tuple[Any, str], tls: TlsFiles,
                                                              tmp_path: Path) -> None:  # fmt: skip
    daemon, address = remote
    weights = random_weights(3 * MAX_REMOTE_MESSAGE_BYTES + 5)
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "weights.bin").write_bytes(weights)

    with Client(address, token=token(daemon), tls_ca=tls.ca, timeout=120) as client:
        version = client.register("heavy", path=tmp_path / "model", environment=False, git=False)
        pulled = client.download("heavy", tmp_path / "back")

    assert [f.size for f in version.files] == [len(weights)]
    assert [p.path.read_bytes() for p in pulled] == [weights]


def test_a_unary_call_that_sends_no_request_is_refused_and_changes_nothing(daemon: Any) -> None:
    with daemon.channel() as channel:
        # A client may end a unary call without its message; the daemon reads it only after
        # admission now, so it meets the end of the stream and must say so.
        empty = channel.stream_unary(
            "/studbook.v1.ModelService/CreateModel",
            request_serializer=lambda raw: raw,
            response_deserializer=lambda raw: raw,
        )
        with pytest.raises(grpc.RpcError) as raised:
            empty(iter(()), timeout=10)
        listed = registry_pb2_grpc.ModelServiceStub(channel).ListModels(registry_pb2.ListModelsRequest())

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "no request message" in (raised.value.details() or "")
    assert list(listed.models) == []


def test_over_the_socket_a_request_past_its_limit_is_told_only_to_shrink(daemon: Any) -> None:
    with Client(daemon.address, timeout=60) as client, pytest.raises(StudbookError) as raised:
        client.register("huge", uri="s3://bucket/huge", model_card="x" * (65 << 20), environment=False, git=False)

    assert raised.value.reason == "MESSAGE_TOO_LARGE"
    assert "64 MiB" in raised.value.message and "unix socket" not in raised.value.message
