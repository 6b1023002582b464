"""The format record: what the format readers learned about a file or a version, typed and bounded.

One record shape serves a file and a version: common facts (format, framework, tensors,
parameters, dtypes, architecture) plus at most one sub-record per format family. A version's
record summarizes its files and the folder they form. Every list and string has a bound
(below) so a hostile file cannot make the catalog, a response or a screen large.
No I/O: `daemon/formats/record.py` builds records from what the readers found.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from dataclasses import dataclass, field
from typing import Any, TypeVar, Union

# Bounds: every record built by `bounded` stays within these.
MAX_TEXT = 256
MAX_TENSORS = 8
MAX_ITEMS = 32
MAX_SHAPE = 16
MAX_DETAILS = 32


@dataclass(frozen=True)
class TensorInfo:
    """One tensor (or graph input/output): name, element type, shape (-1 = unknown dimension)."""

    name: str
    dtype: str = ""
    shape: tuple[int, ...] = ()

    @property
    def numel(self) -> int:
        count = 1
        for dim in self.shape:
            count *= max(dim, 0)
        return count


@dataclass(frozen=True)
class OnnxInfo:
    ir_version: int = 0
    # "domain:version", ai.onnx for the default domain.
    opsets: tuple[str, ...] = ()
    producer: str = ""
    producer_version: str = ""
    op_types: tuple[str, ...] = ()
    inputs: tuple[TensorInfo, ...] = ()
    outputs: tuple[TensorInfo, ...] = ()


@dataclass(frozen=True)
class GgufInfo:
    version: int = 0
    architecture: str = ""
    name: str = ""
    # The file type's quantization label (Q4_K_M, F16, ...).
    quantization: str = ""
    file_type: int = -1
    context_length: int = 0
    # Scalar key-values only (strings, numbers, booleans), as text.
    kv: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class KerasInfo:
    model_class: str = ""
    keras_version: str = ""
    layer_count: int = 0
    # Layer class names, most common first.
    layers: tuple[str, ...] = ()
    # Lambda layers hold serialized code: loading them runs it.
    lambda_layers: bool = False


@dataclass(frozen=True)
class PickleInfo:
    protocol: int = 0
    top_level_class: str = ""
    sklearn_version: str = ""
    compression: str = ""


@dataclass(frozen=True)
class MlflowInfo:
    flavors: tuple[str, ...] = ()
    loader_module: str = ""
    model_uuid: str = ""
    mlflow_version: str = ""
    has_signature: bool = False


@dataclass(frozen=True)
class SavedModelInfo:
    signatures: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    variables: tuple[str, ...] = ()
    tensorflow_version: str = ""
    # Op types of the graph's nodes, most used first.
    ops: tuple[str, ...] = ()


@dataclass(frozen=True)
class HuggingFaceInfo:
    model_type: str = ""
    architectures: tuple[str, ...] = ()
    torch_dtype: str = ""
    transformers_version: str = ""
    license: str = ""
    language: tuple[str, ...] = ()
    pipeline_tag: str = ""
    base_model: str = ""
    # The card's base_model_relation (finetune, adapter, quantized, merge), or "adapter"
    # for a PEFT adapter folder; empty when neither says.
    base_model_relation: str = ""


@dataclass(frozen=True)
class FormatInfo:
    """What a file's (or a version's) format says about the model in it."""

    format: str = ""
    framework: str = ""
    framework_version: str = ""
    architecture: str = ""
    tensor_count: int = 0
    parameters: int = 0
    # Element types, upper-case short names (F32, BF16, Q4_K, I64), most used first.
    dtypes: tuple[str, ...] = ()
    # The largest tensors, biggest first.
    tensors: tuple[TensorInfo, ...] = ()
    onnx: OnnxInfo | None = None
    gguf: GgufInfo | None = None
    keras: KerasInfo | None = None
    pickle: PickleInfo | None = None
    mlflow: MlflowInfo | None = None
    savedmodel: SavedModelInfo | None = None
    huggingface: HuggingFaceInfo | None = None
    # Further scalar facts worth showing, by name.
    details: dict[str, str] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return self is EMPTY or self == EMPTY


# -- bounds ------------------------------------------------------------------------------

T = TypeVar("T")


def clip_text(value: object, limit: int = MAX_TEXT) -> str:
    """Text of at most `limit` characters, without NULs (the catalog and terminals choke on them)."""
    return str(value).replace("\x00", "")[:limit]


def clip_tensor(tensor: TensorInfo) -> TensorInfo:
    return TensorInfo(clip_text(tensor.name), clip_text(tensor.dtype, 32), tuple(tensor.shape[:MAX_SHAPE]))


def bounded(record: T) -> T:
    """`record` with every string, list and map cut to the bounds above (recursively)."""
    if not dataclasses.is_dataclass(record) or isinstance(record, type):
        return record
    if isinstance(record, TensorInfo):
        return clip_tensor(record)  # type: ignore[return-value]
    changes: dict[str, Any] = {}
    for item in dataclasses.fields(record):
        value = getattr(record, item.name)
        if isinstance(value, str):
            changes[item.name] = clip_text(value)
        elif isinstance(value, tuple):
            limit = MAX_TENSORS if item.name == "tensors" else MAX_ITEMS
            changes[item.name] = tuple(
                clip_tensor(v) if isinstance(v, TensorInfo) else clip_text(v) if isinstance(v, str) else v
                for v in value[:limit]
            )
        elif isinstance(value, dict):
            changes[item.name] = {clip_text(k, 128): clip_text(v) for k, v in list(value.items())[:MAX_DETAILS]}
        elif dataclasses.is_dataclass(value):
            changes[item.name] = bounded(value)
    return dataclasses.replace(record, **changes)


# -- plain data (JSON in the catalog) ---------------------------------------------------------

# Records are frozen, so every empty one may be this one.
EMPTY = FormatInfo()


def to_plain(record: FormatInfo) -> dict[str, Any]:
    """A JSON-able dict with only the fields that differ from their defaults."""
    return _plain(record)


def from_plain(data: object) -> FormatInfo:
    """The record `to_plain` wrote; unknown keys (a newer daemon's) are ignored."""
    if not data:
        return EMPTY  # most files of most catalogs: nothing to build
    built = _build(FormatInfo, data)
    return built if isinstance(built, FormatInfo) else FormatInfo()


def _plain(record: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in dataclasses.fields(record):
        value = getattr(record, item.name)
        default = item.default_factory() if item.default_factory is not dataclasses.MISSING else item.default
        if value == default:
            continue
        if dataclasses.is_dataclass(value):
            out[item.name] = _plain(value)
        elif isinstance(value, tuple):
            out[item.name] = [_plain(v) if dataclasses.is_dataclass(v) else v for v in value]
        else:
            out[item.name] = value
    return out


def _build(cls: type, data: object) -> Any:
    if not isinstance(data, dict):
        return None
    hints = _hints(cls)
    values: dict[str, Any] = {}
    for item in dataclasses.fields(cls):
        if item.name not in data:
            continue
        values[item.name] = _value(hints[item.name], data[item.name])
    return cls(**values)


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    """The resolved field types of a record class: resolving them costs more than building one."""
    return typing.get_type_hints(cls)


def _value(hint: Any, raw: Any) -> Any:
    origin = typing.get_origin(hint)
    if origin in (Union, types.UnionType):
        inner = [a for a in typing.get_args(hint) if a is not type(None)][0]
        return None if raw is None else _value(inner, raw)
    if origin is tuple:
        inner = typing.get_args(hint)[0]
        return tuple(_value(inner, v) for v in (raw if isinstance(raw, list) else []))
    if origin is dict:
        return {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}
    if dataclasses.is_dataclass(hint):
        return _build(hint, raw)  # type: ignore[arg-type]
    return raw
