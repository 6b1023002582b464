"""Format records over real gRPC: a drop and an API registration of the same files carry the
same record; filters, diffs and `studbook show` reach it; a card's results become metrics."""

from __future__ import annotations

import json
import os
import shutil
import struct
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from conftest import Daemon, start_daemon, stop_daemon
from google.protobuf.json_format import MessageToDict
from studbook.v1 import registry_pb2, resources_pb2
from support.cli import runner
from support.rpc import Stubs, stubs
from support.waiting import wait_for
from unit.formats.builders import gguf_bytes, gguf_string, onnx_model, onnx_tensor, safetensors_bytes

README = """---
license: apache-2.0
language: [en]
pipeline_tag: text-generation
base_model: org/base-llama
model-index:
- name: tiny
  results:
  - task: {type: text-generation}
    dataset: {name: wikitext, split: validation}
    metrics:
    - {type: perplexity, value: 12.5}
---
# Tiny llama
"""
CONFIG = {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "torch_dtype": "bfloat16",
          "transformers_version": "4.44.0"}  # fmt: skip
UINT32, STRING = 4, 8


def hf_files(embed: tuple[str, list[int]] = ("BF16", [16, 8])) -> dict[str, bytes]:
    dtype, shape = embed
    count = shape[0] * shape[1]
    weights = safetensors_bytes({
        "model.embed.weight": (dtype, shape, b"\0" * count * (2 if dtype in ("BF16", "F16") else 4)),
        "model.norm.weight": ("F32", [8], b"\0" * 32),
    })  # fmt: skip
    return {"config.json": json.dumps(CONFIG).encode(), "README.md": README.encode(), "model.safetensors": weights}


def gguf_file() -> bytes:
    kv = [
        ("general.architecture", STRING, gguf_string("llama")),
        ("general.file_type", UINT32, struct.pack("<I", 15)),
        ("llama.context_length", UINT32, struct.pack("<I", 2048)),
    ]
    return gguf_bytes(kv, [("tok.weight", [64, 32], 1, 0)], data=b"\0" * 64 * 32 * 2)


@dataclass
class Env:
    root: Path
    work: Path
    daemon: Daemon
    api: Stubs


@pytest.fixture(scope="module")
def env() -> Iterator[Env]:
    base = Path(tempfile.mkdtemp(prefix="sb-"))
    root = base / "drops"
    (root / "dropped").mkdir(parents=True)
    (root / ".staging").mkdir()
    args = ("--watch", str(root), "--quiet-seconds", "0.3", "--config", str(base / "none.toml"))
    daemon = start_daemon(base / "data", base / "s.sock", *args)
    channel = daemon.channel()
    try:
        yield Env(root, base / "work", daemon, stubs(channel))
    finally:
        channel.close()
        stop_daemon(daemon)
        shutil.rmtree(base, ignore_errors=True)


def write(folder: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    return folder


def get(env: Env, name: str) -> resources_pb2.ModelVersion | None:
    try:
        return env.api.versions.GetModelVersion(registry_pb2.GetModelVersionRequest(name=name))
    except grpc.RpcError as error:
        if error.code() == grpc.StatusCode.NOT_FOUND:
            return None
        raise


def register(env: Env, model: str, files: dict[str, bytes]) -> resources_pb2.ModelVersion:
    folder = write(env.work / uuid.uuid4().hex, files)
    reply = env.api.versions.RegisterModelVersion(
        registry_pb2.RegisterModelVersionRequest(parent=f"models/{model}", source_path=str(folder))
    )
    found = get(env, reply.version.name)
    assert found is not None
    return found


def names(env: Env, filter_: str, prefix: str) -> list[str]:
    reply = env.api.versions.ListModelVersions(registry_pb2.ListModelVersionsRequest(
        parent="models/-", filter=f'({filter_}) AND model = "{prefix}*"', page_size=100))  # fmt: skip
    return sorted(v.model.removeprefix("models/") for v in reply.versions)


def test_a_drop_and_an_api_registration_of_the_same_files_carry_the_same_record(env: Env) -> None:
    staged = write(env.root / ".staging" / uuid.uuid4().hex, hf_files())
    os.rename(staged, env.root / "dropped" / "1")
    dropped = wait_for(lambda: get(env, "models/dropped/versions/1"), "the dropped version")
    registered = register(env, f"api-{uuid.uuid4().hex[:6]}", hf_files())

    record = dropped.format_info
    assert MessageToDict(record) == MessageToDict(registered.format_info)
    assert [MessageToDict(f.format_info) for f in dropped.files] == [
        MessageToDict(f.format_info) for f in registered.files
    ]
    assert record.format == "huggingface" and record.architecture == "llama"
    assert record.parameters == 16 * 8 + 8 and list(record.dtypes) == ["BF16", "F32"]
    assert record.framework == "transformers" and record.framework_version == "4.44.0"
    assert record.huggingface.architectures == ["LlamaForCausalLM"]
    assert (record.huggingface.license, record.huggingface.base_model) == ("apache-2.0", "org/base-llama")
    assert record.tensors[0].name == "model.embed.weight" and list(record.tensors[0].shape) == [16, 8]
    weights = next(f for f in dropped.files if f.path == "model.safetensors")
    assert weights.format_info.format == "safetensors" and weights.format_info.tensor_count == 2
    assert "format.parameters" not in dropped.tags
    for version in (dropped, registered):
        assert [(m.key, m.split, m.value) for m in version.metrics] == [("wikitext/perplexity", "validation", 12.5)]


def test_filters_reach_the_format_record(env: Env) -> None:
    prefix = f"f{uuid.uuid4().hex[:6]}-"
    register(env, prefix + "gguf", {"model.gguf": gguf_file()})
    register(env, prefix + "hf", hf_files())
    register(env, prefix + "onnx", {"model.onnx": onnx_model(initializers=[onnx_tensor("w", [4, 4])])})

    assert names(env, 'format.format = "gguf"', prefix) == [prefix + "gguf"]
    assert names(env, 'format.format = "huggingface"', prefix) == [prefix + "hf"]
    assert names(env, 'format.architecture = "llama"', prefix) == [prefix + "gguf", prefix + "hf"]
    assert names(env, "format.parameters > 1000", prefix) == [prefix + "gguf"]
    assert names(env, "format.parameters >= 16 AND format.parameters < 1000", prefix) == [
        prefix + "hf",
        prefix + "onnx",
    ]
    assert names(env, 'format.dtype = "bf16"', prefix) == [prefix + "hf"]
    assert names(env, 'format.dtype = "F16"', prefix) == [prefix + "gguf"]
    assert names(env, 'NOT format.dtype = "BF16"', prefix) == [prefix + "gguf", prefix + "onnx"]
    assert names(env, 'format.framework = "handmade"', prefix) == [prefix + "onnx"]
    ordered = env.api.versions.ListModelVersions(registry_pb2.ListModelVersionsRequest(
        parent="models/-", filter=f'model = "{prefix}*"', order_by="format.parameters desc"))  # fmt: skip
    assert [v.model.removeprefix("models/") for v in ordered.versions] == [
        prefix + "gguf",
        prefix + "hf",
        prefix + "onnx",
    ]


def test_a_diff_shows_tensors_reshaped_retyped_and_the_parameter_change(env: Env) -> None:
    model = f"d{uuid.uuid4().hex[:6]}"
    register(env, model, hf_files())
    register(env, model, hf_files(("F32", [32, 8])))

    diff = env.api.versions.DiffModelVersions(registry_pb2.DiffModelVersionsRequest(
        base=f"models/{model}/versions/1", target=f"models/{model}/versions/2"))  # fmt: skip

    facts = {c.key: (c.base, c.target) for c in diff.format if c.change != registry_pb2.CHANGE_TYPE_UNCHANGED}
    assert facts["parameters"] == ("136", "264")
    assert facts["dtypes"] == ("BF16,F32", "F32")
    embed = next(t for t in diff.tensors if t.name == "model.embed.weight")
    assert embed.change == registry_pb2.CHANGE_TYPE_CHANGED
    assert (embed.base_dtype, embed.target_dtype) == ("BF16", "F32")
    assert (list(embed.base_shape), list(embed.target_shape)) == ([16, 8], [32, 8])
    norm = next(t for t in diff.tensors if t.name == "model.norm.weight")
    assert norm.change == registry_pb2.CHANGE_TYPE_UNCHANGED


def test_show_prints_the_format_record_as_text_and_json(env: Env, capsys: pytest.CaptureFixture[str]) -> None:
    model = f"s{uuid.uuid4().hex[:6]}"
    register(env, model, {"model.gguf": gguf_file()})
    studbook = runner(env.daemon.address, capsys)

    text = studbook("show", f"{model}/1")
    as_json = studbook("--json", "show", f"{model}/1")

    assert text.code == 0, text.err
    assert "Format" in text.out and "gguf.quantization:" in text.out and "Q4_K_M" in text.out
    assert "2.05K (2048)" in text.out and "tok.weight" in text.out
    record = as_json.json()["format_info"]
    assert record["format"] == "gguf" and record["architecture"] == "llama"
    assert record["gguf"]["context_length"] == 2048


def test_cli_diff_names_the_reshaped_tensor(env: Env, capsys: pytest.CaptureFixture[str]) -> None:
    model = f"c{uuid.uuid4().hex[:6]}"
    register(env, model, hf_files())
    register(env, model, hf_files(("BF16", [16, 16])))
    studbook = runner(env.daemon.address, capsys)

    result = studbook("diff", f"{model}/1", f"{model}/2")

    assert result.code == 0, result.err
    line = next(line for line in result.out.splitlines() if "model.embed.weight" in line)
    assert "[16, 8]" in line and "[16, 16]" in line and "reshaped" in line and "retyped" not in line
