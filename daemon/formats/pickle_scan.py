"""Pickle and joblib files: an opcode scan that never unpickles (see pickle_vm), turned
into FileInfo with the globals a file would import and the flags they earn."""

from __future__ import annotations

import pickletools
from pathlib import Path
from typing import Any

from studbook.daemon.formats.errors import FormatError, NotThisFormat
from studbook.daemon.formats.info import DANGEROUS_GLOBAL, UNKNOWN_GLOBAL, UNSAFE_FORMAT, FileInfo
from studbook.daemon.formats.limits import Limits
from studbook.daemon.formats.pickle_stream import PickleStream, compression_of, first_decompressed_byte
from studbook.daemon.formats.pickle_vm import Call, Global, ScanResult, TensorRef, is_legacy_torch, scan

# Protocol 2+ pickles start with PROTO; older ones with one of these opcodes.
_PROTOCOL_0_STARTS = frozenset(b"(cNIJKLSVXFGUT]}l)dep")


def looks_like(head: bytes) -> bool:
    """PROTO 2-5 first, or a protocol 0/1 opening that decodes as opcodes."""
    if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
        return True
    if not head or head[0] not in _PROTOCOL_0_STARTS:
        return False
    try:
        ops = 0
        for opcode, _, _ in pickletools.genops(head):
            ops += 1
            if opcode.name == "STOP":
                return True
        return False
    except (ValueError, OverflowError):
        # Ran out of sniffed bytes mid-stream: enough opcodes decoded means a pickle.
        return ops >= 3


def could_begin_a_pickle(first: bytes | None) -> bool:
    """Whether an unpickler would start on a stream whose first byte is `first` (None: not known)."""
    return first is None or first[:1] == b"\x80" or (first[:1] != b"" and first[0] in _PROTOCOL_0_STARTS)


def file_info(result: ScanResult, limits: Limits, compression: str | None = None) -> FileInfo:
    """FileInfo for a plain or compressed pickle file."""
    legacy = is_legacy_torch(result)
    if legacy:
        fmt = "pytorch"
    elif compression or any(g.startswith("joblib.") for g in result.globals):
        fmt = "joblib"
    else:
        fmt = "pickle"
    metadata = scan_metadata(result, limits)
    if compression:
        metadata["compression"] = compression
    if legacy:
        metadata["legacy_serialization"] = True
    return FileInfo(
        format=fmt,
        flags=scan_flags(result, limits),
        metadata=metadata,
        parameter_count=parameter_count(result) if result.tensors else None,
    )


def scan_flags(result: ScanResult, limits: Limits) -> tuple[str, ...]:
    """unsafe-format always; then the dangerous globals, then the unknown ones (bounded)."""
    dangerous = [DANGEROUS_GLOBAL + g for g in list(result.dangerous)[: limits.max_listed]]
    unknown = [UNKNOWN_GLOBAL + g for g in result.unsafe if g not in result.dangerous]
    return (UNSAFE_FORMAT, *dangerous, *unknown[: limits.max_listed])


def scan_metadata(result: ScanResult, limits: Limits) -> dict[str, Any]:
    cap = limits.max_listed
    metadata: dict[str, Any] = {
        "protocol": result.protocol,
        "streams": result.streams,
        "globals": list(result.globals)[:cap],
        "global_count": len(result.globals),
        "unsafe_globals": list(result.unsafe)[:cap],
        "dangerous_globals": list(result.dangerous)[:cap],
    }
    object_type = _object_type(result)
    if object_type:
        metadata["object_type"] = object_type
    if result.library_versions:
        metadata["library_versions"] = dict(list(result.library_versions.items())[:cap])
    if result.arrays:
        metadata["arrays"] = result.arrays
    if result.tensors:
        metadata["tensor_count"] = len(_unique_tensors(result))
        metadata["tensors"] = _named_tensors(result, limits)
    return metadata


def _object_type(result: ScanResult) -> str:
    """The class of the pickled top-level object, when it is a constructed instance."""
    root = _main_root(result)
    if isinstance(root, Call):
        func = root.func
        # copyreg._reconstructor(cls, base, state) and NEWOBJ both name the class first.
        if isinstance(func, Global) and func.qualified.endswith("._reconstructor"):
            args = root.args
            func = args[0] if isinstance(args, tuple) and args else func
        return func.qualified if isinstance(func, Global) else ""
    if isinstance(root, dict):
        return "builtins.dict"
    if isinstance(root, list):
        return "builtins.list"
    return ""


def _main_root(result: ScanResult) -> Any:
    """The pickled object itself: legacy torch.save puts it in its fourth stream."""
    if is_legacy_torch(result):
        return result.roots[3] if len(result.roots) > 3 else None
    return result.roots[0] if result.roots else None


def _unique_tensors(result: ScanResult) -> list[TensorRef]:
    seen: dict[tuple[str, int, tuple[int, ...]], TensorRef] = {}
    for tensor in result.tensors:
        seen.setdefault((tensor.storage, tensor.offset, tensor.shape), tensor)
    return list(seen.values())


def parameter_count(result: ScanResult) -> int:
    return sum(tensor.numel for tensor in _unique_tensors(result))


def _named_tensors(result: ScanResult, limits: Limits) -> dict[str, Any]:
    """Tensor names from the pickled state dict (dotted paths), as far as a bounded walk goes."""
    named: dict[str, Any] = {}
    stack: list[tuple[str, Any, int]] = [("", _main_root(result), 0)]
    visited: set[int] = set()
    budget = 100_000
    while stack and budget > 0 and len(named) < limits.max_listed:
        budget -= 1
        path, value, depth = stack.pop()
        if isinstance(value, TensorRef):
            named[path or "<root>"] = {"dtype": value.dtype, "shape": list(value.shape)}
            continue
        if id(value) in visited or depth > 16:
            continue
        visited.add(id(value))
        children = [
            (f"{path}.{key}" if path else str(key), child, depth + 1)
            for mapping in _mappings(value)
            for key, child in mapping.items()
        ]
        stack.extend(reversed(children))
    return named


def _mappings(value: Any) -> list[dict[Any, Any]]:
    """The dicts a walk descends into: plain dicts, and an object's items and state."""
    if isinstance(value, dict):
        return [value]
    if not isinstance(value, Call):
        return []
    state = value.state
    if isinstance(state, tuple) and state and isinstance(state[0], dict):
        state = state[0]
    return [value.items, state] if isinstance(state, dict) else [value.items]


def inspect(path: Path, size: int, head: bytes, limits: Limits) -> FileInfo | None:
    """Scan a pickle or joblib file on disk; None for a compressed file holding no pickle."""
    compression = compression_of(head) if not looks_like(head) else None
    with open(path, "rb") as fileobj:
        if compression:
            stream = PickleStream.decompressing(fileobj, compression, limits)
            try:
                opening = stream.peek(64)
            except FormatError as err:
                if err.reason != "BAD_COMPRESSION" or could_begin_a_pickle(
                    first_decompressed_byte(fileobj, compression)
                ):
                    raise
                # Corrupt before anything an unpickler would start on: joblib could load nothing from it.
                raise NotThisFormat(err.reason, err.message, **err.metadata) from None
            if not looks_like(opening):
                return None
        else:
            stream = PickleStream.over_file(fileobj, size, limits)
        result = scan(stream, limits)
    return file_info(result, limits, compression)


def scan_bytes(data: bytes, limits: Limits) -> ScanResult:
    """Scan an in-memory pickle (a zip member such as PyTorch's data.pkl)."""
    return scan(PickleStream.over_bytes(data, limits), limits)
