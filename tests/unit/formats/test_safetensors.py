"""safetensors: the header is read within bounds and checked against the file."""

from __future__ import annotations

import json
import struct
import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
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
        (b'{"w": not json', "BAD_JSON"),
        (b'{"w": 5}', "BAD_HEADER"),
        (b'{"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 0]}}', "BAD_HEADER"),
        (b'{"w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 0]}}', "INVALID_OFFSETS"),
        (b'{"__metadata__": [1]}', "BAD_HEADER"),
        (b'{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}", "TOO_DEEP"),
    ],
)
def test_malformed_headers_get_a_reason(tmp_path: Path, header: bytes, reason: str) -> None:
    path = write(tmp_path, struct.pack("<Q", len(header)) + header)

    with pytest.raises(FormatError) as caught:
        inspect_file(path)

    assert caught.value.reason == reason


def header_file(entries: dict[str, list[int]], data_size: int) -> bytes:
    """A U8 safetensors file whose tensors sit at the given [begin, end] offsets."""
    header = {
        name: {"dtype": "U8", "shape": [end - begin], "data_offsets": [begin, end]}
        for name, (begin, end) in entries.items()
    }
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + b"\0" * data_size


def test_the_default_header_bound_is_16_mib(tmp_path: Path) -> None:
    path = write(tmp_path, struct.pack("<Q", 16 * 1024 * 1024 + 1) + b'{"a": 1}')

    with pytest.raises(FormatError) as caught:
        inspect_file(path)

    assert caught.value.reason == "HEADER_TOO_LARGE"
    assert "16777216" in caught.value.message


@pytest.mark.parametrize(
    ("entries", "data_size", "problem"),
    [
        ({"a": [0, 8], "b": [4, 12]}, 12, "overlaps"),
        ({"a": [0, 4], "b": [6, 10]}, 10, "gap"),
        ({"a": [2, 6]}, 6, "gap"),
        ({"a": [0, 4], "b": [0, 4]}, 4, "overlaps"),
        ({"a": [0, 4]}, 10, "trailing"),
    ],
)
def test_tensors_that_do_not_tile_the_data_exactly_are_refused(
    tmp_path: Path, entries: dict[str, list[int]], data_size: int, problem: str
) -> None:
    path = write(tmp_path, header_file(entries, data_size))

    with pytest.raises(FormatError) as caught:
        inspect_file(path)

    assert caught.value.reason == "INVALID_OFFSETS"
    assert problem in caught.value.message


@given(sizes=st.lists(st.integers(0, 16), min_size=1, max_size=8), data=st.data())
def test_a_tiling_in_any_header_order_is_read(sizes: list[int], data: st.DataObject) -> None:
    entries, position = {}, 0
    for index, size in enumerate(sizes):
        entries[f"t{index}"] = [position, position + size]
        position += size
    order = data.draw(st.permutations(list(entries)))
    with tempfile.TemporaryDirectory() as folder:
        path = write(Path(folder), header_file({name: entries[name] for name in order}, position))

        info = inspect_file(path)

    assert info.parameter_count == position


@given(sizes=st.lists(st.integers(1, 16), min_size=2, max_size=8), data=st.data())
def test_shifting_one_tensor_of_a_tiling_is_refused(sizes: list[int], data: st.DataObject) -> None:
    entries, position = {}, 0
    for index, size in enumerate(sizes):
        entries[f"t{index}"] = [position, position + size]
        position += size
    moved = data.draw(st.sampled_from(sorted(entries)))
    shift = data.draw(st.integers(-3, 3).filter(lambda s: s != 0))
    begin, end = entries[moved]
    if begin + shift < 0 or end + shift > position:
        return
    entries[moved] = [begin + shift, end + shift]
    with tempfile.TemporaryDirectory() as folder:
        path = write(Path(folder), header_file(entries, position))

        with pytest.raises(FormatError) as caught:
            inspect_file(path)

    assert caught.value.reason == "INVALID_OFFSETS"
