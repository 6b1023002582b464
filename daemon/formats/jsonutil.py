"""Bounded JSON decoding and a bounded walk over decoded documents."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from studbook.daemon.formats.errors import FormatError


def loads(data: bytes, what: str, max_bytes: int) -> Any:
    """Decode `data` as JSON; size, syntax and nesting problems become FormatError."""
    if len(data) > max_bytes:
        raise FormatError("HEADER_TOO_LARGE", f"{what} is {len(data)} bytes, above the {max_bytes}-byte limit")
    try:
        return json.loads(data)
    except RecursionError:
        raise FormatError("TOO_DEEP", f"{what} nests too deeply") from None
    except ValueError as err:  # JSONDecodeError and UnicodeDecodeError
        raise FormatError("BAD_JSON", f"{what} is not valid JSON: {err}") from None


def walk(doc: Any, max_depth: int, max_nodes: int) -> Iterator[Any]:
    """Every dict and list inside `doc`, depth-first, stopping at the given bounds."""
    stack: list[tuple[Any, int]] = [(doc, 0)]
    visited = 0
    while stack and visited < max_nodes:
        node, depth = stack.pop()
        visited += 1
        if isinstance(node, dict):
            yield node
            children: Any = node.values()
        elif isinstance(node, list):
            yield node
            children = node
        else:
            continue
        if depth < max_depth:
            stack.extend((child, depth + 1) for child in children)


def clip(value: Any, max_items: int, max_chars: int = 4096, depth: int = 8) -> Any:
    """A JSON-able copy of `value` with long strings, long lists and deep nesting cut."""
    if isinstance(value, str):
        return value if len(value) <= max_chars else value[:max_chars] + "…"
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if depth <= 0:
        return "…"
    if isinstance(value, dict):
        items = list(value.items())[:max_items]
        return {str(k): clip(v, max_items, max_chars, depth - 1) for k, v in items}
    if isinstance(value, (list, tuple)):
        return [clip(v, max_items, max_chars, depth - 1) for v in list(value)[:max_items]]
    return str(value)[:max_chars]


def as_dict(value: Any) -> dict[Any, Any]:
    """`value` when it is a mapping, else an empty one: decoded documents are untrusted."""
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
