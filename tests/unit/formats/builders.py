"""Byte-level builders for format files, so hostile variants can be written by hand."""

from __future__ import annotations

import json
import struct
import zipfile
from pathlib import Path
from typing import Any

# --- protobuf wire format ---------------------------------------------------------------


def varint(value: int) -> bytes:
    value &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def pb_int(number: int, value: int) -> bytes:
    return varint(number << 3) + varint(value)


def pb_bytes(number: int, payload: bytes | str) -> bytes:
    data = payload.encode() if isinstance(payload, str) else payload
    return varint(number << 3 | 2) + varint(len(data)) + data


# --- ONNX ModelProto --------------------------------------------------------------------


def onnx_value_info(name: str, elem_type: int, dims: list[int | str]) -> bytes:
    shape = b"".join(pb_bytes(1, pb_int(1, d) if isinstance(d, int) else pb_bytes(2, d)) for d in dims)
    tensor_type = pb_int(1, elem_type) + pb_bytes(2, shape)
    return pb_bytes(1, name) + pb_bytes(2, pb_bytes(1, tensor_type))


def onnx_tensor(name: str, dims: list[int], external: dict[str, str] | None = None) -> bytes:
    body = b"".join(pb_int(1, d) for d in dims) + pb_int(2, 1) + pb_bytes(8, name)
    if external is not None:
        for key, value in external.items():
            body += pb_bytes(13, pb_bytes(1, key) + pb_bytes(2, value))
        body += pb_int(14, 1)
    else:
        count = 1
        for d in dims:
            count *= d
        body += pb_bytes(9, b"\0" * 4 * count)
    return body


def onnx_model(
    *,
    initializers: list[bytes] = (),  # type: ignore[assignment]
    inputs: list[bytes] = (),  # type: ignore[assignment]
    outputs: list[bytes] = (),  # type: ignore[assignment]
    nodes: list[tuple[str, str]] = (),  # type: ignore[assignment]
    ir_version: int = 9,
    opset: int = 17,
) -> bytes:
    graph = b"".join(pb_bytes(1, pb_bytes(4, op) + pb_bytes(7, domain)) for op, domain in nodes)
    graph += pb_bytes(2, "g")
    graph += b"".join(pb_bytes(5, t) for t in initializers)
    graph += b"".join(pb_bytes(11, i) for i in inputs)
    graph += b"".join(pb_bytes(12, o) for o in outputs)
    return (
        pb_int(1, ir_version)
        + pb_bytes(2, "handmade")
        + pb_bytes(3, "1.0")
        + pb_bytes(7, graph)
        + pb_bytes(8, pb_bytes(1, "") + pb_int(2, opset))
    )


# --- TensorFlow SavedModel --------------------------------------------------------------


def tf_tensor_info(name: str, dtype: int, dims: list[int]) -> bytes:
    shape = b"".join(pb_bytes(2, pb_int(1, d)) for d in dims)
    return pb_bytes(1, name) + pb_int(2, dtype) + pb_bytes(3, shape)


Signatures = dict[str, dict[str, dict[str, tuple[int, list[int]]]]]


def tf_node(op: str, name: str = "", attrs: dict[str, str] | None = None) -> bytes:
    """NodeDef: name, op and string-valued attrs (AttrValue.s)."""
    body = pb_bytes(1, name or op.lower()) + pb_bytes(2, op)
    for key, value in (attrs or {}).items():
        body += pb_bytes(5, pb_bytes(1, key) + pb_bytes(2, pb_bytes(2, value)))
    return body


def tf_graph(nodes: list[bytes] = (), functions: list[list[bytes]] = ()) -> bytes:  # type: ignore[assignment]
    """GraphDef: nodes, and a function library whose FunctionDefs hold node_defs."""
    graph = b"".join(pb_bytes(1, node) for node in nodes)
    if functions:
        library = b"".join(
            pb_bytes(1, pb_bytes(1, pb_bytes(1, f"f{i}")) + b"".join(pb_bytes(3, n) for n in body))
            for i, body in enumerate(functions)
        )
        graph += pb_bytes(2, library)
    return graph


def saved_model_pb(
    signatures: Signatures,
    tf_version: str = "2.16.1",
    graph: bytes | None = None,
    ops: list[str] = (),  # type: ignore[assignment]
) -> bytes:
    """signatures: name -> {"inputs"/"outputs": {key: (dtype enum, dims)}}; the graph as given,
    else one node of each op type in `ops`, else empty nodes."""
    meta_info = pb_bytes(4, "serve") + pb_bytes(5, tf_version)
    if graph is None:
        graph = tf_graph([tf_node(op, f"n{i}") for i, op in enumerate(ops)]) if ops else b"\x0a\x00" * 50
    meta_graph = pb_bytes(1, meta_info) + pb_bytes(2, graph)
    for name, sides in signatures.items():
        body = b""
        for number, side in ((1, "inputs"), (2, "outputs")):
            for key, (dtype, dims) in sides.get(side, {}).items():
                body += pb_bytes(number, pb_bytes(1, key) + pb_bytes(2, tf_tensor_info(f"{key}:0", dtype, dims)))
        body += pb_bytes(3, "tensorflow/serving/predict")
        meta_graph += pb_bytes(5, pb_bytes(1, name) + pb_bytes(2, body))
    return pb_int(1, 1) + pb_bytes(2, meta_graph)


# --- safetensors ------------------------------------------------------------------------


def safetensors_bytes(
    tensors: dict[str, tuple[str, list[int], bytes]], metadata: dict[str, str] | None = None
) -> bytes:
    header: dict[str, Any] = {}
    data = b""
    for name, (dtype, shape, payload) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(payload)]}
        data += payload
    if metadata is not None:
        header["__metadata__"] = metadata
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + data


# --- GGUF -------------------------------------------------------------------------------


def gguf_string(text: str) -> bytes:
    data = text.encode()
    return struct.pack("<Q", len(data)) + data


def gguf_bytes(
    kv: list[tuple[str, int, bytes]],
    tensors: list[tuple[str, list[int], int, int]] = (),  # type: ignore[assignment]
    data: bytes = b"",
    version: int = 3,
    tensor_count: int | None = None,
    kv_count: int | None = None,
) -> bytes:
    """kv: (key, value type, encoded value); tensors: (name, dims, ggml type, offset)."""
    tensor_count = len(tensors) if tensor_count is None else tensor_count
    kv_count = len(kv) if kv_count is None else kv_count
    out = b"GGUF" + struct.pack("<IQQ", version, tensor_count, kv_count)
    for key, vtype, value in kv:
        out += gguf_string(key) + struct.pack("<I", vtype) + value
    for name, dims, ggml_type, offset in tensors:
        out += gguf_string(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims)
        out += struct.pack("<IQ", ggml_type, offset)
    if data:
        out += b"\0" * (-len(out) % 32) + data
    return out


# --- zip archives -----------------------------------------------------------------------


def write_zip(path: Path, entries: dict[str, bytes], compression: int = zipfile.ZIP_STORED) -> Path:
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return path


def keras_archive(path: Path, config: dict[str, Any], keras_version: str = "3.6.0") -> Path:
    metadata = {"keras_version": keras_version, "date_saved": "2026-01-02@03:04:05"}
    return write_zip(
        path,
        {
            "metadata.json": json.dumps(metadata).encode(),
            "config.json": json.dumps(config).encode(),
            "model.weights.h5": b"\x89HDF\r\n\x1a\n" + b"\0" * 64,
        },
        zipfile.ZIP_DEFLATED,
    )


def keras_layer(class_name: str, config: dict[str, Any], module: str = "keras.layers") -> dict[str, Any]:
    return {"module": module, "class_name": class_name, "config": config, "registered_name": None}


def write_files(root: Path, files: dict[str, bytes | str]) -> list[Path]:
    """Write `files` under root; returns their paths relative to root."""
    written: list[Path] = []
    for name, content in files.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content.encode() if isinstance(content, str) else content)
        written.append(Path(name))
    return written


# --- pickles ----------------------------------------------------------------------------


def pickle_global(module: str, name: str, protocol: int = 2) -> bytes:
    """A pickle that only names module.name (GLOBAL) and stops: it calls nothing."""
    body = b"c" + module.encode() + b"\n" + name.encode() + b"\n."
    return body if protocol < 2 else bytes([0x80, protocol]) + body


def pickle_stack_global(module: str, name: str) -> bytes:
    """Protocol 4: module and name pushed as strings, then STACK_GLOBAL."""

    def short(text: str) -> bytes:
        data = text.encode()
        return b"\x8c" + bytes([len(data)]) + data + b"\x94"

    return b"\x80\x04" + short(module) + short(name) + b"\x93."


def pickle_call(module: str, name: str, args: bytes = b")") -> bytes:
    """module.name(*args) by REDUCE; `args` are opcodes that push one tuple."""
    return b"\x80\x02c" + module.encode() + b"\n" + name.encode() + b"\n" + args + b"R."


def zip_with_directory(data: bytes, directory: list[tuple[str, int]]) -> bytes:
    """A stored zip with one local entry ("a", `data`) at offset 0 and a central directory
    of (name, local header offset) rows, which may point anywhere: overlapping-entry zips."""
    import zlib

    crc, size = zlib.crc32(data), len(data)
    local = struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 0, 0, 0, crc, size, size, 1, 0) + b"a" + data
    central = b""
    for name, offset in directory:
        raw = name.encode()
        central += struct.pack(
            "<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 0, 0, 0, crc, size, size, len(raw), 0, 0, 0, 0, 0, offset
        )
        central += raw
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(directory), len(directory), len(central), len(local), 0)
    return local + central + end
