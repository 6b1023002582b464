"""Any bytes at all: inspection returns a FileInfo or raises FormatError, nothing else."""

from __future__ import annotations

import io
import json
import pickle
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from studbook.daemon.formats import FileInfo, FolderInfo, FormatError, Limits, inspect_file, inspect_folder

from .builders import (
    gguf_bytes,
    gguf_string,
    keras_layer,
    onnx_model,
    onnx_tensor,
    onnx_value_info,
    safetensors_bytes,
    saved_model_pb,
)

# Small bounds so that mutated counts and lengths hit them quickly.
LIMITS = Limits(
    max_header_bytes=1 << 16,
    max_tensors=1000,
    max_kv_count=1000,
    max_string_bytes=1 << 16,
    max_array_length=10_000,
    max_array_items_total=10_000,
    max_zip_entries=100,
    max_pickle_bytes=1 << 16,
    max_pickle_ops=50_000,
    max_pickle_payload_bytes=1 << 20,
    max_protobuf_fields=50_000,
)


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _seeds() -> list[bytes]:
    state = pickle.dumps({"w": [1.5, 2], "t": (b"ab", "é"), "s": {1, 2}}, protocol=4)
    keras_config = {"class_name": "Sequential", "config": {"layers": [keras_layer("Dense", {"units": 1})]}}
    return [
        safetensors_bytes({"a": ("F32", [2, 2], b"\0" * 16), "b": ("I64", [1], b"\0" * 8)}, {"k": "v"}),
        gguf_bytes(
            [("general.architecture", 8, gguf_string("llama")), ("a", 9, struct.pack("<IQ", 4, 2) + b"\0" * 8)],
            tensors=[("w", [32], 0, 0)],
            data=b"\0" * 128,
        ),
        onnx_model(
            initializers=[onnx_tensor("W", [2, 2]), onnx_tensor("E", [2], external={"location": "w.bin"})],
            inputs=[onnx_value_info("X", 1, ["n", 2])],
            outputs=[onnx_value_info("Y", 1, [-1])],
            nodes=[("MatMul", "")],
        ),
        saved_model_pb({"serving_default": {"inputs": {"x": (1, [-1, 3])}, "outputs": {"y": (1, [-1])}}}),
        state,
        pickle.dumps(["a", {"b": None}], protocol=0),
        zlib.compress(state),
        _zip({"archive/data.pkl": state, "archive/version": b"3\n", "archive/data/0": b"\0" * 8}),
        _zip({"config.json": json.dumps(keras_config).encode(), "metadata.json": b"{}"}),
    ]


SEEDS = _seeds()
MAGICS = [
    b"GGUF\x03\x00\x00\x00",
    b"PK\x03\x04",
    b"PK\x05\x06",
    b"\x80\x04",
    b"\x80\x02",
    b"\x08\x07\x12",
    b"\x08\x01\x12",
    b"\x78\x9c",
    b"\x1f\x8b",
    b"BZh9",
    b"\x93NUMPY",
]


@pytest.fixture(scope="module")
def scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as folder:
        yield Path(folder)


def _check(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    try:
        info = inspect_file(path, LIMITS)
    except FormatError as err:
        assert err.reason.isupper() and err.message
        return
    assert isinstance(info, FileInfo)
    json.dumps(info.metadata)


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.sampled_from(MAGICS + [b""]), st.binary(max_size=600))
def test_random_bytes_after_any_magic(scratch: Path, magic: bytes, tail: bytes) -> None:
    _check(scratch / "random.bin", magic + tail)


@settings(max_examples=600, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    st.sampled_from(range(len(SEEDS))),
    st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=6),
    st.one_of(st.none(), st.integers(0, 10_000)),
)
def test_mutated_real_formats(scratch: Path, seed: int, flips: list[tuple[int, int]], cut: int | None) -> None:
    data = bytearray(SEEDS[seed])
    for position, value in flips:
        data[position % len(data)] = value
    if cut is not None:
        del data[cut % (len(data) + 1) :]
    _check(scratch / "mutated.model", bytes(data))


_TOKENS = list("ab:- \n'\"[]{}#|>&*!?,.01\t\\") + ["run_id", "flavors", "---", "signature", "inputs", "  "]
_TEXT = st.lists(st.sampled_from(_TOKENS), max_size=80).map("".join)


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.sampled_from(["MLmodel", "README.md", "config.json", "conda.yaml"]), _TEXT)
def test_random_folder_metadata(scratch: Path, name: str, text: str) -> None:
    folder = scratch / "folder"
    folder.mkdir(exist_ok=True)
    for old in folder.iterdir():
        old.unlink()
    (folder / name).write_text(text)
    if name == "conda.yaml":
        (folder / "MLmodel").write_text("flavors:\n  python_function:\n    python_version: 3.11.7\n")
    files = [Path(p.name) for p in folder.iterdir()]
    try:
        info = inspect_folder(folder, files, LIMITS)
    except FormatError as err:
        assert err.reason.isupper()
        return
    assert isinstance(info, FolderInfo)
    json.dumps(info.metadata)
