"""A model renamed while its drop-in folder is watched: the drops it registered follow it, a new
drop under the old name is quarantined with the new one, and moving it there registers it."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import grpc
import pytest
from studbook.v1 import drops_pb2, drops_pb2_grpc, registry_pb2
from support import rpc
from support.rpc import stubs, version_or_none
from support.waiting import wait_for


def staged(staging: Path, data: bytes) -> Path:
    folder = staging / uuid.uuid4().hex
    folder.mkdir(parents=True)
    (folder / "model.bin").write_bytes(data)
    return folder


def test_drops_follow_a_renamed_model_and_a_new_drop_under_the_old_name_is_told_where_to_go(
    daemon_factory, short_dir: Path
) -> None:
    root, staging = short_dir / "drops", short_dir / "drops" / ".staging"
    for folder in (root / "churn", root / "churn-v2", staging):
        folder.mkdir(parents=True)
    args = ("--watch", str(root), "--quiet-seconds", "0.3", "--config", str(short_dir / "none.toml"))
    daemon = daemon_factory(*args)
    with daemon.channel() as channel:
        api, drops = stubs(channel), drops_pb2_grpc.DropServiceStub(channel)
        os.rename(staged(staging, b"first " * 1000), root / "churn" / "1")
        wait_for(lambda: (d := rpc.drop_at(drops, root / "churn" / "1")) and d.state == drops_pb2.DROP_STATE_REGISTERED,
                 "churn 1 registered")  # fmt: skip

        api.models.RenameModel(registry_pb2.RenameModelRequest(name="models/churn", new_model_id="churn-v2"))

        first = rpc.drop_at(drops, root / "churn" / "1")
        assert first is not None and first.state == drops_pb2.DROP_STATE_REGISTERED
        assert (first.model, first.version) == ("models/churn-v2", "models/churn-v2/versions/1")

        # A new version dropped under the old name: not a new model `churn`, not silently churn-v2.
        os.rename(staged(staging, b"second " * 1000), root / "churn" / "2")
        held = wait_for(lambda: rpc.quarantined_at(drops, root / "churn" / "2"), "the drop under the old name held")
        assert held.reason == "MODEL_RENAMED" and held.details["renamed_to"] == "churn-v2"
        assert f"{root}/churn-v2/" in held.message
        with pytest.raises(grpc.RpcError) as raised:
            api.models.GetModel(registry_pb2.GetModelRequest(name="models/churn"))
        assert raised.value.code() == grpc.StatusCode.NOT_FOUND

        # The drop the renamed model registered is still followed: its files changed, it says so.
        (root / "churn" / "1" / "model.bin").write_bytes(b"changed " * 1000)
        edited = wait_for(lambda: (d := rpc.drop_at(drops, root / "churn" / "1"))
                          and d.state == drops_pb2.DROP_STATE_MODIFIED and d, "the first drop modified")  # fmt: skip
        assert edited.version == "models/churn-v2/versions/1"

        # Moved where the message says, it registers into the renamed model.
        os.rename(root / "churn" / "2", root / "churn-v2" / "2")
        second = wait_for(lambda: version_or_none(api, "churn-v2", 2), "churn-v2 2 registered")
        assert second.storage_uri == (root / "churn-v2" / "2").as_uri()

    daemon.kill()
    # The rename is remembered from the event log: a drop made while stopped is held too.
    os.rename(staged(staging, b"third " * 1000), root / "churn" / "3")
    with daemon_factory(*args).channel() as channel:
        drops = drops_pb2_grpc.DropServiceStub(channel)
        first = wait_for(lambda: rpc.drop_at(drops, root / "churn" / "1"), "the first drop after a restart")
        held = wait_for(lambda: rpc.quarantined_at(drops, root / "churn" / "3"), "a drop made while stopped held")
    assert (first.model, first.version, first.state) == (
        "models/churn-v2", "models/churn-v2/versions/1", drops_pb2.DROP_STATE_MODIFIED)  # fmt: skip
    assert held.reason == "MODEL_RENAMED"
