"""What the daemon promises about its process: one per catalog, durable acks, clean shutdown."""

from __future__ import annotations

import signal
import time
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest
from conftest import start_refused
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from studbook.v1 import audit_pb2, audit_pb2_grpc, registry_pb2
from support.rpc import register, stubs


def test_every_acknowledged_registration_survives_kill_9(daemon_factory):
    daemon = daemon_factory()
    acknowledged = []

    def burst(worker):
        with daemon.channel() as channel:
            api = stubs(channel)
            for i in range(1000):
                try:
                    acknowledged.append(register(api, "burst", storage_uri=f"s3://b/{worker}/{i}",
                                                 request_id=f"{worker}-{i}").name)  # fmt: skip
                except grpc.RpcError:
                    return

    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(burst, w) for w in range(8)]
        deadline = time.monotonic() + 60
        while len(acknowledged) < 200 and time.monotonic() < deadline:
            time.sleep(0.01)
        daemon.kill(signal.SIGKILL)
        for future in futures:
            future.result()

    restarted = daemon_factory()
    with restarted.channel() as channel:
        api = stubs(channel)
        found = api.versions.ListModelVersions(
            registry_pb2.ListModelVersionsRequest(parent="models/burst", page_size=1000)
        )
        names = set()
        while True:
            names.update(v.name for v in found.versions)
            if not found.next_page_token:
                break
            found = api.versions.ListModelVersions(registry_pb2.ListModelVersionsRequest(
                parent="models/burst", page_size=1000, page_token=found.next_page_token))  # fmt: skip
        # What start-up took back from the journal chains on as if it had never left.
        verdict = audit_pb2_grpc.AuditServiceStub(channel).VerifyAuditTrail(audit_pb2.VerifyAuditTrailRequest())

    assert verdict.intact, verdict.problem
    assert set(acknowledged) <= names
    numbers = sorted(int(n.rsplit("/", 1)[1]) for n in names)
    assert numbers == list(range(1, len(numbers) + 1)), "no gaps and no duplicates"


def test_a_second_daemon_on_the_same_data_dir_is_refused(daemon, short_dir):
    second = start_refused(daemon.data_dir, short_dir / "other.sock")

    assert second.returncode != 0
    assert "already serving" in second.stderr


def test_health_and_reflection_answer_standard_tools(daemon):
    with daemon.channel() as channel:
        health = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service="studbook.v1.VersionService")
        )
        reflected = reflection_pb2_grpc.ServerReflectionStub(channel).ServerReflectionInfo(
            iter([reflection_pb2.ServerReflectionRequest(list_services="")])
        )
        services = {s.name for s in next(reflected).list_services_response.service}

    assert health.status == health_pb2.HealthCheckResponse.SERVING
    assert {"studbook.v1.ModelService", "studbook.v1.VersionService", "studbook.v1.StageService",
            "studbook.v1.EventService", "studbook.v1.LineageService", "grpc.health.v1.Health"} <= services  # fmt: skip


def test_a_method_the_daemon_does_not_serve_is_unimplemented(daemon):
    with daemon.channel() as channel:
        for method in ("/studbook.v1.VersionService/NoSuchMethod", "/studbook.v1.NoSuchService/GetModel"):
            call = channel.unary_unary(method, request_serializer=bytes, response_deserializer=bytes)
            with pytest.raises(grpc.RpcError) as caught:
                call(b"", timeout=5)

            assert caught.value.code() == grpc.StatusCode.UNIMPLEMENTED, method


def test_sigterm_shuts_down_cleanly_and_removes_the_socket(daemon):
    daemon.kill(signal.SIGTERM)

    assert daemon.process.returncode == 0
    assert not daemon.socket.exists()


def test_the_socket_is_private_to_its_owner(daemon):
    assert daemon.socket.stat().st_mode & 0o777 == 0o600
    assert daemon.socket.parent.stat().st_mode & 0o777 == 0o700


def modes_in(folder) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return {p.name: p.stat().st_mode & 0o777 for p in folder.iterdir()}


def test_the_data_dir_named_on_the_command_line_is_private(daemon_factory, short_dir):
    data_dir = short_dir / "registry"
    data_dir.mkdir(mode=0o755)
    data_dir.chmod(0o755)  # as `mkdir` leaves it under the usual umask
    daemon = daemon_factory(data_dir=data_dir)
    with daemon.channel() as channel:
        register(stubs(channel), "fraud")
    daemon.kill(signal.SIGKILL)  # so the write-ahead log is still there to look at

    assert data_dir.stat().st_mode & 0o777 == 0o700
    assert modes_in(data_dir) == {"catalog.duckdb": 0o600, "catalog.duckdb.wal": 0o600, "catalog.hwm": 0o600,
                                  "daemon.lock": 0o600, "blobs": 0o700}  # fmt: skip


def test_a_data_dir_open_to_others_is_made_private_at_start(daemon_factory, short_dir):
    daemon = daemon_factory()
    with daemon.channel() as channel:
        register(stubs(channel), "fraud")
    daemon.kill(signal.SIGKILL)
    for path in (daemon.data_dir, *daemon.data_dir.iterdir()):
        path.chmod(0o755 if path.is_dir() else 0o644)  # as daemons before this one left them

    restarted = daemon_factory()

    assert daemon.data_dir.stat().st_mode & 0o777 == 0o700
    assert {name: mode for name, mode in modes_in(daemon.data_dir).items() if mode != 0o600} == {"blobs": 0o700}
    assert "made it 0700" in restarted.output()


def test_a_stale_socket_left_by_a_crash_is_replaced(daemon_factory):
    daemon = daemon_factory()
    daemon.kill(signal.SIGKILL)
    assert daemon.socket.exists()

    restarted = daemon_factory()

    with restarted.channel() as channel:
        assert stubs(channel).models.ListModels(registry_pb2.ListModelsRequest()) is not None
