"""A format record (FormatInfo) as text: the `show` command's Format section and the UI's file pane."""

from __future__ import annotations

from collections.abc import Iterable

from studbook.cli.output import PLAIN, Painter, fields, table
from studbook.v1 import formats_pb2

_FAMILIES = ("onnx", "gguf", "keras", "pickle", "mlflow", "savedmodel", "huggingface")


def parameters(count: int) -> str:
    """1234567 -> "1.23M (1234567)": the scale at a glance, the exact count beside it."""
    if count <= 0:
        return ""
    for scale, suffix in ((10**12, "T"), (10**9, "B"), (10**6, "M"), (10**3, "K")):
        if count >= scale:
            return f"{count / scale:.3g}{suffix} ({count})"
    return str(count)


def shape(dims: Iterable[int]) -> str:
    return "[" + ", ".join("?" if d < 0 else str(d) for d in dims) + "]"


def family(info: formats_pb2.FormatInfo) -> list[tuple[str, object]]:
    """The set family sub-records' fields as `family.field` pairs (tensor lists as names)."""
    pairs: list[tuple[str, object]] = []
    for name in _FAMILIES:
        if not info.HasField(name):
            continue
        sub = getattr(info, name)
        for descriptor, value in sub.ListFields():
            kind = descriptor.message_type
            if kind is not None and kind.name == "TensorInfo":
                value = [f"{t.name}{' ' + t.dtype if t.dtype else ''} {shape(t.shape)}" for t in value]
            elif kind is not None:  # a map<string, string>
                value = dict(value)
            elif not isinstance(value, (str, int, float, bool)):
                value = list(value)
            pairs.append((f"{name}.{descriptor.name}", value))
    return pairs


def format_pairs(info: formats_pb2.FormatInfo) -> list[tuple[str, object]]:
    framework = " ".join(x for x in (info.framework, info.framework_version) if x)
    return [
        ("format", info.format),
        ("framework", framework),
        ("architecture", info.architecture),
        ("parameters", parameters(info.parameters)),
        ("tensors", info.tensor_count or ""),
        ("dtypes", list(info.dtypes)),
        *family(info),
        *((f"details.{k}", v) for k, v in sorted(info.details.items())),
    ]


def format_block(info: formats_pb2.FormatInfo, paint: Painter = PLAIN) -> str:
    """Facts, then the largest tensors as a table; empty for an empty record."""
    facts = fields(format_pairs(info), paint=paint)
    tensors = table(
        ("TENSOR", "DTYPE", "SHAPE"), [(t.name, t.dtype, shape(t.shape)) for t in info.tensors], paint=paint
    ) if info.tensors else ""  # fmt: skip
    return "\n".join(part for part in (facts, tensors) if part)


def summary_line(info: formats_pb2.FormatInfo) -> str:
    """One line: format · framework · architecture · parameters · dtypes; empty for an empty record."""
    count = f"{parameters(info.parameters).split(' ')[0]} params" if info.parameters > 0 else ""
    framework = " ".join(x for x in (info.framework, info.framework_version) if x)
    dtypes = ", ".join(info.dtypes[:4]) + (" …" if len(info.dtypes) > 4 else "")
    parts = [info.format, framework if framework != info.format else "", info.architecture, count, dtypes]
    return " · ".join(part for part in parts if part)


def compact_lines(info: formats_pb2.FormatInfo, tensors: int = 3) -> list[str]:
    """A few short lines for a narrow pane: the summary, the family's facts, the largest tensors."""
    head = summary_line(info)
    if not head or head == "unknown":  # no reader understood the file: nothing to add to its format column
        return []
    facts = [(key.split(".", 1)[1], value) for key, value in family(info) if not key.endswith(".kv")]
    lines = [head]
    if facts:
        lines.append("  ".join(f"{key} {_short(value)}" for key, value in facts))
    lines += [f"{t.name}  {t.dtype} {shape(t.shape)}" for t in info.tensors[:tensors]]
    return lines


def _short(value: object, items: int = 4) -> str:
    if isinstance(value, list):
        return ",".join(str(v) for v in value[:items]) + ("…" if len(value) > items else "")
    if isinstance(value, dict):
        return f"{len(value)} keys"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)
