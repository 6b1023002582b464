"""The daemon's RSS before and after unauthenticated callers send it huge messages over TCP.

Twelve callers without a token each send one 60 MiB unary request at once, over TLS. Before
admission came ahead of reading, the daemon read every message whole before checking the token:
115 MB became 987 MB, and stayed there. Now a guarded call is admitted before its message is
read, and the TCP port reads no message past MAX_REMOTE_MESSAGE_BYTES (the open health methods
are read for anybody), so the figure after should be about the figure before, for both.

`python -m tests.bench.admission` runs it alone.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from concurrent import futures
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2
from studbook.v1 import registry_pb2, resources_pb2

from tests.conftest import Daemon, start_daemon, stop_daemon
from tests.support.certs import make_certificates
from tests.support.net import free_port

SENDERS = 12
MESSAGE_BYTES = 60 << 20
# What the issue measured before the fix, to print beside today's figures.
BEFORE_FIX_MB = (115, 987)


def rss_mib(pid: int) -> float:
    for entry in Path(f"/proc/{pid}/status").read_text().splitlines():
        if entry.startswith("VmRSS:"):
            return int(entry.split()[1]) / 1024
    return 0.0


# A guarded method (refused for its missing token) and an open one (load balancers probe it
# without a token), each with a 60 MiB request.
FLOODS = {
    "CreateModel": ("/studbook.v1.ModelService/CreateModel", lambda size: registry_pb2.CreateModelRequest(
        model_id="flood", model=resources_pb2.Model(description="x" * size)).SerializeToString()),
    "Health/Check": ("/grpc.health.v1.Health/Check",
                     lambda size: health_pb2.HealthCheckRequest(service="x" * size).SerializeToString()),
}  # fmt: skip


def send_unauthenticated(address: str, ca: bytes, method: str, payload: bytes) -> str:
    """One call without a token carrying `payload` as its request; the status it ended with."""
    credentials = grpc.ssl_channel_credentials(ca)
    options = [("grpc.max_send_message_length", -1)]
    with grpc.secure_channel(address, credentials, options=options) as channel:
        call = channel.unary_unary(method, request_serializer=lambda raw: raw, response_deserializer=lambda raw: raw)
        try:
            call(payload, timeout=120)
        except grpc.RpcError as error:
            return error.code().name
    return "OK"


def flood(address: str, ca: bytes, method: str, payload: bytes, senders: int = SENDERS) -> list[str]:
    with futures.ThreadPoolExecutor(senders) as pool:
        return list(pool.map(lambda _: send_unauthenticated(address, ca, method, payload), range(senders)))


def tls_daemon(root: Path) -> tuple[Daemon, str, bytes]:
    tls = make_certificates(root / "tls")
    address = f"127.0.0.1:{free_port()}"
    daemon = start_daemon(root / "data", root / "s.sock", "--listen", address, "--tls-cert", str(tls.cert),
                          "--tls-key", str(tls.key))  # fmt: skip
    return daemon, address, tls.ca.read_bytes()


def bench_admission(root: Path) -> dict[str, tuple[float, float, str]]:
    """Per flooded method: the daemon's RSS (MiB) before and after, and the codes answered.
    A daemon of its own for each, so one flood's leftovers are not the next one's baseline."""
    figures = {}
    for label, (method, request) in FLOODS.items():
        payload = request(MESSAGE_BYTES)
        daemon, address, ca = tls_daemon(root / label.replace("/", "-"))
        try:
            send_unauthenticated(address, ca, method, b"")  # TLS and the first connection, as before
            before = rss_mib(daemon.process.pid)
            codes = flood(address, ca, method, payload)
            time.sleep(1.0)  # let the daemon finish whatever it does after the calls end
            figures[label] = (before, rss_mib(daemon.process.pid), ", ".join(sorted(set(codes))))
        finally:
            stop_daemon(daemon)
    return figures


def print_admission(figures: dict[str, tuple[float, float, str]]) -> None:
    print(f"{SENDERS} unauthenticated {MESSAGE_BYTES >> 20} MiB sends at once over TCP (TLS): daemon RSS")
    print(f"  {'before admission came first (issue 12)':<44} {BEFORE_FIX_MB[0]:5.0f} -> {BEFORE_FIX_MB[1]:5.0f} MB")
    for label, (before, after, codes) in figures.items():
        print(f"  {label:<44} {before:5.0f} -> {after:5.0f} MiB   (answered {codes})")


def main() -> int:
    root = Path(tempfile.mkdtemp(prefix="sb-adm-"))
    try:
        print_admission(bench_admission(root))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
