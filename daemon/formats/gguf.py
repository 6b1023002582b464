"""GGUF: header, key/value metadata and tensor infos, with every count and length bounded."""

from __future__ import annotations

import math
import struct
from typing import Any

from studbook.daemon.formats import dtypes, jsonutil
from studbook.daemon.formats.errors import FormatError
from studbook.daemon.formats.info import FileInfo
from studbook.daemon.formats.limits import Limits
from studbook.daemon.formats.source import Cursor, Source

FORMAT = "gguf"
MAGIC = b"GGUF"
DEFAULT_ALIGNMENT = 32

# Value type -> struct code for the fixed-width scalars.
_SCALARS = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
_STRING, _ARRAY = 8, 9
_TYPE_NAMES = {
    0: "uint8",
    1: "int8",
    2: "uint16",
    3: "int16",
    4: "uint32",
    5: "int32",
    6: "float32",
    7: "bool",
    8: "string",
    9: "array",
    10: "uint64",
    11: "int64",
    12: "float64",
}
# Arrays up to this length are copied into metadata; longer ones are summarised.
_INLINE_ARRAY = 16
# Strings longer than this are summarised in metadata (chat templates stay whole).
_INLINE_STRING = 64 * 1024
# Characters of one string value copied into metadata (a chat template fits).
_KV_CHARS = 16 * 1024
# Keys and tensor names are identifiers; anything longer is not a real file.
_MAX_NAME = 4096
# String values kept in memory across the whole file; past it they are only summarised.
_KEPT_TOTAL = 16 * 1024 * 1024


def looks_like(head: bytes) -> bool:
    return head[:4] == MAGIC


class _Reader:
    """Walks the GGUF header; `order` and the v1 32-bit lengths come from the version."""

    def __init__(self, source: Source, limits: Limits) -> None:
        self.cursor = Cursor(source)
        self.limits = limits
        self.items_left = limits.max_array_items_total
        self.kept_left = _KEPT_TOTAL
        self.wide = True  # v2+: 64-bit counts and lengths

    def count(self, what: str) -> int:
        return self.cursor.u64(what) if self.wide else self.cursor.u32(what)

    def string(self, what: str, keep: int = _INLINE_STRING) -> str | None:
        """A length-prefixed UTF-8 string; None (and skipped) when longer than `keep`."""
        length = self.count(f"{what} length")
        if length > self.limits.max_string_bytes:
            raise FormatError(
                "STRING_TOO_LONG",
                f"GGUF {what} declares {length} bytes, above the {self.limits.max_string_bytes}-byte limit",
            )
        if length > keep or length > self.kept_left:
            self.cursor.skip(length, what)
            return None
        self.kept_left -= length
        return self.cursor.read(length, what).decode("utf-8", errors="replace")

    def name(self, what: str) -> str:
        """A key or tensor name: always read, so it must be short."""
        length = self.count(f"{what} length")
        if length > _MAX_NAME:
            raise FormatError("STRING_TOO_LONG", f"GGUF {what} is longer than {_MAX_NAME} bytes")
        return self.cursor.read(length, what).decode("utf-8", errors="replace")

    def value(self, vtype: int, what: str) -> Any:
        code = _SCALARS.get(vtype)
        if code is not None:
            return self.cursor.unpack(code, what)[0]
        if vtype == _STRING:
            text = self.string(what)
            return text if text is not None else {"type": "string", "truncated": True}
        if vtype == _ARRAY:
            return self.array(what)
        raise FormatError("BAD_VALUE_TYPE", f"GGUF {what}: unknown value type {vtype}")

    def array(self, what: str) -> Any:
        etype = self.cursor.u32(f"{what} element type")
        length = self.count(f"{what} length")
        if length > self.limits.max_array_length:
            raise FormatError(
                "ARRAY_TOO_LONG",
                f"GGUF {what} declares {length} elements, above the {self.limits.max_array_length} limit",
            )
        if etype == _ARRAY:
            raise FormatError("BAD_VALUE_TYPE", f"GGUF {what}: nested arrays are not supported")
        code = _SCALARS.get(etype)
        if code is not None:
            width = struct.calcsize(code)
            if length > _INLINE_ARRAY:
                # Fixed-width elements: skip them in one step, however many.
                self.cursor.skip(length * width, what)
                return _summary(etype, length)
            return list(self.cursor.unpack(f"{length}{code}", what))
        if etype != _STRING:
            raise FormatError("BAD_VALUE_TYPE", f"GGUF {what}: unknown element type {etype}")
        # Strings have their own lengths, so each must be visited: that is what the
        # total item budget bounds (a vocabulary is ~100k-250k strings).
        self.items_left -= length
        if self.items_left < 0:
            raise FormatError(
                "TOO_MANY_ITEMS",
                f"GGUF arrays hold more than {self.limits.max_array_items_total} strings in total",
            )
        if length <= _INLINE_ARRAY:
            return [self.string(f"{what}[{i}]") for i in range(length)]
        for _ in range(length):
            self.string(what, keep=0)
        return _summary(etype, length)


def _summary(etype: int, length: int) -> dict[str, Any]:
    return {"type": "array", "element_type": _TYPE_NAMES.get(etype, str(etype)), "length": length}


def inspect(source: Source, limits: Limits) -> FileInfo:
    reader = _Reader(source, limits)
    cursor = reader.cursor
    if cursor.read(4, "magic") != MAGIC:
        raise FormatError("BAD_MAGIC", "not a GGUF file: the first bytes are not 'GGUF'")
    version = cursor.u32("version")
    if version > 0xFFFF:
        # Big-endian files store the version (a small number) byte-swapped.
        cursor.order = ">"
        version = struct.unpack(">I", struct.pack("<I", version))[0]
    if version not in (1, 2, 3):
        raise FormatError("UNSUPPORTED_VERSION", f"GGUF version {version} is not supported")
    reader.wide = version >= 2
    tensor_count = reader.count("tensor count")
    kv_count = reader.count("key/value count")
    if kv_count > limits.max_kv_count:
        raise FormatError(
            "TOO_MANY_KEYS",
            f"GGUF declares {kv_count} key/value pairs, above the {limits.max_kv_count} limit",
            declared=kv_count,
        )
    if tensor_count > limits.max_tensors:
        raise FormatError(
            "TOO_MANY_TENSORS",
            f"GGUF declares {tensor_count} tensors, above the {limits.max_tensors} limit",
            declared=tensor_count,
        )
    kv: dict[str, Any] = {}
    for index in range(kv_count):
        key = reader.name(f"key #{index}")
        if key in kv:
            raise FormatError(
                "DUPLICATE_KEY",
                f"GGUF key {key[:80]!r} appears twice; llama.cpp refuses such a file: convert it again",
                key=key[:80],
            )
        vtype = cursor.u32(f"type of {key[:80]!r}")
        kv[key] = reader.value(vtype, f"value of {key[:80]!r}")
        _check_header_size(cursor.pos, limits)
    parameters, tensor_types, listed = _read_tensor_infos(reader, tensor_count, kv, source.size)
    return FileInfo(
        format=FORMAT,
        metadata=_metadata(version, cursor.order, tensor_count, kv, tensor_types, listed, limits),
        parameter_count=parameters,
    )


def _read_tensor_infos(
    reader: _Reader, tensor_count: int, kv: dict[str, Any], file_size: int
) -> tuple[int, dict[str, int], dict[str, Any]]:
    """Sum elements per type and check that every tensor's data lies within the file."""
    cursor, limits = reader.cursor, reader.limits
    infos: list[tuple[str, int, int, int]] = []
    tensor_types: dict[str, int] = {}
    listed: dict[str, Any] = {}
    parameters = 0
    seen: set[str] = set()
    for index in range(tensor_count):
        name = reader.name(f"tensor #{index} name")
        if name in seen:
            raise FormatError(
                "BAD_TENSOR", f"GGUF tensor {name[:80]!r} is declared twice; convert the model again", tensor=name[:80]
            )
        seen.add(name)
        rank = cursor.u32(f"rank of tensor {name[:80]!r}")
        if rank > limits.max_rank:
            raise FormatError("BAD_TENSOR", f"GGUF tensor {name[:80]!r} has rank {rank}")
        dims = [reader.count(f"dimension of {name[:80]!r}") for _ in range(rank)]
        ggml_type = cursor.u32(f"type of tensor {name[:80]!r}")
        offset = cursor.u64(f"offset of tensor {name[:80]!r}")
        numel = 1
        for dim in dims:
            numel *= dim
        parameters += numel
        type_name = dtypes.GGML.get(ggml_type, (f"type{ggml_type}", 0, 0))[0]
        tensor_types[type_name] = tensor_types.get(type_name, 0) + 1
        if len(listed) < limits.max_listed:
            # GGUF stores dimensions innermost first; report them row-major like the others.
            listed[name] = {"type": type_name, "shape": dims[::-1]}
        infos.append((name[:80], ggml_type, numel, offset))
        _check_header_size(cursor.pos, limits)
    alignment = kv.get("general.alignment", DEFAULT_ALIGNMENT)
    if type(alignment) is not int or alignment <= 0 or alignment & (alignment - 1):
        raise FormatError("BAD_ALIGNMENT", f"GGUF general.alignment {alignment!r} is not a power of two")
    data_start = (cursor.pos + alignment - 1) // alignment * alignment
    # llama.cpp requires each tensor at the running, alignment-padded end of the ones
    # before it; a tensor of a type we cannot size ends that check (its size is unknown).
    expected: int | None = 0
    for name, ggml_type, numel, offset in infos:
        known = dtypes.GGML.get(ggml_type)
        if known is None:
            expected = None
            continue
        _, block, block_bytes = known
        nbytes = (numel + block - 1) // block * block_bytes
        if expected is not None and offset != expected:
            raise FormatError(
                "INVALID_OFFSETS",
                f"GGUF tensor {name[:80]!r} is at data offset {offset}, but the tensors before it "
                f"end at {expected}: tensors overlap, leave gaps or are out of order; convert the model again",
                tensor=name[:80],
                offset=offset,
            )
        end = data_start + offset + nbytes
        if end > file_size:
            raise FormatError(
                "OFFSET_OUT_OF_RANGE",
                f"GGUF tensor {name[:80]!r} ends at byte {end} of a {file_size}-byte file",
            )
        if expected is not None:
            expected = offset + (nbytes + alignment - 1) // alignment * alignment
    return parameters, tensor_types, listed


def _check_header_size(position: int, limits: Limits) -> None:
    if position > limits.max_gguf_header_bytes:
        raise FormatError(
            "HEADER_TOO_LARGE",
            f"GGUF header runs past {limits.max_gguf_header_bytes} bytes before its tensor data; "
            "no real model needs that much metadata (raise Limits.max_gguf_header_bytes to read it)",
            limit=limits.max_gguf_header_bytes,
        )


def _metadata(
    version: int,
    order: str,
    tensor_count: int,
    kv: dict[str, Any],
    tensor_types: dict[str, int],
    listed: dict[str, Any],
    limits: Limits,
) -> dict[str, Any]:
    architecture = kv.get("general.architecture")
    file_type = kv.get("general.file_type")
    metadata: dict[str, Any] = {
        "version": version,
        "byte_order": "little" if order == "<" else "big",
        "tensor_count": tensor_count,
        "tensor_types": tensor_types,
        "tensors": listed,
        "kv_count": len(kv),
    }
    if isinstance(architecture, str):
        metadata["architecture"] = architecture
        context = kv.get(f"{architecture}.context_length")
        if isinstance(context, int):
            metadata["context_length"] = context
    if isinstance(kv.get("general.name"), str):
        metadata["name"] = kv["general.name"]
    if type(file_type) is int:
        metadata["file_type"] = file_type
        metadata["quantization"] = dtypes.GGUF_FILE_TYPE.get(file_type, f"type{file_type}")
    elif tensor_types:
        # Files without general.file_type: name the most common tensor type.
        metadata["quantization"] = max(tensor_types.items(), key=lambda item: item[1])[0]
    metadata["kv"] = {
        key: jsonutil.clip(_jsonable(value), limits.max_listed, max_chars=_KV_CHARS)
        for key, value in list(kv.items())[: limits.max_listed]
    }
    return metadata


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # NaN and infinities are not JSON
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value
