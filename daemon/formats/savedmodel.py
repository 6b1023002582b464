"""TensorFlow SavedModel: saved_model.pb's tags, TensorFlow version and signature_defs,
read from the protobuf wire format (the graph itself is skipped unread)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from studbook.daemon.domain.model import Signature, TensorSpec
from studbook.daemon.formats import dtypes, tf_ops
from studbook.daemon.formats.errors import FormatError
from studbook.daemon.formats.info import UNSAFE_OPS, FileInfo
from studbook.daemon.formats.limits import Limits
from studbook.daemon.formats.protowire import Budget, Message, Span, signed
from studbook.daemon.formats.source import Source

FORMAT = "savedmodel"
PB_NAME = "saved_model.pb"
DEFAULT_SIGNATURE = "serving_default"
_MAX_STRING = 64 * 1024
# Op names and attribute keys are short identifiers.
_MAX_NAME = 1024
# Unsafe op names listed in one flag (the metadata keeps max_listed).
_FLAG_OPS = 16
# Distinct op types counted; a graph of more kinds than this is a description cut short.
_MAX_OP_TYPES = 256


def looks_like(head: bytes) -> bool:
    """saved_model_schema_version (field 1) = 1, then a MetaGraphDef (field 2)."""
    return head[:3] == b"\x08\x01\x12"


@dataclass
class SavedModelInfo:
    tags: list[str] = field(default_factory=list)
    tensorflow_version: str = ""
    signatures: dict[str, Signature] = field(default_factory=dict)
    methods: dict[str, str] = field(default_factory=dict)
    meta_graphs: int = 0
    nodes: int = 0
    unsafe_ops: set[str] = field(default_factory=set)
    # Op type -> node count; types past max_listed are not counted (nodes still are).
    op_types: dict[str, int] = field(default_factory=dict)

    @property
    def flags(self) -> tuple[str, ...]:
        """unsafe-ops:OP1,OP2 (sorted, bounded) when the graph holds any."""
        if not self.unsafe_ops:
            return ()
        return (UNSAFE_OPS + ",".join(sorted(self.unsafe_ops)[:_FLAG_OPS]),)

    @property
    def signature(self) -> Signature | None:
        if DEFAULT_SIGNATURE in self.signatures:
            return self.signatures[DEFAULT_SIGNATURE]
        return next(iter(self.signatures.values()), None)

    def metadata(self, limits: Limits) -> dict[str, Any]:
        return {
            "meta_graphs": self.meta_graphs,
            "tags": self.tags[: limits.max_listed],
            "tensorflow_version": self.tensorflow_version,
            "signature_names": list(self.signatures)[: limits.max_listed],
            "methods": dict(list(self.methods.items())[: limits.max_listed]),
            "node_count": self.nodes,
            "unsafe_ops": sorted(self.unsafe_ops)[: limits.max_listed],
            "op_types": dict(sorted(self.op_types.items(), key=lambda kv: -kv[1])[: limits.max_listed]),
        }


def read(source: Source, limits: Limits) -> SavedModelInfo:
    if source.size > limits.max_protobuf_bytes:
        raise FormatError(
            "FILE_TOO_LARGE",
            f"{PB_NAME} is {source.size} bytes, above the {limits.max_protobuf_bytes}-byte limit",
        )
    model = Message(source, 0, source.size, Budget(limits.max_protobuf_fields, limits.max_depth))
    info = SavedModelInfo()
    for number, _, value in model.fields():
        if number == 2 and isinstance(value, Span):
            info.meta_graphs += 1
            _meta_graph(model.child(value), info, limits)
    if not info.meta_graphs:
        raise FormatError("BAD_SAVEDMODEL", f"{PB_NAME} holds no MetaGraphDef")
    return info


def inspect(source: Source, limits: Limits) -> FileInfo:
    info = read(source, limits)
    return FileInfo(format=FORMAT, flags=info.flags, metadata=info.metadata(limits), signature=info.signature)


def _meta_graph(message: Message, info: SavedModelInfo, limits: Limits) -> None:
    for number, _, value in message.fields():
        if not isinstance(value, Span):
            continue
        if number == 1:  # MetaInfoDef
            meta = message.child(value)
            for n, _, v in meta.fields():
                if n == 4 and isinstance(v, Span) and len(info.tags) < limits.max_listed:
                    info.tags.append(meta.string(v, _MAX_STRING, "tag"))
                elif n == 5 and isinstance(v, Span):
                    info.tensorflow_version = meta.string(v, _MAX_STRING, "tensorflow_version")
        elif number == 2:  # GraphDef
            _graph(message.child(value), info)
        elif number == 5 and len(info.signatures) < limits.max_listed:  # signature_def map
            key, signature_def = _map_entry(message.child(value))
            if signature_def is not None:
                info.signatures[key], method = _signature_def(signature_def)
                if method:
                    info.methods[key] = method


def _graph(graph: Message, info: SavedModelInfo) -> None:
    """GraphDef: its nodes (field 1) and the nodes of its function library (field 2), where
    tf.function bodies (and so most ops of a TF2 model) live."""
    for number, _, value in graph.fields():
        if not isinstance(value, Span):
            continue
        if number == 1:
            _node(graph.child(value), info)
        elif number == 2:  # FunctionDefLibrary
            library = graph.child(value)
            for n, _, function in library.fields():
                if n == 1 and isinstance(function, Span):  # FunctionDef
                    body = library.child(function)
                    for m, _, node in body.fields():
                        if m == 3 and isinstance(node, Span):  # node_def
                            _node(body.child(node), info)


def _node(node: Message, info: SavedModelInfo) -> None:
    """NodeDef: op (field 2); a PrintV2 also has its output_stream attribute read."""
    info.nodes += 1
    op = ""
    attrs: list[Span] = []
    for number, _, value in node.fields():
        if number == 2 and isinstance(value, Span):
            op = node.string(value, _MAX_NAME, "op")
        elif number == 5 and isinstance(value, Span):
            attrs.append(value)
    if op and (op in info.op_types or len(info.op_types) < _MAX_OP_TYPES):
        info.op_types[op] = info.op_types.get(op, 0) + 1
    if op in tf_ops.UNSAFE:
        info.unsafe_ops.add(op)
    elif op == tf_ops.PRINT and any(_prints_to_file(node.child(attr)) for attr in attrs):
        info.unsafe_ops.add(op)


def _prints_to_file(entry: Message) -> bool:
    """An attr map entry output_stream whose AttrValue.s (field 2) names a file."""
    key, value = _map_entry(entry)
    if key != "output_stream" or value is None:
        return False
    for number, _, raw in value.fields():
        if number == 2 and isinstance(raw, Span):
            return value.string(raw, _MAX_STRING, "output_stream").startswith(tf_ops.FILE_STREAM)
    return False


def _map_entry(message: Message) -> tuple[str, Message | None]:
    key, value_message = "", None
    for number, _, value in message.fields():
        if number == 1 and isinstance(value, Span):
            key = message.string(value, _MAX_STRING, "map key")
        elif number == 2 and isinstance(value, Span):
            value_message = message.child(value)
    return key, value_message


def _signature_def(message: Message) -> tuple[Signature, str]:
    inputs: list[TensorSpec] = []
    outputs: list[TensorSpec] = []
    method = ""
    for number, _, value in message.fields():
        if not isinstance(value, Span):
            continue
        if number in (1, 2):
            key, tensor_info = _map_entry(message.child(value))
            spec = _tensor_info(key, tensor_info) if tensor_info else TensorSpec(name=key)
            (inputs if number == 1 else outputs).append(spec)
        elif number == 3:
            method = message.string(value, _MAX_STRING, "method_name")
    return Signature(inputs=tuple(inputs), outputs=tuple(outputs)), method


def _tensor_info(name: str, message: Message) -> TensorSpec:
    dtype = ""
    shape: tuple[int, ...] = ()
    for number, _, value in message.fields():
        if number == 2 and isinstance(value, int):
            dtype = dtypes.TENSORFLOW.get(value, f"type{value}")
        elif number == 3 and isinstance(value, Span):
            shape = _shape(message.child(value))
    return TensorSpec(name=name, dtype=dtype, shape=shape)


def _shape(message: Message) -> tuple[int, ...]:
    dims: list[int] = []
    for number, _, value in message.fields():
        if number == 2 and isinstance(value, Span):
            size = -1
            dim = message.child(value)
            for n, _, v in dim.fields():
                if n == 1 and isinstance(v, int):
                    size = signed(v)
            dims.append(size)
    return tuple(dims)
