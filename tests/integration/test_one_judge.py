"""One verdict for every way in: what a drop quarantines, RegisterModelVersion refuses with
the same reason and the same message, and what one lets in the other lets in too.

Each case is written twice, once into the watched folder and once beside it for the API,
against one real daemon and its real watchdog observer.
"""

from __future__ import annotations

import io
import json
import shutil
import struct
import tempfile
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from conftest import Daemon, start_daemon, stop_daemon
from studbook.v1 import access_pb2, access_pb2_grpc, drops_pb2, drops_pb2_grpc, registry_pb2, stages_pb2
from support.files import write_tree
from support.rpc import Stubs, error_info, logged_events, quarantined_at, stubs, version_or_none
from support.waiting import wait_for
from unit.formats.builders import onnx_model, onnx_tensor


@dataclass
class Registry:
    root: Path
    elsewhere: Path
    daemon: Daemon
    api: Stubs
    drops: drops_pb2_grpc.DropServiceStub


@pytest.fixture(scope="module")
def registry() -> Iterator[Registry]:
    base = Path(tempfile.mkdtemp(prefix="sb-"))
    root, elsewhere = base / "drops", base / "elsewhere"
    root.mkdir()
    elsewhere.mkdir()
    daemon = start_daemon(base / "data", base / "s.sock", "--watch", str(root), "--quiet-seconds", "0.3",
                          "--config", str(base / "none.toml"))  # fmt: skip
    channel = daemon.channel()
    try:
        yield Registry(root, elsewhere, daemon, stubs(channel), drops_pb2_grpc.DropServiceStub(channel))
    finally:
        channel.close()
        stop_daemon(daemon)
        shutil.rmtree(base, ignore_errors=True)


def zip_bomb() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("archive/data.pkl", b"\x80\x02}q\x00.")
        archive.writestr("archive/data/0", b"\0" * (64 << 20))
    return buffer.getvalue()


def onnx_reading_outside() -> bytes:
    outside = onnx_tensor("w", [4], external={"location": "../../../../etc/passwd", "offset": "0", "length": "16"})
    return onnx_model(initializers=[outside])


REFUSED = {
    "safetensors header claiming a terabyte": ({"model.safetensors": (1 << 40).to_bytes(8, "little") + b'{"w": '},
                                               "HEADER_TOO_LARGE"),
    "a .gguf that is not one": ({"model.gguf": b"not a gguf file at all"}, "BAD_MAGIC"),
    "a zip bomb": ({"model.pt": zip_bomb()}, "ZIP_BOMB"),
    "ONNX external data outside its folder": ({"model.onnx": onnx_reading_outside()}, "EXTERNAL_DATA_OUTSIDE"),
}  # fmt: skip


def quarantined(r: Registry, path: Path) -> drops_pb2.Drop | None:
    return quarantined_at(r.drops, path)


def register(r: Registry, model: str, path: Path, **fields: object) -> registry_pb2.RegisterModelVersionResponse:
    return r.api.versions.RegisterModelVersion(registry_pb2.RegisterModelVersionRequest(
        parent=f"models/{model}", source_path=str(path), **fields))  # type: ignore[arg-type]  # fmt: skip


def refusal(r: Registry, model: str, path: Path) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        register(r, model, path)
    return caught.value


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_what_a_drop_quarantines_the_api_refuses_with_the_same_reason_and_message(registry, case):
    files, reason = REFUSED[case]
    model = f"m-{uuid.uuid4().hex[:8]}"
    dropped = write_tree(registry.root / model / "1", files)
    given = write_tree(registry.elsewhere / model, files)

    drop = wait_for(lambda: quarantined(registry, dropped), "the quarantine")
    error = refusal(registry, model, given)

    assert drop.reason == reason
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_info(error).reason == reason
    assert error.details() == drop.message


def test_a_refused_registration_leaves_no_model_and_no_version(registry):
    model = f"m-{uuid.uuid4().hex[:8]}"
    given = write_tree(registry.elsewhere / model, REFUSED["a zip bomb"][0])

    refusal(registry, model, given)

    with pytest.raises(grpc.RpcError) as caught:
        registry.api.models.GetModel(registry_pb2.GetModelRequest(name=f"models/{model}"))
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


def test_a_single_file_is_judged_like_a_folder_of_one(registry):
    model = f"m-{uuid.uuid4().hex[:8]}"
    given = write_tree(registry.elsewhere / model, REFUSED["a .gguf that is not one"][0]) / "model.gguf"

    error = refusal(registry, model, given)

    assert error_info(error).reason == "BAD_MAGIC"


def test_ordinary_files_register_the_same_way_through_both(registry):
    # shard.bin is raw bytes whose 9th and 10th read '{"', as a safetensors header's do.
    files = {"weights.bin": b"\x01\x02\x03", "notes.txt": b"trained on the usual",
             "shard.bin": b"\xf3\x91\x07\xaa\x5c\x12\xe4\x88" + b'{"' + bytes(range(256)) * 8}  # fmt: skip
    model = f"m-{uuid.uuid4().hex[:8]}"
    write_tree(registry.root / model / "1", files)
    given = write_tree(registry.elsewhere / model, files)

    dropped = wait_for(lambda: version_or_none(registry.api, model, 1), "the drop's version")
    registered = register(registry, f"{model}-api", given).version

    assert [(f.path, f.format, list(f.flags)) for f in registered.files] == [
        (f.path, f.format, list(f.flags)) for f in dropped.files
    ]
    assert {f.path: f.format for f in registered.files}["shard.bin"] == "unknown"


# -- content that runs code when loaded ------------------------------------------------------

# GLOBAL posix.system, then REDUCE on ("true",): unpickling it would run a shell command.
RUNS_A_COMMAND = b"\x80\x02cposix\nsystem\nq\x00X\x04\x00\x00\x00trueq\x01\x85q\x02Rq\x03."


def bearer(r: Registry, role: str) -> tuple[tuple[str, str], ...]:
    with r.daemon.channel() as channel:
        reply = access_pb2_grpc.AccessServiceStub(channel).CreateToken(access_pb2.CreateTokenRequest(
            display_name=f"judge-{role}-{uuid.uuid4().hex[:6]}", role=access_pb2.Role.Value(f"ROLE_{role.upper()}")))  # fmt: skip
    return (("authorization", f"Bearer {reply.secret}"),)


def test_a_pickle_that_runs_a_command_is_quarantined_and_refused_alike_and_never_run(registry):
    model = f"m-{uuid.uuid4().hex[:8]}"
    dropped = write_tree(registry.root / model / "1", {"model.pkl": RUNS_A_COMMAND})
    given = write_tree(registry.elsewhere / model, {"model.pkl": RUNS_A_COMMAND})

    drop = wait_for(lambda: quarantined(registry, dropped), "the quarantine")
    error = refusal(registry, model, given)

    assert drop.reason == error_info(error).reason == "UNSAFE_PICKLE"
    assert error.details() == drop.message
    assert "model.pkl: loading it would import posix.system" in drop.message
    assert "dangerous-global:posix.system" in error_info(error).metadata["flags"]


def test_a_maintainer_may_let_it_in_and_the_audit_trail_says_who_and_which_flags(registry):
    model = f"m-{uuid.uuid4().hex[:8]}"
    given = write_tree(registry.elsewhere / model, {"model.pkl": RUNS_A_COMMAND})

    with pytest.raises(grpc.RpcError) as denied:
        registry.api.versions.RegisterModelVersion(registry_pb2.RegisterModelVersionRequest(
            parent=f"models/{model}", source_path=str(given), allow_unsafe=True),
            metadata=bearer(registry, "contributor"))  # fmt: skip
    version = registry.api.versions.RegisterModelVersion(registry_pb2.RegisterModelVersionRequest(
        parent=f"models/{model}", source_path=str(given), allow_unsafe=True),
        metadata=bearer(registry, "maintainer")).version  # fmt: skip
    [allowed] = logged_events(registry.api, model, "version.unsafe_allowed")

    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert error_info(denied.value).reason == "ALLOW_UNSAFE_DENIED"
    assert "dangerous-global:posix.system" in version.files[0].flags
    assert allowed.subject == version.name and allowed.actor.startswith("judge-maintainer")
    assert "dangerous-global:posix.system" in allowed.version.files[0].flags


def test_a_quarantined_drop_is_let_in_by_a_maintainers_retry(registry):
    model = f"m-{uuid.uuid4().hex[:8]}"
    dropped = write_tree(registry.root / model / "1", {"model.pkl": RUNS_A_COMMAND})
    wait_for(lambda: quarantined(registry, dropped), "the quarantine")

    with pytest.raises(grpc.RpcError) as denied:
        registry.drops.RetryDrop(drops_pb2.RetryDropRequest(path=str(dropped), allow_unsafe=True),
                                 metadata=bearer(registry, "contributor"))  # fmt: skip
    registry.drops.RetryDrop(drops_pb2.RetryDropRequest(path=str(dropped), allow_unsafe=True),
                             metadata=bearer(registry, "maintainer"))  # fmt: skip
    version = wait_for(lambda: version_or_none(registry.api, model, 1), "the version")

    assert error_info(denied.value).reason == "ALLOW_UNSAFE_DENIED"
    assert "dangerous-global:posix.system" in version.files[0].flags
    assert [e.actor for e in logged_events(registry.api, model, "version.unsafe_allowed")] != []


def test_production_refuses_a_version_let_in_with_code_by_default(registry):
    model = f"m-{uuid.uuid4().hex[:8]}"
    given = write_tree(registry.elsewhere / model, {"model.pkl": RUNS_A_COMMAND})
    register(registry, model, given, allow_unsafe=True)

    staged = registry.api.stages.PromoteModelVersion(stages_pb2.PromoteModelVersionRequest(
        name=f"models/{model}/versions/1", target="staging"))  # fmt: skip
    with pytest.raises(grpc.RpcError) as refused:
        registry.api.stages.PromoteModelVersion(stages_pb2.PromoteModelVersionRequest(
            name=f"models/{model}/versions/1", target="production"))  # fmt: skip

    assert staged.state == stages_pb2.PROMOTION_STATE_APPLIED
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_info(refused.value).metadata["gates"] == "forbid_flags"
    assert "model.pkl: dangerous-global:posix.system" in refused.value.details()


# -- the readers' bounds are the daemon's, for both ways in ----------------------------------


def safetensors_with_header_of(size: int) -> bytes:
    header = {"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "__metadata__": {"note": ""}}
    header["__metadata__"]["note"] = "x" * (size - len(json.dumps(header)))
    encoded = json.dumps(header).encode()
    return struct.pack("<Q", len(encoded)) + encoded + bytes(8)


def test_a_configured_header_cap_holds_for_drops_and_the_api_alike(registry, tmp_path):
    files = {"model.safetensors": safetensors_with_header_of(4096)}
    root = tmp_path / "drops"
    daemon = start_daemon(tmp_path / "data", tmp_path / "s.sock", "--watch", str(root), "--quiet-seconds", "0.3",
                          "--max-header-bytes", "1K", "--config", str(tmp_path / "none.toml"))  # fmt: skip
    try:
        with daemon.channel() as channel:
            capped = Registry(root, tmp_path, daemon, stubs(channel), drops_pb2_grpc.DropServiceStub(channel))
            dropped = write_tree(root / "capped" / "1", files)
            drop = wait_for(lambda: quarantined(capped, dropped), "the quarantine")
            error = refusal(capped, "capped", write_tree(tmp_path / "given", files))
    finally:
        stop_daemon(daemon)
    accepted = register(registry, f"m-{uuid.uuid4().hex[:8]}", write_tree(registry.elsewhere / uuid.uuid4().hex, files))

    assert drop.reason == error_info(error).reason == "HEADER_TOO_LARGE"
    assert accepted.version.files[0].format == "safetensors"
