"""safetensors: the length-prefixed JSON header (names, dtypes, shapes, offsets, __metadata__)."""

from __future__ import annotations

from typing import Any

from studbook.daemon.formats import dtypes, jsonutil
from studbook.daemon.formats.errors import FormatError, NotThisFormat
from studbook.daemon.formats.info import FileInfo
from studbook.daemon.formats.limits import Limits
from studbook.daemon.formats.source import Cursor, Source

FORMAT = "safetensors"


def looks_like(head: bytes) -> bool:
    """An 8-byte length then a JSON object: '{' followed by a quote, '}' or whitespace."""
    return len(head) >= 10 and head[8:9] == b"{" and head[9:10] in b'"} \t\r\n'


def inspect(source: Source, limits: Limits) -> FileInfo:
    cursor = Cursor(source)
    header_len = cursor.u64("header length")
    # A header that cannot fit in the file: no safetensors loader reads past this point.
    beyond_the_file = header_len > source.size - 8
    refusal = NotThisFormat if beyond_the_file else FormatError
    if header_len > limits.max_header_bytes:
        raise refusal(
            "HEADER_TOO_LARGE",
            f"safetensors header declares {header_len} bytes, above the "
            f"{limits.max_header_bytes}-byte limit; a real header this large is not "
            "safetensors as any writer makes it (raise Limits.max_header_bytes to read it anyway)",
            declared=header_len,
        )
    if beyond_the_file:
        raise NotThisFormat(
            "TRUNCATED",
            f"safetensors header declares {header_len} bytes but only {source.size - 8} follow: "
            "the file was cut short; copy it again",
        )
    header = jsonutil.loads(cursor.read(header_len, "JSON header"), "safetensors header", header_len)
    if not isinstance(header, dict):
        raise FormatError("BAD_HEADER", "safetensors header is not a JSON object")
    data_size = source.size - 8 - header_len
    user_metadata = header.pop("__metadata__", None) or {}
    if not isinstance(user_metadata, dict):
        raise FormatError("BAD_HEADER", "safetensors __metadata__ is not an object")
    if len(header) > limits.max_tensors:
        raise FormatError("TOO_MANY_TENSORS", f"{len(header)} tensors, above the {limits.max_tensors} limit")
    tensors: dict[str, Any] = {}
    dtype_counts: dict[str, int] = {}
    parameters = 0
    ranges: list[tuple[int, int, str]] = []
    for name, entry in header.items():
        dtype, shape, numel = _check_tensor(name, entry, data_size, limits)
        ranges.append((entry["data_offsets"][0], entry["data_offsets"][1], name))
        parameters += numel
        dtype_counts[dtype] = dtype_counts.get(dtype, 0) + numel
        if len(tensors) < limits.max_listed:
            tensors[name] = {"dtype": dtype, "shape": list(shape)}
    _check_tiling(ranges, data_size)
    metadata: dict[str, Any] = {
        "tensor_count": len(header),
        "tensors": tensors,
        "dtypes": dtype_counts,
        "header_bytes": header_len,
        "metadata": {str(k): jsonutil.clip(v, limits.max_listed) for k, v in user_metadata.items()},
    }
    return FileInfo(format=FORMAT, metadata=metadata, parameter_count=parameters)


def _check_tensor(name: str, entry: Any, data_size: int, limits: Limits) -> tuple[str, tuple[int, ...], int]:
    """Validate one header entry; returns (normalised dtype, shape, element count)."""
    if not isinstance(entry, dict):
        raise FormatError("BAD_HEADER", f"tensor {name[:100]!r}: entry is not an object")
    raw_dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
    if not isinstance(raw_dtype, str):
        raise FormatError("BAD_HEADER", f"tensor {name[:100]!r}: missing dtype")
    if not isinstance(shape, list) or len(shape) > limits.max_rank or not all(type(d) is int and d >= 0 for d in shape):
        raise FormatError("BAD_HEADER", f"tensor {name[:100]!r}: shape must be non-negative integers")
    if not isinstance(offsets, list) or len(offsets) != 2 or not all(type(o) is int for o in offsets):
        raise FormatError("BAD_HEADER", f"tensor {name[:100]!r}: data_offsets must be [begin, end]")
    if not 0 <= offsets[0] <= offsets[1]:
        raise FormatError(
            "INVALID_OFFSETS",
            f"tensor {name[:100]!r}: data_offsets {offsets} end before they begin; the file is corrupt, write it again",
            tensor=name[:100],
        )
    if offsets[1] > data_size:
        raise FormatError(
            "OFFSET_OUT_OF_RANGE",
            f"tensor {name[:100]!r} ends at byte {offsets[1]} of a {data_size}-byte data section",
        )
    numel = 1
    for dim in shape:
        numel *= dim
    known = dtypes.SAFETENSORS.get(raw_dtype)
    if known is None:
        # A newer dtype we have no size for: report it as is, skip the size check.
        return raw_dtype.lower(), tuple(shape), numel
    dtype, bits = known
    expected = (numel * bits + 7) // 8
    if offsets[1] - offsets[0] != expected:
        raise FormatError(
            "SIZE_MISMATCH",
            f"tensor {name[:100]!r}: {raw_dtype}{shape} needs {expected} bytes, "
            f"data_offsets span {offsets[1] - offsets[0]}",
        )
    return dtype, tuple(shape), numel


def _check_tiling(ranges: list[tuple[int, int, str]], data_size: int) -> None:
    """Tensors must tile the data section exactly, as the reference reader requires:
    sorted by offset, each begins where the previous ended and the last ends at the end.
    Overlaps let one byte range be read as two tensors; gaps hide bytes no tensor owns."""
    position = 0
    previous = ""
    for begin, end, name in sorted(ranges):
        if begin != position:
            problem = "overlaps" if begin < position else f"leaves a {begin - position}-byte gap after"
            after = repr(previous[:100]) if previous else "the start of the data section"
            raise FormatError(
                "INVALID_OFFSETS",
                f"tensor {name[:100]!r} at byte {begin} {problem} {after}; safetensors tensors "
                "must tile the data section exactly: the file is corrupt or crafted, write it again",
                tensor=name[:100],
                offset=begin,
            )
        position, previous = end, name
    if position != data_size:
        raise FormatError(
            "INVALID_OFFSETS",
            f"tensors end at byte {position} of a {data_size}-byte data section: "
            f"{data_size - position} trailing bytes belong to no tensor; write the file again",
            offset=position,
        )
