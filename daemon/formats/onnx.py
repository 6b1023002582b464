"""ONNX: opsets, producer, graph inputs/outputs and external-data references, read from the
protobuf wire format without the onnx package (and without reading tensor payloads)."""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from studbook.daemon.domain.model import Signature, TensorSpec
from studbook.daemon.formats import dtypes, paths
from studbook.daemon.formats.errors import FormatError, NotThisFormat
from studbook.daemon.formats.info import EXTERNAL_DATA, EXTERNAL_DATA_MISSING, FileInfo
from studbook.daemon.formats.limits import Limits
from studbook.daemon.formats.protowire import LEN, VARINT, Budget, Message, Span, signed
from studbook.daemon.formats.source import Source

FORMAT = "onnx"
# Strings we keep (names, producer, doc_string); longer ones are cut.
_MAX_STRING = 64 * 1024
_DOC_CHARS = 4096
# Initializers listed by size, element types counted, and dimensions kept of each listed one.
_LARGEST = 8
_MAX_DTYPES = 32
_MAX_RANK_LISTED = 16
# Failures that say the bytes are not a protobuf ModelProto at all (bounds on size, depth or
# field count are not among them: a real model can exceed one).
_UNPARSEABLE = frozenset({"BAD_PROTOBUF", "TRUNCATED", "BAD_ONNX"})
# ModelProto fields that may follow ir_version in a real file, with their wire types.
_MODEL_FIELDS = {1: VARINT, 2: LEN, 3: LEN, 4: LEN, 5: VARINT, 6: LEN, 7: LEN, 8: LEN, 14: LEN, 20: LEN, 25: LEN}


def looks_like(head: bytes) -> bool:
    """ModelProto starts with ir_version (field 1; IR 3 was ONNX 1.0) then another known field.

    ONNX has no magic number, so this checks the first two fields' tags; the same prefix
    check keeps SavedModel protobufs (which start with 08 01) out.
    """
    if len(head) < 3 or head[0] != 0x08 or not 3 <= head[1] <= 100:
        return False
    number, wire = head[2] >> 3, head[2] & 7
    return number != 1 and _MODEL_FIELDS.get(number) == wire


@dataclass
class _Graph:
    """What the walk over a ModelProto collects."""

    inputs: list[TensorSpec] = field(default_factory=list)
    outputs: list[TensorSpec] = field(default_factory=list)
    initializer_names: set[str] = field(default_factory=set)
    parameters: int = 0
    initializer_count: int = 0
    node_count: int = 0
    op_types: dict[str, int] = field(default_factory=dict)
    external: dict[str, int] = field(default_factory=dict)  # location -> bytes needed
    name: str = ""
    symbolic_dims: set[str] = field(default_factory=set)
    # Initializers by element type, and the largest ones (elements, name, dtype, dims), bounded.
    dtypes: dict[str, int] = field(default_factory=dict)
    largest: list[tuple[int, str, str, tuple[int, ...]]] = field(default_factory=list)

    def add_initializer(self, name: str, dtype: str, dims: tuple[int, ...]) -> None:
        if dtype and (dtype in self.dtypes or len(self.dtypes) < _MAX_DTYPES):
            self.dtypes[dtype] = self.dtypes.get(dtype, 0) + 1
        entry = (_product(list(dims)), name, dtype, dims[:_MAX_RANK_LISTED])
        if len(self.largest) < _LARGEST:
            heapq.heappush(self.largest, entry)
        elif entry > self.largest[0]:
            heapq.heapreplace(self.largest, entry)


def inspect(source: Source, limits: Limits, model_dir: Path | None = None, root: Path | None = None) -> FileInfo:
    """Read `source` as a ModelProto; external data must resolve inside `root`.

    `model_dir` is the folder external locations are relative to (the file's folder) and
    `root` the folder they must stay within (the version folder; defaults to model_dir).
    """
    if source.size > limits.max_protobuf_bytes:
        raise FormatError(
            "FILE_TOO_LARGE",
            f"ONNX file is {source.size} bytes, above the {limits.max_protobuf_bytes}-byte limit",
        )
    try:
        metadata, graph = _read_model(source, limits)
    except FormatError as err:
        if err.reason not in _UNPARSEABLE:
            raise
        # onnx and onnxruntime refuse such bytes themselves, and read no external data.
        raise NotThisFormat(err.reason, err.message, **err.metadata) from None
    inputs = [spec for spec in graph.inputs if spec.name not in graph.initializer_names]
    metadata.update(
        graph_name=graph.name,
        node_count=graph.node_count,
        op_types=dict(sorted(graph.op_types.items(), key=lambda kv: -kv[1])[: limits.max_listed]),
        initializer_count=graph.initializer_count,
        symbolic_dims=sorted(graph.symbolic_dims)[: limits.max_listed],
        dtypes=dict(graph.dtypes),
        tensors={name: {"dtype": dtype, "shape": list(dims)}
                 for _, name, dtype, dims in sorted(graph.largest, reverse=True)},
    )  # fmt: skip
    flags: list[str] = []
    if graph.external:
        flags.append(EXTERNAL_DATA)
        missing = _check_external(graph.external, model_dir, root)
        metadata["external_data"] = sorted(graph.external)[: limits.max_listed]
        if missing:
            flags.append(EXTERNAL_DATA_MISSING)
            metadata["external_data_missing"] = missing[: limits.max_listed]
    return FileInfo(
        format=FORMAT,
        flags=tuple(flags),
        metadata=metadata,
        signature=Signature(inputs=tuple(inputs), outputs=tuple(graph.outputs)),
        parameter_count=graph.parameters,
    )


def _read_model(source: Source, limits: Limits) -> tuple[dict[str, Any], _Graph]:
    """The ModelProto's own fields, and what its graphs, training info and functions hold."""
    model = Message(source, 0, source.size, Budget(limits.max_protobuf_fields, limits.max_depth))
    graph = _Graph()
    metadata: dict[str, Any] = {"opsets": {}, "metadata_props": {}}
    for number, wire, value in model.fields():
        if number in _MODEL_FIELDS and wire != _MODEL_FIELDS[number]:
            raise FormatError("BAD_PROTOBUF", f"ONNX ModelProto field {number} has wire type {wire}")
        if number == 1 and isinstance(value, int):
            metadata["ir_version"] = signed(value)
        elif number in (2, 3, 4, 6) and isinstance(value, Span):
            key = {2: "producer_name", 3: "producer_version", 4: "domain", 6: "doc_string"}[number]
            text = model.string(_cut(value), _MAX_STRING, key)
            metadata[key] = text[:_DOC_CHARS] if number == 6 else text
        elif number == 5 and isinstance(value, int):
            metadata["model_version"] = signed(value)
        elif number == 7 and isinstance(value, Span):
            _walk_graph(model.child(value), graph, top=True)
        elif number == 8 and isinstance(value, Span):
            domain, version = _opset(model.child(value))
            if len(metadata["opsets"]) < limits.max_listed:
                metadata["opsets"][domain or "ai.onnx"] = version
        elif number == 14 and isinstance(value, Span):
            key, val = _string_pair(model.child(value))
            if len(metadata["metadata_props"]) < limits.max_listed:
                metadata["metadata_props"][key] = val[:_DOC_CHARS]
        elif number == 20 and isinstance(value, Span):
            _walk_training_info(model.child(value), graph)
        elif number == 25 and isinstance(value, Span):
            _walk_function(model.child(value), graph)
    if "ir_version" not in metadata:
        raise FormatError("BAD_ONNX", "ONNX model has no ir_version")
    return metadata, graph


def _cut(span: Span) -> Span:
    """Long strings are read only up to the kept length."""
    return Span(span.start, min(span.length, _MAX_STRING))


def _opset(message: Message) -> tuple[str, int]:
    domain, version = "", 0
    for number, _, value in message.fields():
        if number == 1 and isinstance(value, Span):
            domain = message.string(_cut(value), _MAX_STRING, "opset domain")
        elif number == 2 and isinstance(value, int):
            version = signed(value)
    return domain, version


def _string_pair(message: Message) -> tuple[str, str]:
    """A StringStringEntryProto (metadata_props, external_data)."""
    key = val = ""
    for number, _, value in message.fields():
        if number == 1 and isinstance(value, Span):
            key = message.string(_cut(value), _MAX_STRING, "key")
        elif number == 2 and isinstance(value, Span):
            val = message.string(_cut(value), _MAX_STRING, "value")
    return key, val


def _walk_graph(message: Message, graph: _Graph, top: bool) -> None:
    """GraphProto: nodes, initializers, inputs, outputs; subgraphs only for external data."""
    for number, _, value in message.fields():
        if not isinstance(value, Span):
            continue
        if number == 1:
            _walk_node(message.child(value), graph, top)
        elif number == 2 and top:
            graph.name = message.string(_cut(value), _MAX_STRING, "graph name")
        elif number == 5:
            name, dtype, dims = _walk_tensor(message.child(value), graph)
            if top:
                graph.initializer_names.add(name)
                graph.initializer_count += 1
                graph.parameters += _product(list(dims))
                graph.add_initializer(name, dtype, dims)
        elif number == 15:
            _walk_sparse_tensor(message.child(value), graph, top)
        elif number in (11, 12) and top:
            spec = _value_info(message.child(value), graph)
            (graph.inputs if number == 11 else graph.outputs).append(spec)


def _walk_node(message: Message, graph: _Graph, top: bool) -> None:
    op_type = domain = ""
    for number, _, value in message.fields():
        if not isinstance(value, Span):
            continue
        if number == 4:
            op_type = message.string(_cut(value), _MAX_STRING, "op_type")
        elif number == 7:
            domain = message.string(_cut(value), _MAX_STRING, "node domain")
        elif number == 5:
            _walk_attribute(message.child(value), graph)
    if top:
        graph.node_count += 1
        key = f"{domain}.{op_type}" if domain and domain != "ai.onnx" else op_type
        if key in graph.op_types or len(graph.op_types) < 1024:
            graph.op_types[key] = graph.op_types.get(key, 0) + 1


def _walk_attribute(message: Message, graph: _Graph) -> None:
    """AttributeProto: tensors (t, tensors) and subgraphs (g, graphs) may carry external data."""
    for number, _, value in message.fields():
        if not isinstance(value, Span):
            continue
        if number in (5, 10):
            _walk_tensor(message.child(value), graph)
        elif number in (6, 11):
            _walk_graph(message.child(value), graph, top=False)
        elif number in (22, 23):
            _walk_sparse_tensor(message.child(value), graph, top=False)


def _walk_training_info(message: Message, graph: _Graph) -> None:
    for number, _, value in message.fields():
        if number in (1, 3) and isinstance(value, Span):
            _walk_graph(message.child(value), graph, top=False)


def _walk_function(message: Message, graph: _Graph) -> None:
    for number, _, value in message.fields():
        if number == 7 and isinstance(value, Span):
            _walk_node(message.child(value), graph, top=False)


def _walk_sparse_tensor(message: Message, graph: _Graph, top: bool) -> None:
    dims: list[int] = []
    for number, wire, value in message.fields():
        if number in (1, 2) and isinstance(value, Span):
            _walk_tensor(message.child(value), graph)
        elif number == 3:
            dims.extend(_int64s(message, wire, value))
    if top:
        graph.initializer_count += 1
        graph.parameters += _product(dims)


def _walk_tensor(message: Message, graph: _Graph) -> tuple[str, str, tuple[int, ...]]:
    """TensorProto: name, element type and dims; records external data locations."""
    name = dtype = ""
    dims: list[int] = []
    location = ""
    offset = length = 0
    external = False
    for number, wire, value in message.fields():
        if number == 1:
            dims.extend(_int64s(message, wire, value))
        elif number == 2 and isinstance(value, int):
            dtype = dtypes.ONNX.get(value, f"type{value}")
        elif number == 8 and isinstance(value, Span):
            name = message.string(_cut(value), _MAX_STRING, "tensor name")
        elif number == 13 and isinstance(value, Span):
            key, val = _string_pair(message.child(value))
            if key == "location":
                location = val
            elif key == "offset":
                offset = _to_int(val)
            elif key == "length":
                length = _to_int(val)
        elif number == 14 and isinstance(value, int):
            external = value == 1
    if external or location:
        if not location:
            raise FormatError("BAD_ONNX", f"tensor {name[:100]!r} has external data without a location")
        needed = offset + length if length else offset
        graph.external[location] = max(graph.external.get(location, 0), needed)
    return name, dtype, tuple(dims)


def _value_info(message: Message, graph: _Graph) -> TensorSpec:
    name = dtype = ""
    shape: tuple[int, ...] = ()
    for number, _, value in message.fields():
        if number == 1 and isinstance(value, Span):
            name = message.string(_cut(value), _MAX_STRING, "value name")
        elif number == 2 and isinstance(value, Span):
            dtype, shape = _type(message.child(value), graph)
    return TensorSpec(name=name, dtype=dtype, shape=shape)


def _type(message: Message, graph: _Graph) -> tuple[str, tuple[int, ...]]:
    """TypeProto -> (dtype, shape); sequences, maps and optionals are spelt out in the dtype."""
    for number, _, value in message.fields():
        if not isinstance(value, Span):
            continue
        child = message.child(value)
        if number in (1, 8):  # tensor_type, sparse_tensor_type
            dtype, shape = _tensor_type(child, graph)
            return (dtype if number == 1 else f"sparse<{dtype}>"), shape
        if number == 4:  # sequence_type
            inner = _first_type(child, 1, graph)
            return f"sequence<{inner}>", ()
        if number == 5:  # map_type
            key_type, val_type = "", ""
            for n, _, v in child.fields():
                if n == 1 and isinstance(v, int):
                    key_type = dtypes.ONNX.get(v, str(v))
                elif n == 2 and isinstance(v, Span):
                    val_type = _type(child.child(v), graph)[0]
            return f"map<{key_type},{val_type}>", ()
        if number == 9:  # optional_type
            return f"optional<{_first_type(child, 1, graph)}>", ()
    return "", ()


def _first_type(message: Message, field_number: int, graph: _Graph) -> str:
    for number, _, value in message.fields():
        if number == field_number and isinstance(value, Span):
            return _type(message.child(value), graph)[0]
    return ""


def _tensor_type(message: Message, graph: _Graph) -> tuple[str, tuple[int, ...]]:
    dtype = ""
    shape: list[int] = []
    for number, _, value in message.fields():
        if number == 1 and isinstance(value, int):
            dtype = dtypes.ONNX.get(value, f"type{value}")
        elif number == 2 and isinstance(value, Span):
            shape = _shape(message.child(value), graph)
    return dtype, tuple(shape)


def _shape(message: Message, graph: _Graph) -> list[int]:
    dims: list[int] = []
    for number, _, value in message.fields():
        if number != 1 or not isinstance(value, Span):
            continue
        dim = -1  # symbolic (dim_param) or unknown
        dimension = message.child(value)
        for n, _, v in dimension.fields():
            if n == 1 and isinstance(v, int):
                dim = signed(v)
            elif n == 2 and isinstance(v, Span) and len(graph.symbolic_dims) < 1024:
                graph.symbolic_dims.add(dimension.string(_cut(v), _MAX_STRING, "dim_param"))
        dims.append(dim)
    return dims


def _int64s(message: Message, wire: int, value: int | Span) -> list[int]:
    """A repeated int64 field, packed or not."""
    if isinstance(value, Span):
        return [signed(v) for v in message.packed_varints(value)]
    return [signed(value)] if wire == VARINT else []


def _product(dims: list[int]) -> int:
    total = 1
    for dim in dims:
        total *= max(dim, 0)
    return total


def _to_int(text: str) -> int:
    return int(text) if text.isdigit() and len(text) < 20 else 0


def _check_external(external: dict[str, int], model_dir: Path | None, root: Path | None) -> list[str]:
    """Refuse locations that escape `root`; return those whose file is missing or too short."""
    missing: list[str] = []
    for location, needed in sorted(external.items()):
        relative = PurePosixPath(location.replace("\\", "/"))
        if relative.is_absolute() or ".." in relative.parts or "\x00" in location or location[1:2] == ":":
            raise FormatError(
                "EXTERNAL_DATA_OUTSIDE",
                f"ONNX external data {location[:200]!r} points outside the version folder",
                location=location[:200],
            )
        if model_dir is None:
            continue
        target = model_dir / relative
        if not paths.inside(target, root or model_dir):
            # A symlink inside the folder that leads out of it.
            raise FormatError(
                "EXTERNAL_DATA_OUTSIDE",
                f"ONNX external data {location[:200]!r} resolves outside the version folder",
                location=location[:200],
            )
        try:
            size = target.stat().st_size if target.is_file() else -1
        except OSError:
            size = -1
        if size < needed:
            missing.append(location)
    return missing
