"""GGUF: key/values, architecture and quantisation, with every count and length bounded."""

from __future__ import annotations

import json
import struct
import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from studbook.daemon.formats import FormatError, Limits, inspect_file
from support.models import copy_fixture, facts, fixture

from .builders import gguf_bytes, gguf_string

UINT32, STRING, ARRAY = 4, 8, 9


def write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "model.gguf"
    path.write_bytes(data)
    return path


def test_real_file_reports_architecture_quantisation_context_and_tensors() -> None:
    # gguf.GGUFWriter: llama, tiny-llama, context 4096, MOSTLY_Q8_0, 1000 tokens, two F32 tensors
    info = inspect_file(fixture("gguf/tiny-llama.gguf"))

    assert info.format == "gguf"
    assert info.metadata["architecture"] == "llama"
    assert info.metadata["name"] == "tiny-llama"
    assert info.metadata["quantization"] == "Q8_0"
    assert info.metadata["context_length"] == 4096
    assert info.metadata["tensor_count"] == facts("gguf/tiny-llama.gguf")["tensor_count"] == 2
    assert info.metadata["tensors"]["token_embd.weight"] == {"type": "F32", "shape": [16, 32]}
    assert info.parameter_count == facts("gguf/tiny-llama.gguf")["parameter_count"] == 16 * 32 + 32
    # A vocabulary is summarised, not copied.
    assert info.metadata["kv"]["tokenizer.ggml.tokens"] == {"type": "array", "element_type": "string", "length": 1000}
    json.dumps(info.metadata)


def test_big_endian_files_are_read() -> None:
    info = inspect_file(fixture("gguf/tiny-llama-be.gguf"))

    assert info.metadata["byte_order"] == "big"
    assert info.metadata["context_length"] == 4096
    assert info.metadata["architecture"] == "llama"
    assert info.parameter_count == facts("gguf/tiny-llama-be.gguf")["parameter_count"]


def test_absurd_kv_count_is_refused_without_reading_on(tmp_path: Path) -> None:
    path = write(tmp_path, gguf_bytes([], kv_count=2**60))

    with pytest.raises(FormatError) as caught:
        inspect_file(path)

    assert caught.value.reason == "TOO_MANY_KEYS"


def test_absurd_tensor_count_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, gguf_bytes([], tensor_count=2**50))

    with pytest.raises(FormatError) as caught:
        inspect_file(path)

    assert caught.value.reason == "TOO_MANY_TENSORS"


def test_kv_count_beyond_the_data_is_truncated(tmp_path: Path) -> None:
    path = write(tmp_path, gguf_bytes([("a", UINT32, struct.pack("<I", 1))], kv_count=1000))

    with pytest.raises(FormatError) as caught:
        inspect_file(path)

    assert caught.value.reason == "TRUNCATED"


def test_absurd_string_length_is_refused(tmp_path: Path) -> None:
    value = struct.pack("<Q", 2**40) + b"abc"
    path = write(tmp_path, gguf_bytes([("general.name", STRING, value)]))

    with pytest.raises(FormatError) as caught:
        inspect_file(path)

    assert caught.value.reason == "STRING_TOO_LONG"


def test_absurd_array_length_is_refused(tmp_path: Path) -> None:
    value = struct.pack("<IQ", UINT32, 2**40)
    path = write(tmp_path, gguf_bytes([("tokenizer.ggml.scores", ARRAY, value)]))

    with pytest.raises(FormatError) as caught:
        inspect_file(path)

    assert caught.value.reason == "ARRAY_TOO_LONG"


def test_total_strings_across_arrays_are_bounded(tmp_path: Path) -> None:
    strings = b"".join(gguf_string("t") for _ in range(50))
    value = struct.pack("<IQ", STRING, 50) + strings
    path = write(tmp_path, gguf_bytes([("a", ARRAY, value), ("b", ARRAY, value)]))

    with pytest.raises(FormatError) as caught:
        inspect_file(path, Limits(max_array_items_total=80))

    assert caught.value.reason == "TOO_MANY_ITEMS"


def test_unknown_value_type_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, gguf_bytes([("a", 99, b"")]))

    with pytest.raises(FormatError) as caught:
        inspect_file(path)

    assert caught.value.reason == "BAD_VALUE_TYPE"


def test_unsupported_version_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, gguf_bytes([], version=7))

    with pytest.raises(FormatError) as caught:
        inspect_file(path)

    assert caught.value.reason == "UNSUPPORTED_VERSION"


def test_tensor_data_past_the_end_of_the_file_is_refused(tmp_path: Path) -> None:
    data = gguf_bytes([], tensors=[("w", [8], 0, 0)], data=b"\0" * 16)  # F32[8] needs 32 bytes

    with pytest.raises(FormatError) as caught:
        inspect_file(write(tmp_path, data))

    assert caught.value.reason == "OFFSET_OUT_OF_RANGE"


def test_a_real_file_cut_short_is_truncated(tmp_path: Path) -> None:
    path = copy_fixture("gguf/tiny-llama.gguf", tmp_path)
    path.write_bytes(path.read_bytes()[:200])

    with pytest.raises(FormatError) as caught:
        inspect_file(path)

    assert caught.value.reason == "TRUNCATED"


def test_wrong_magic_with_a_gguf_name_is_bad_magic(tmp_path: Path) -> None:
    path = write(tmp_path, b"GGUX" + gguf_bytes([])[4:])

    with pytest.raises(FormatError) as caught:
        inspect_file(path)

    assert caught.value.reason == "BAD_MAGIC"


def test_hand_made_file_without_file_type_names_the_dominant_tensor_type(tmp_path: Path) -> None:
    kv = [("general.architecture", STRING, gguf_string("gpt2"))]
    data = gguf_bytes(kv, tensors=[("a", [32], 8, 0), ("b", [32], 8, 64)], data=b"\0" * 128)

    info = inspect_file(write(tmp_path, data))

    assert info.metadata["quantization"] == "Q8_0"
    assert info.parameter_count == 64


F32 = 0


def test_a_key_declared_twice_is_refused(tmp_path: Path) -> None:
    kv = [("general.name", STRING, gguf_string("a")), ("general.name", STRING, gguf_string("b"))]

    with pytest.raises(FormatError) as caught:
        inspect_file(write(tmp_path, gguf_bytes(kv)))

    assert caught.value.reason == "DUPLICATE_KEY"
    assert "general.name" in caught.value.message


def test_a_tensor_declared_twice_is_refused(tmp_path: Path) -> None:
    data = gguf_bytes([], tensors=[("w", [8], F32, 0), ("w", [8], F32, 32)], data=b"\0" * 64)

    with pytest.raises(FormatError) as caught:
        inspect_file(write(tmp_path, data))

    assert caught.value.reason == "BAD_TENSOR"


@pytest.mark.parametrize(
    "offsets",
    [[0, 0], [0, 16], [0, 64], [32, 0], [0, 33]],
    ids=["same place", "overlap", "gap", "out of order", "unaligned"],
)
def test_tensors_not_laid_out_back_to_back_are_refused(tmp_path: Path, offsets: list[int]) -> None:
    # Two F32[8] tensors: 32 bytes each, so the second belongs at offset 32.
    tensors = [("a", [8], F32, offsets[0]), ("b", [8], F32, offsets[1])]

    with pytest.raises(FormatError) as caught:
        inspect_file(write(tmp_path, gguf_bytes([], tensors=tensors, data=b"\0" * 128)))

    assert caught.value.reason == "INVALID_OFFSETS"


@given(sizes=st.lists(st.integers(1, 40), min_size=1, max_size=6), alignment=st.sampled_from([8, 32, 64]))
def test_tensors_padded_to_the_alignment_back_to_back_are_read(sizes: list[int], alignment: int) -> None:
    tensors, position = [], 0
    for index, size in enumerate(sizes):
        tensors.append((f"t{index}", [size], F32, position))
        position += (4 * size + alignment - 1) // alignment * alignment
    kv = [("general.alignment", UINT32, struct.pack("<I", alignment))]
    data = gguf_bytes(kv, tensors=tensors)
    data += b"\0" * (-len(data) % alignment) + b"\0" * position
    with tempfile.TemporaryDirectory() as folder:
        info = inspect_file(write(Path(folder), data))

    assert info.parameter_count == sum(sizes)


def test_a_header_beyond_the_bound_is_refused(tmp_path: Path) -> None:
    kv = [(f"key.{i}", STRING, gguf_string("x" * 100)) for i in range(10)]

    with pytest.raises(FormatError) as caught:
        inspect_file(write(tmp_path, gguf_bytes(kv)), Limits(max_gguf_header_bytes=500))

    assert caught.value.reason == "HEADER_TOO_LARGE"
    assert "500" in caught.value.message
