"""JSON with positions: where each value and object key starts, as line and column."""

from __future__ import annotations

import bisect
import json
from dataclasses import dataclass, field
from typing import Any

# A path into a document: object keys and array indexes from the top.
JsonPath = tuple[str | int, ...]

_WHITESPACE = json.decoder.WHITESPACE  # type: ignore[attr-defined]
_SCALARS = json.JSONDecoder()


@dataclass(frozen=True)
class Position:
    line: int
    column: int


class JsonSyntaxError(ValueError):
    """The text is not JSON (or repeats a key); `position` says where."""

    def __init__(self, message: str, position: Position) -> None:
        super().__init__(message)
        self.message = message
        self.position = position


@dataclass
class Located:
    """A decoded document and the positions of its parts."""

    value: Any
    values: dict[JsonPath, Position] = field(default_factory=dict)
    keys: dict[JsonPath, Position] = field(default_factory=dict)

    def value_at(self, path: JsonPath) -> Position:
        """Where the value at `path` (or its closest enclosing value) starts."""
        while path not in self.values and path:
            path = path[:-1]
        return self.values.get(path, Position(1, 1))

    def key_at(self, path: JsonPath) -> Position:
        return self.keys.get(path) or self.value_at(path)


def parse(text: str, max_depth: int = 64) -> Located:
    """Decode `text`, recording positions; syntax errors and repeated keys raise
    JsonSyntaxError. Nesting beyond `max_depth` is refused before recursion can hurt."""
    walker = _Walker(text, max_depth)
    try:
        json.loads(text)  # the standard decoder's messages name the syntax error best
    except json.JSONDecodeError as exc:
        raise JsonSyntaxError(exc.msg, Position(exc.lineno, exc.colno)) from None
    except RecursionError:
        raise JsonSyntaxError(f"nests deeper than {max_depth} levels", Position(1, 1)) from None
    value, end = walker.value(_skip(text, 0), (), 0)
    return Located(value, walker.values, walker.keys)


def _skip(text: str, index: int) -> int:
    return _WHITESPACE.match(text, index).end()


class _Walker:
    """A second pass over text already known to be valid JSON, noting where things start."""

    def __init__(self, text: str, max_depth: int) -> None:
        self.text = text
        self.max_depth = max_depth
        self.line_starts = [0] + [i + 1 for i, ch in enumerate(text) if ch == "\n"]
        self.values: dict[JsonPath, Position] = {}
        self.keys: dict[JsonPath, Position] = {}

    def position(self, index: int) -> Position:
        line = bisect.bisect_right(self.line_starts, index)
        return Position(line, index - self.line_starts[line - 1] + 1)

    def value(self, index: int, path: JsonPath, depth: int) -> tuple[Any, int]:
        if depth > self.max_depth:
            raise JsonSyntaxError(f"nests deeper than {self.max_depth} levels", self.position(index))
        self.values[path] = self.position(index)
        opener = self.text[index]
        if opener == "{":
            return self._object(index, path, depth)
        if opener == "[":
            return self._array(index, path, depth)
        return _SCALARS.raw_decode(self.text, index)

    def _object(self, index: int, path: JsonPath, depth: int) -> tuple[dict[str, Any], int]:
        text = self.text
        result: dict[str, Any] = {}
        index = _skip(text, index + 1)
        if text[index] == "}":
            return result, index + 1
        while True:
            key_start = _skip(text, index)
            key, index = json.decoder.scanstring(text, key_start + 1)  # type: ignore[attr-defined]
            if key in result:
                raise JsonSyntaxError(f"key {key[:100]!r} appears twice", self.position(key_start))
            self.keys[(*path, key)] = self.position(key_start)
            index = _skip(text, _skip(text, index) + 1)  # past the colon
            result[key], index = self.value(index, (*path, key), depth + 1)
            index = _skip(text, index)
            if text[index] == "}":
                return result, index + 1
            index += 1  # the comma

    def _array(self, index: int, path: JsonPath, depth: int) -> tuple[list[Any], int]:
        text = self.text
        result: list[Any] = []
        index = _skip(text, index + 1)
        if text[index] == "]":
            return result, index + 1
        while True:
            item, index = self.value(_skip(text, index), (*path, len(result)), depth + 1)
            result.append(item)
            index = _skip(text, index)
            if text[index] == "]":
                return result, index + 1
            index += 1
