"""User text made safe to print to a terminal or show in the UI.

Anything a user (or a file a user dropped) wrote reaches the screen through here:
descriptions, tags, metric names, model cards, reasons, paths, error messages. Control
characters (C0, DEL, C1) would let that text move the cursor, clear the screen, set the
window title or plant a hyperlink (ESC, CSI, OSC sequences); bidirectional overrides and
other invisible format characters make text read as something it is not. Each such
character is shown as its Python escape instead (`\\x1b`, `\\u202e`); bytes that are not
UTF-8, which Python decodes to lone surrogates, show as the byte (`\\xff`).

This is for display only: `--json` output keeps the exact strings (JSON escapes control
characters itself).
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:  # protobuf is imported where messages are cleaned: the CLI starts light
    from google.protobuf.descriptor import FieldDescriptor
    from google.protobuf.message import Message

# Categories that never print as themselves: controls, format characters (bidi
# overrides and isolates, zero-width characters, BOM), surrogates, line and paragraph
# separators.
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
# Fields whose text is meant to span lines (markdown); newlines and tabs stay there.
MULTILINE_FIELDS = frozenset({"model_card", "model_card_diff"})


def safe(text: str, *, multiline: bool = False) -> str:
    """`text` with every character that would not print as itself escaped; with
    `multiline`, newlines and tabs are kept."""
    if text.isprintable():
        return text  # the common case: no control, format or surrogate character
    return "".join(_escape(ch) if _unsafe(ch, multiline) else ch for ch in text)


def safe_lines(text: str) -> str:
    return safe(text, multiline=True)


def safe_message(message: Message) -> Message:
    """A copy of `message` with every string in it (nested messages, lists, map keys and
    values) made safe to show; `MULTILINE_FIELDS` keep their line breaks."""
    copy = type(message)()
    copy.CopyFrom(message)
    _clean(copy)
    return copy


V = TypeVar("V", bound=Callable[..., Any])


def shows_user_text(view: V) -> V:
    """For a function that renders messages for people: every message it is given (alone
    or in a list) is made safe to show first, whatever else the function does with it."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return view(*(_shown(a) for a in args), **{k: _shown(v) for k, v in kwargs.items()})

    return wrapper  # type: ignore[return-value]


def _shown(value: Any) -> Any:
    from google.protobuf.message import Message

    if isinstance(value, Message):
        return safe_message(value)
    if isinstance(value, (str, bytes, Mapping)) or callable(value) or not isinstance(value, Iterable):
        return value  # text, options, a painter
    return [safe_message(item) if isinstance(item, Message) else item for item in value]


def _unsafe(ch: str, multiline: bool) -> bool:
    if multiline and ch in "\n\t":
        return False
    return unicodedata.category(ch) in _UNSAFE_CATEGORIES


def _escape(ch: str) -> str:
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:
        return f"\\x{code - 0xDC00:02x}"  # a byte that was not UTF-8 (surrogateescape)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def _clean(message: Message) -> None:
    from google.protobuf.descriptor import FieldDescriptor

    for field, value in message.ListFields():
        multiline = field.name in MULTILINE_FIELDS
        if field.type == FieldDescriptor.TYPE_STRING:
            if field.is_repeated:
                value[:] = [safe(v, multiline=multiline) for v in value]
            else:
                setattr(message, field.name, safe(value, multiline=multiline))
        elif field.type == FieldDescriptor.TYPE_MESSAGE:
            if field.message_type.GetOptions().map_entry:
                _clean_map(field, value)
            elif field.is_repeated:
                for item in value:
                    _clean(item)
            else:
                _clean(value)


def _clean_map(field: FieldDescriptor, mapping: Any) -> None:
    from google.protobuf.descriptor import FieldDescriptor

    key_is_text = field.message_type.fields_by_name["key"].type == FieldDescriptor.TYPE_STRING
    value_type = field.message_type.fields_by_name["value"].type
    if value_type == FieldDescriptor.TYPE_MESSAGE:
        for key in list(mapping):
            _clean(mapping[key])
        for key in [k for k in mapping if key_is_text and safe(k) != k]:
            value = type(mapping[key])()
            value.CopyFrom(mapping[key])
            del mapping[key]
            mapping[safe(key)].CopyFrom(value)
        return
    entries = dict(mapping.items())
    mapping.clear()
    for key, value in entries.items():
        new_key = safe(key) if key_is_text else key
        mapping[new_key] = safe(value) if value_type == FieldDescriptor.TYPE_STRING else value
