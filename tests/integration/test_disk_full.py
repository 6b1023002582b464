"""A full disk is a state to report, not a failure of the daemon: writes are refused with
RESOURCE_EXHAUSTED / STORE_FULL, reads go on, and writes take again once there is room,
losing nothing acknowledged. On a real (tmpfs) file system, filled for real."""

from __future__ import annotations

import grpc
from conftest import fill
from studbook.v1 import registry_pb2
from support.cli import runner
from support.rpc import error_info, register, stubs

MODEL = "fraud"


def versions_of(daemon) -> set[str]:  # type: ignore[no-untyped-def]
    with daemon.channel() as channel:
        found = stubs(channel).versions.ListModelVersions(
            registry_pb2.ListModelVersionsRequest(parent=f"models/{MODEL}", page_size=1000))  # fmt: skip
    return {v.name for v in found.versions}


def register_until_refused(daemon, acknowledged: list[str]) -> grpc.RpcError:  # type: ignore[no-untyped-def]
    """Registers until a registration is refused; the first ones may still fit in the log's last page."""
    with daemon.channel() as channel:
        api = stubs(channel)
        for i in range(50):
            try:
                acknowledged.append(register(api, MODEL, storage_uri=f"s3://b/full/{i}").name)
            except grpc.RpcError as refused:
                return refused
    raise AssertionError("50 registrations went through on a full disk")


def test_a_full_disk_refuses_writes_keeps_reads_and_loses_nothing(small_disk, daemon_factory, capsys):
    daemon = daemon_factory(data_dir=small_disk / "data")
    acknowledged = [register(stubs(channel), MODEL, storage_uri=f"s3://b/{i}").name
                    for channel in [daemon.channel()] for i in range(5)]  # fmt: skip
    filler = fill(small_disk)

    refused = register_until_refused(daemon, acknowledged)

    assert refused.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert error_info(refused).reason == "STORE_FULL"
    assert "full" in refused.details()
    studbook = runner(daemon.address, capsys)
    by_cli = studbook("register", MODEL, "--uri", "s3://b/cli")
    assert by_cli.code == 10, by_cli.err
    assert "free space" in by_cli.err and "[STORE_FULL]" in by_cli.err
    assert versions_of(daemon) == set(acknowledged), "reads still answer, with everything acknowledged"

    filler.unlink()
    with daemon.channel() as channel:
        acknowledged.append(register(stubs(channel), MODEL, storage_uri="s3://b/after").name)

    daemon.kill()
    restarted = daemon_factory(data_dir=small_disk / "data")
    assert versions_of(restarted) == set(acknowledged)
