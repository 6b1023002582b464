"""safetensors: the header is read within bounds and checked against the file."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from studbook.daemon.formats import FormatError, Limits, inspect_file

from support.models import facts, fixture

from .builders import safetensors_bytes


def write(tmp_path: Path, data: bytes, name: str = "model.safetensors") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_real_file_reports_tensors_parameters_and_user_metadata() -> None:
    # safetensors.numpy.save_file: embed.weight float32[10, 4], head.bias float16[3]
    info = inspect_file(fixture("safetensors/numpy.safetensors"))

    assert info.format == "safetensors"
    assert info.parameter_count == 43
    assert info.metadata["tensors"] == {
        "embed.weight": {"dtype": "float32", "shape": [10, 4]},
        "head.bias": {"dtype": "float16", "shape": [3]},
    }
    assert info.metadata["metadata"] == {"format": "pt", "trained_on": "imdb"}
    assert info.metadata["tensor_count"] == 2
    json.dumps(info.metadata)  # JSON-able


def test_every_dtype_torch_writes_is_named_and_counted() -> None:
    # safetensors.torch.save_file: one tensor each of F64 F32 F16 BF16 I64 I32 I8 U8 BOOL
    expected = facts("safetensors/dtypes.safetensors")

    info = inspect_file(fixture("safetensors/dtypes.safetensors"))

    assert info.format == "safetensors"
    assert info.metadata["tensors"] == {
        name: {"dtype": expected["dtypes"][name], "shape": expected["shapes"][name]} for name in expected["dtypes"]
    }
    assert info.metadata["tensors"]["bf16"] == {"dtype": "bfloat16", "shape": [2, 2]}
    assert info.metadata["tensor_count"] == expected["tensor_count"] == 9
    assert info.parameter_count == expected["parameter_count"] == 38
    assert info.metadata["dtypes"]["bfloat16"] == 4 and info.metadata["dtypes"]["float16"] == 4
    assert info.metadata["metadata"] == {"format": "pt"}


def test_listed_tensors_are_capped_but_counts_stay_exact(tmp_path: Path) -> None:
    tensors = {f"t{i}": ("U8", [2], b"\0\0") for i in range(10)}
    path = write(tmp_path, safetensors_bytes(tensors))

    info = inspect_file(path, Limits(max_listed=3))

    assert len(info.metadata["tensors"]) == 3
    assert info.metadata["tensor_count"] == 10
    assert info.parameter_count == 20


def test_huge_declared_header_is_refused_before_reading(tmp_path: Path) -> None:
    path = write(tmp_path, struct.pack("<Q", 2**62) + b'{"a": 1}')

    with pytest.raises(FormatError) as caught:
        inspect_file(path)

    assert caught.value.reason == "HEADER_TOO_LARGE"


def test_header_larger_than_a_configured_limit_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, safetensors_bytes({"w": ("F32", [1], b"\0" * 4)}))

    with pytest.raises(FormatError) as caught:
        inspect_file(path, Limits(max_header_bytes=16))

    assert caught.value.reason == "HEADER_TOO_LARGE"


def test_header_longer_than_the_file_is_truncated(tmp_path: Path) -> None:
    data = safetensors_bytes({"w": ("F32", [4], b"\0" * 16)})
    path = write(tmp_path, data[:30])

    with pytest.raises(FormatError) as caught:
        inspect_file(path)

    assert caught.value.reason == "TRUNCATED"


def test_tensor_data_past_the_end_of_the_file_is_refused(tmp_path: Path) -> None:
    data = safetensors_bytes({"w": ("F32", [4], b"\0" * 16)})
    path = write(tmp_path, data[:-4])

    with pytest.raises(FormatError) as caught:
        inspect_file(path)

    assert caught.value.reason == "OFFSET_OUT_OF_RANGE"


def test_offsets_that_disagree_with_dtype_and_shape_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, safetensors_bytes({"w": ("F32", [5], b"\0" * 16)}))

    with pytest.raises(FormatError) as caught:
        inspect_file(path)

    assert caught.value.reason == "SIZE_MISMATCH"


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (b"{\"w\": not json", "BAD_JSON"),
        (b'{"w": 5}', "BAD_HEADER"),
        (b'{"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 0]}}', "BAD_HEADER"),
        (b'{"w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 0]}}', "BAD_HEADER"),
        (b'{"__metadata__": [1]}', "BAD_HEADER"),
        (b'{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}", "TOO_DEEP"),
    ],
)
def test_malformed_headers_get_a_reason(tmp_path: Path, header: bytes, reason: str) -> None:
    path = write(tmp_path, struct.pack("<Q", len(header)) + header)

    with pytest.raises(FormatError) as caught:
        inspect_file(path)

    assert caught.value.reason == reason
