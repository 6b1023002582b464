"""Text building blocks for the CLI: aligned tables, key/value blocks, colour only on a terminal, JSON."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import IO, Any

from google.protobuf import timestamp_pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from studbook.cli import times

MAX_CELL = 60
ELLIPSIS = "…"
_CODES = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33", "cyan": "36"}


def wants_colour(stream: IO[str]) -> bool:
    """Colour only for a terminal, and never when NO_COLOR is set (no-color.org)."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    return hasattr(stream, "isatty") and stream.isatty()


class Painter:
    """Wraps text in ANSI styles, or returns it untouched when colour is off."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __call__(self, text: str, *styles: str) -> str:
        if not self.enabled or not styles or not text:
            return text
        codes = ";".join(_CODES[style] for style in styles)
        return f"\x1b[{codes}m{text}\x1b[0m"


PLAIN = Painter(False)


def width(text: str) -> int:
    """Columns the text takes in a terminal: wide (CJK) characters count twice."""
    visible = _strip_ansi(text)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in visible)


def _strip_ansi(text: str) -> str:
    out, i = [], 0
    while i < len(text):
        if text[i] == "\x1b":
            end = text.find("m", i)
            i = end + 1 if end != -1 else len(text)
            continue
        out.append(text[i])
        i += 1
    return "".join(out)


def clip(text: str, limit: int = MAX_CELL) -> str:
    """One line of at most `limit` characters, cut with an ellipsis."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + ELLIPSIS


def table(
    headers: Sequence[str], rows: Iterable[Sequence[object]], *, paint: Painter = PLAIN, limit: int = MAX_CELL
) -> str:
    """Columns padded to the widest cell; the last column is not padded (no trailing blanks)."""
    cells = [[clip(_text(value), limit) for value in row] for row in rows]
    widths = [width(h) for h in headers]
    for row in cells:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], width(cell))
    lines = [_row([paint(h, "bold") for h in headers], widths)]
    lines += [_row(row, widths) for row in cells]
    return "\n".join(lines)


def _row(cells: Sequence[str], widths: Sequence[int]) -> str:
    padded = [cell + " " * (widths[i] - width(cell)) for i, cell in enumerate(cells[:-1])]
    return "  ".join([*padded, *cells[-1:]]).rstrip()


def fields(pairs: Iterable[tuple[str, object]], *, paint: Painter = PLAIN) -> str:
    """`key:  value` lines with aligned values; empty values are left out."""
    kept = [(key, _text(value)) for key, value in pairs if _text(value) != ""]
    if not kept:
        return ""
    pad = max(len(key) for key, _ in kept)
    return "\n".join(f"{paint(key + ':', 'dim')}{' ' * (pad - len(key))} {value}" for key, value in kept)


def section(title: str, body: str, *, paint: Painter = PLAIN) -> str:
    """A titled block, or nothing when the body is empty."""
    if not body:
        return ""
    indented = "\n".join(f"  {line}" if line else line for line in body.splitlines())
    return f"{paint(title, 'bold')}\n{indented}"


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return format_number(value)
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={v}" for k, v in sorted(value.items()))
    if isinstance(value, (list, tuple)):
        return ", ".join(_text(v) for v in value)
    return str(value)


def format_number(value: float) -> str:
    """Metrics read best with up to 4 significant decimals: 0.9312, 1234.5, 1.2e-05."""
    return f"{value:.4g}" if abs(value) < 1e6 else f"{value:.6g}"


def format_time(stamp: timestamp_pb2.Timestamp | None) -> str:
    """`2026-11-03 14:05:12 +01:00` (local time, or UTC with --utc), or "" when unset."""
    if stamp is None or (stamp.seconds == 0 and stamp.nanos == 0):
        return ""
    return times.format_moment(stamp.ToDatetime(tzinfo=UTC))


def format_size(size: int) -> str:
    """Bytes in binary units: 512 B, 1.5 KiB, 2.0 GiB."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"  # pragma: no cover - the loop always returns


def enum_label(enum: Any, value: int) -> str:
    """`VERSION_STATUS_READY` -> `ready`: the enum's shared prefix dropped, lower case."""
    try:
        name = str(enum.Name(value))
    except ValueError:
        return str(value)
    return _enum_word([str(n) for n in enum.keys()], name)


def _enum_word(names: Sequence[str], name: str) -> str:
    prefix = os.path.commonprefix(list(names))
    prefix = prefix[: prefix.rfind("_") + 1]
    return name[len(prefix) :].lower()


def message_dict(message: Message) -> dict[str, Any]:
    """A message as `--json` prints it: the one shape every command gives scripts.

    The proto3 JSON mapping (the .proto field names, every field present), then made
    what a script wants: 64-bit integers as numbers (the mapping quotes them), enums as
    plain lowercase words (`ready`, not `VERSION_STATUS_READY`), and each `metrics` list
    as a map by key (see `metrics_by_key`). Times stay RFC 3339 strings in UTC (`...Z`).
    """
    # Here, not at the top: the terminal UI uses this module's cell formats, and its first
    # frame need not wait for the JSON mapping.
    from google.protobuf import json_format

    raw = json_format.MessageToDict(
        message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )
    return _message_for_scripts(message.DESCRIPTOR, raw)


_INT64 = {
    FieldDescriptor.TYPE_INT64,
    FieldDescriptor.TYPE_UINT64,
    FieldDescriptor.TYPE_SINT64,
    FieldDescriptor.TYPE_FIXED64,
    FieldDescriptor.TYPE_SFIXED64,
}
# Messages whose proto3 JSON form is already a plain value (a string, mostly): kept as is.
_WELL_KNOWN = {"google.protobuf.Timestamp", "google.protobuf.Duration", "google.protobuf.FieldMask"}


def _message_for_scripts(descriptor: Descriptor, data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in data.items():
        field = descriptor.fields_by_name.get(name)
        out[name] = value if field is None else _field_for_scripts(field, value)
    return out


def _field_for_scripts(field: FieldDescriptor, value: Any) -> Any:
    entry = field.message_type
    if entry is not None and entry.GetOptions().map_entry:
        inner = entry.fields_by_name["value"]
        return {key: _value_for_scripts(inner, item) for key, item in value.items()}
    if field.is_repeated:
        items = [_value_for_scripts(field, item) for item in value]
        if field.name == "metrics" and entry is not None and "key" in entry.fields_by_name:
            return metrics_by_key(items)
        return items
    return _value_for_scripts(field, value)


def _value_for_scripts(field: FieldDescriptor, value: Any) -> Any:
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        if field.message_type.full_name in _WELL_KNOWN or not isinstance(value, dict):
            return value
        return _message_for_scripts(field.message_type, value)
    if field.type == FieldDescriptor.TYPE_ENUM:
        # An unknown number (a newer daemon) stays a number: there is no word for it.
        return _enum_word([v.name for v in field.enum_type.values], value) if isinstance(value, str) else value
    if field.type in _INT64 and isinstance(value, str):
        return int(value)
    return value


def metrics_by_key(items: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """`[{"key": "auc", "split": "test", ...}]` -> `{"auc": {"split": "test", ...}}`.

    One observation of a key gives an object; several (one per split, or per step) give a
    list of objects in the order the daemon sent them (by split, then step). `step` is
    null for a summary value that belongs to no step.
    """
    grouped: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        rest = {name: value for name, value in item.items() if name != "key"}
        if "value" in rest:  # a Metric (not a diff's MetricChange): always these four, in this order
            rest = {name: rest.get(name) for name in ("value", "split", "step", "time")}
        grouped.setdefault(str(item.get("key", "")), []).append(rest)
    return {key: found[0] if len(found) == 1 else found for key, found in grouped.items()}


def json_text(value: Message | Mapping[str, Any] | list[Any]) -> str:
    data = message_dict(value) if isinstance(value, Message) else value
    return json.dumps(data, indent=2, ensure_ascii=False, default=_json_default)


def json_line(value: Message | Mapping[str, Any]) -> str:
    """One compact JSON object per line, for streams (`watch --json`)."""
    data = message_dict(value) if isinstance(value, Message) else value
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=_json_default)


def _json_default(value: object) -> object:
    if isinstance(value, Message):
        return message_dict(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


class ProgressLine:
    """A one-line progress bar on stderr for work that takes over a second; silent otherwise.

    Only on a terminal: scripts and logs get the result, not a stream of carriage returns.
    """

    DELAY = 1.0
    EVERY = 0.1

    def __init__(self, label: str, total: int, stream: IO[str] | None = None) -> None:
        self.label = label
        self.total = total
        self.done = 0
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty()
        self.started = time.monotonic()
        self.shown_at = 0.0
        self._lock = threading.Lock()

    def advance(self, count: int) -> None:
        with self._lock:  # files travel on several threads at once
            self.done += count
        now = time.monotonic()
        if self.enabled and now - self.started >= self.DELAY and now - self.shown_at >= self.EVERY:
            self.shown_at = now
            self._draw(now)

    def _draw(self, now: float) -> None:
        rate = format_size(int(self.done / max(now - self.started, 1e-9)))
        if self.total:  # 0: the total is not known, so no bar
            share = min(self.done / self.total, 1.0)
            shown = f"[{'#' * int(share * 30):<30}] {share:4.0%} {format_size(self.done)} of {format_size(self.total)}"
        else:
            shown = format_size(self.done)
        self.stream.write(f"\r{self.label} {shown}, {rate}/s")
        self.stream.flush()

    def __enter__(self) -> ProgressLine:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.shown_at:
            self._draw(time.monotonic())
            self.stream.write("\n")
            self.stream.flush()
