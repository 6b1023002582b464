"""PostgreSQL going away under running daemons, and coming back.

While the catalog's server is down, writes fail with UNAVAILABLE and a reason that says the
catalog is unreachable, and reads the daemon's cache can answer still answer. When the server
returns (same port, same data), the daemons recover by themselves: writes work again and each
daemon follows what the others committed. The server here is this module's own, since the
tests stop it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from conftest import start_daemon, stop_daemon
from studbook.v1 import maintenance_pb2, maintenance_pb2_grpc, registry_pb2
from support.postgres import (
    PostgresServer,
    restart_postgres,
    start_postgres,
    stop_postgres,
    stop_postgres_process,
)
from support.rpc import Stubs, error_info, register, stubs
from support.waiting import wait_for

RECOVERY = 60.0  # generous: the writer reconnects at the next write, the listener backs off up to 5 s


@pytest.fixture
def own_server() -> Iterator[PostgresServer]:
    server = start_postgres()
    yield server
    stop_postgres(server)


def _write_or_none(api: Stubs, description: str) -> str | None:
    try:
        return register(api, "fraud", description=description, request_id=description, timeout=10).name
    except grpc.RpcError as error:
        if error.code() == grpc.StatusCode.UNAVAILABLE:
            return None
        raise


def _version_or_none(api: Stubs, name: str) -> str | None:
    try:
        return api.versions.GetModelVersion(registry_pb2.GetModelVersionRequest(name=name), timeout=10).name
    except grpc.RpcError as error:
        if error.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.UNAVAILABLE):
            return None
        raise


def _catalog_status(channel: grpc.Channel) -> maintenance_pb2.CatalogStatus:
    stub = maintenance_pb2_grpc.MaintenanceServiceStub(channel)
    return stub.GetCatalogStatus(maintenance_pb2.GetCatalogStatusRequest(), timeout=10)


def test_writes_fail_as_unavailable_cached_reads_answer_and_both_daemons_recover(
    own_server: PostgresServer, short_dir: Path
) -> None:
    url = own_server.create_database().url
    daemons = [start_daemon(short_dir / f"{n}-data", short_dir / f"{n}.sock", "--catalog", url) for n in "ab"]
    channels = [d.channel() for d in daemons]
    a, b = (stubs(c) for c in channels)
    try:
        a.models.CreateModel(registry_pb2.CreateModelRequest(model_id="fraud"))
        first = register(a, "fraud", description="before")
        wait_for(lambda: _version_or_none(b, first.name), "B to follow the first version", RECOVERY)
        following = wait_for(lambda: (s := _catalog_status(channels[1])).following and s, "B to follow", RECOVERY)

        stop_postgres_process(own_server)
        deaf = wait_for(
            lambda: not (s := _catalog_status(channels[1])).following and s, "B to say it lost the catalog", RECOVERY
        )

        with pytest.raises(grpc.RpcError) as refused:
            register(a, "fraud", description="while down", timeout=30)
        cached = a.versions.GetModelVersion(registry_pb2.GetModelVersionRequest(name=first.name), timeout=10)
        model = b.models.GetModel(registry_pb2.GetModelRequest(name="models/fraud"), timeout=10)

        restart_postgres(own_server)

        written = wait_for(lambda: _write_or_none(a, "after"), "A to write again", RECOVERY)
        from_b = wait_for(lambda: _write_or_none(b, "after on b"), "B to write again", RECOVERY)
        seen_by_b = wait_for(lambda: _version_or_none(b, written), "B to follow A's write", RECOVERY)
        back = wait_for(lambda: (s := _catalog_status(channels[1])).following and s, "B to follow again", RECOVERY)
        # A's own write came before B's: only following B's commit moves A's cached model record.
        seen_by_a = wait_for(lambda: a.models.GetModel(registry_pb2.GetModelRequest(name="models/fraud"),
                                                       timeout=10).latest_version == 3,
                             "A to follow B's write", RECOVERY)  # fmt: skip
    finally:
        for channel in channels:
            channel.close()
        for daemon in daemons:
            stop_daemon(daemon)

    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    info = error_info(refused.value)
    assert info.reason == "POSTGRES_UNREACHABLE"
    assert "unreachable" in refused.value.details()
    assert cached.description == "before" and model.name == "models/fraud"
    assert (seen_by_b, seen_by_a) == (written, True)
    # What `studbook status` shows: B follows A's commits, then says it does not, and why.
    assert (following.backend, following.shared, following.problem) == ("postgresql", True, "")
    assert following.location.startswith("postgresql://") and following.revision >= 2
    assert deaf.problem and deaf.since.ToDatetime() >= following.since.ToDatetime()
    assert back.revision >= 3 and back.caught_up_time.ToDatetime() >= deaf.since.ToDatetime()
    # Nothing was written while the server was down: the numbers go on without a gap.
    assert [written, from_b] == ["models/fraud/versions/2", "models/fraud/versions/3"]
