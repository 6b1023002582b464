"""Formats are recognised by their bytes; a file name is only a claim that must hold."""

from __future__ import annotations

import os
import pickle
import random
import struct
import zlib
from pathlib import Path

import pytest
from studbook.daemon.formats import FormatError, inspect_file
from studbook.daemon.formats.detect import sniff

from .builders import onnx_model, safetensors_bytes, saved_model_pb


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (b"GGUF\x03\x00\x00\x00", "gguf"),
        (b"PK\x03\x04rest", "zip"),
        (b"PK\x05\x06" + b"\0" * 18, "zip"),
        (b"\x89HDF\r\n\x1a\n", "hdf5"),
        (b"\x93NUMPY\x01\x00", "npy"),
        (struct.pack("<Q", 2) + b"{}", "safetensors"),
        (pickle.dumps({"a": 1}, protocol=4), "pickle"),
        (pickle.dumps({"a": 1}, protocol=2), "pickle"),
        (onnx_model(), "onnx"),
        (saved_model_pb({}), "savedmodel"),
        (zlib.compress(pickle.dumps([1])), "compressed"),
        (b"hello world\n", "unknown"),
        (b"", "unknown"),
    ],
)
def test_sniff_names_the_container_from_the_first_bytes(head: bytes, kind: str) -> None:
    assert sniff(head, head[-1:]) == kind


def test_protocol_0_pickle_is_recognised_by_its_opcodes_and_final_stop() -> None:
    data = pickle.dumps({"a": [1, 2]}, protocol=0)

    assert sniff(data, data[-1:]) == "pickle"
    assert sniff(data, b"x") == "unknown"


def test_format_comes_from_bytes_not_the_extension(tmp_path: Path) -> None:
    path = tmp_path / "weights.bin"
    path.write_bytes(safetensors_bytes({"w": ("F32", [2], b"\0" * 8)}))

    info = inspect_file(path)

    assert info.format == "safetensors"
    assert info.flags == ()


def test_a_pickle_disguised_as_safetensors_is_flagged(tmp_path: Path) -> None:
    path = tmp_path / "model.safetensors"
    path.write_bytes(pickle.dumps({"w": [1.0]}, protocol=4))

    info = inspect_file(path)

    assert info.format == "pickle"
    assert "unsafe-format" in info.flags
    assert "extension-mismatch" in info.flags


@pytest.mark.parametrize("name", ["model.gguf", "model.onnx", "model.safetensors", "model.pt", "model.keras"])
def test_a_model_extension_with_foreign_bytes_is_bad_magic(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"this is not a model at all\n")

    with pytest.raises(FormatError) as caught:
        inspect_file(path)

    assert caught.value.reason == "BAD_MAGIC"


@pytest.mark.parametrize("name", ["model.onnx", "model.safetensors", "pytorch_model.bin", "model.GGUF", "m.h5"])
def test_an_empty_model_file_is_empty_file(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"")

    with pytest.raises(FormatError) as caught:
        inspect_file(path)

    assert caught.value.reason == "EMPTY_FILE"
    assert name in caught.value.message and "again" in caught.value.message


def test_an_empty_file_of_another_kind_is_just_unknown(tmp_path: Path) -> None:
    path = tmp_path / "__init__.py"
    path.write_bytes(b"")

    assert inspect_file(path).format == "unknown"


LFS_TEXT = (
    b"version https://git-lfs.github.com/spec/v1\n"
    b"oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n"
    b"size 4400216536\n"
)


@pytest.mark.parametrize("name", ["model.safetensors", "pytorch_model.bin", "model.gguf", "tokenizer.json"])
def test_a_git_lfs_pointer_is_refused_with_what_to_run(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(LFS_TEXT)

    with pytest.raises(FormatError) as caught:
        inspect_file(path)

    assert caught.value.reason == "LFS_POINTER"
    assert "git lfs pull" in caught.value.message


def test_text_that_only_mentions_git_lfs_is_not_a_pointer(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(b"see " + LFS_TEXT)

    assert inspect_file(path).format == "unknown"


def test_an_unclaimed_unknown_file_is_just_unknown(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("training notes\n")

    info = inspect_file(path)

    assert (info.format, info.flags, info.metadata) == ("unknown", (), {})


def test_a_compressed_file_without_a_pickle_inside_is_unknown(tmp_path: Path) -> None:
    path = tmp_path / "blob.z"
    path.write_bytes(zlib.compress(b"plain text, not a pickle" * 10))

    assert inspect_file(path).format == "unknown"


def test_a_file_reached_through_a_link_out_of_the_root_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside.safetensors"
    outside.write_bytes(safetensors_bytes({"w": ("F32", [1], b"\0" * 4)}))
    root = tmp_path / "version"
    root.mkdir()
    os.symlink(outside, root / "model.safetensors")

    with pytest.raises(FormatError) as caught:
        inspect_file(root / "model.safetensors", root=root)

    assert caught.value.reason == "PATH_OUTSIDE"


def test_format_error_is_a_domain_error_with_reason_and_message() -> None:
    from studbook.daemon.domain.errors import FailedPrecondition

    error = FormatError("ZIP_BOMB", "too compressed", entry="a")

    assert isinstance(error, FailedPrecondition)
    assert (error.reason, error.message, error.metadata) == ("ZIP_BOMB", "too compressed", {"entry": "a"})


# Random bytes (raw weights, an encrypted blob) that happen to begin like a format sniffed
# from a byte or two, and that no reader of the format could open.
def random_tail(seed: int, size: int = 5000) -> bytes:
    return random.Random(seed).randbytes(size)


LOOKALIKES = {
    # bytes 8-9 read '{"', the first eight a length of petabytes (as random ones nearly always do)
    "safetensors, a header of petabytes": (struct.pack("<Q", 1 << 52) + b'{"' + random_tail(2), "model.safetensors",
                                           "HEADER_TOO_LARGE"),
    "safetensors, a header longer than the file": (struct.pack("<Q", 9000) + b'{"' + random_tail(3),
                                                   "model.safetensors", "TRUNCATED"),
    "ONNX, a protobuf that does not parse": (b"\x08\x07\x12\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff",
                                             "model.onnx", "BAD_PROTOBUF"),
    "zlib, corrupt at its first block": (b"\x78\x9c" + b"\xff" * 64 + random_tail(4), "model.joblib",
                                         "BAD_COMPRESSION"),
}  # fmt: skip


@pytest.mark.parametrize("data", [case[0] for case in LOOKALIKES.values()], ids=list(LOOKALIKES))
@pytest.mark.parametrize("name", ["weights.bin", "blob", "shard-00001.dat"])
def test_bytes_that_only_begin_like_a_format_are_unknown_when_the_name_claims_none(
    tmp_path: Path, data: bytes, name: str
) -> None:
    path = tmp_path / name
    path.write_bytes(data)

    assert inspect_file(path).format == "unknown"


@pytest.mark.parametrize(("data", "name", "reason"), list(LOOKALIKES.values()), ids=list(LOOKALIKES))
def test_the_same_bytes_named_as_the_format_are_refused_with_the_readers_reason(
    tmp_path: Path, data: bytes, name: str, reason: str
) -> None:
    path = tmp_path / name
    path.write_bytes(data)

    with pytest.raises(FormatError) as caught:
        inspect_file(path)

    assert caught.value.reason == reason


def test_a_compressed_pickle_cut_off_by_corruption_is_refused_whatever_its_name(tmp_path: Path) -> None:
    # The pickle's opening decompresses before the corrupt block: a reader with small buffers
    # would unpickle it, though one reading the file in one piece gets no output at all.
    compressor = zlib.compressobj()
    opening = compressor.compress(b"cos\nsystem\n(S'id'\ntR") + compressor.flush(zlib.Z_SYNC_FLUSH)
    path = tmp_path / "weights.bin"
    path.write_bytes(opening + b"\xff" * 64)

    with pytest.raises(FormatError) as caught:
        inspect_file(path)

    assert caught.value.reason == "BAD_COMPRESSION"


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_bytes_that_begin_like_a_pickle_and_break_are_refused_whatever_their_name(
    tmp_path: Path, protocol: int
) -> None:
    # An unpickler runs a pickle's opcodes up to where it breaks: such a file is never let
    # through as unknown, even if it is only random bytes that begin with PROTO.
    path = tmp_path / "weights.bin"
    path.write_bytes(bytes([0x80, protocol]) + b"(\x85")

    with pytest.raises(FormatError) as caught:
        inspect_file(path)

    assert caught.value.reason in ("BAD_PICKLE", "TRUNCATED")


@pytest.mark.parametrize(("empty_blocks", "verdict"), [(10, "unknown"), (20_000, "BAD_COMPRESSION")])
def test_a_compressed_file_giving_no_output_is_let_through_only_if_found_corrupt_early(
    tmp_path: Path, empty_blocks: int, verdict: str
) -> None:
    # zlib's header, then empty stored blocks (no output at all), then a block type that does
    # not exist. Past 64 KiB of input with nothing out the check stops looking, and refuses.
    path = tmp_path / "weights.bin"
    path.write_bytes(b"\x78\x01" + b"\x00\x00\x00\xff\xff" * empty_blocks + b"\xff" * 8)

    try:
        found = inspect_file(path).format
    except FormatError as error:
        found = error.reason

    assert found == verdict
