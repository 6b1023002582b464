"""The List filter language (an AIP-160 subset): syntax tree, parser and printer."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import TYPE_CHECKING, NoReturn

from studbook.daemon.domain.errors import InvalidArgument

if TYPE_CHECKING:
    from studbook.daemon.domain.fields import FieldSet

MAX_FILTER_LENGTH = 4096
MAX_DEPTH = 32
MAX_TERMS = 128
INT64_MAX = 2**63 - 1

COMPARATORS = ("<=", ">=", "!=", "=", "<", ">", ":")
KEYWORDS = frozenset({"AND", "OR", "NOT"})

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Segments after the first dot are map keys, which may hold the characters tag and
# metric keys allow (`metrics.val/loss@top-5`); anything else needs quotes.
_KEY_SEGMENT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_@/-]*")
_NUMBER = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_BARE_WORD = re.compile(r"[A-Za-z_*][A-Za-z0-9_.@/*-]*")
_UNTIL_BOUNDARY = re.compile(r"[^\s()]*")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r"}
_QUOTE_ESCAPES = {"\\": "\\\\", '"': '\\"', "*": "\\*", "\n": "\\n", "\t": "\\t", "\r": "\\r"}


# --- Values ---------------------------------------------------------------------


@dataclass(frozen=True)
class Text:
    """A string literal, quoted (`"risk"`) or a bare word (`READY`)."""

    value: str


@dataclass(frozen=True)
class Pattern:
    """A string with unescaped `*` wildcards: `"fraud*"` is parts ("fraud", "")."""

    parts: tuple[str, ...]


@dataclass(frozen=True)
class Int:
    value: int


@dataclass(frozen=True)
class Float:
    value: float


@dataclass(frozen=True)
class Bool:
    value: bool


@dataclass(frozen=True)
class Star:
    """A bare `*`: "any value", so `tags.team:*` means the tag is present."""


Value = Text | Pattern | Int | Float | Bool | Star


# --- Expressions ----------------------------------------------------------------
# Columns are 1-based positions in the filter text, kept for error messages only; they
# take no part in equality so that a printed and re-parsed tree compares equal.


@dataclass(frozen=True)
class Comparison:
    """`field op value` with op one of = != < <= > >=."""

    field: str
    op: str
    value: Value
    column: int = dc_field(default=0, compare=False, repr=False)
    op_column: int = dc_field(default=0, compare=False, repr=False)
    value_column: int = dc_field(default=0, compare=False, repr=False)


@dataclass(frozen=True)
class Has:
    """`field:value`, AIP-160's "has" operator."""

    field: str
    value: Value
    column: int = dc_field(default=0, compare=False, repr=False)
    op_column: int = dc_field(default=0, compare=False, repr=False)
    value_column: int = dc_field(default=0, compare=False, repr=False)


@dataclass(frozen=True)
class And:
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class Not:
    item: Expr


Expr = Comparison | Has | And | Or | Not


# --- Parsing --------------------------------------------------------------------


class Cursor:
    """A position in user text and the errors that point at it.

    Shared by the filter and order_by parsers so both report `at column N` the same way.
    """

    def __init__(self, text: str, *, label: str, reason: str) -> None:
        self.text = text
        self.pos = 0
        self.label = label
        self.reason = reason

    def fail(self, message: str, pos: int | None = None, *, hint: str = "", **metadata: object) -> NoReturn:
        column = (self.pos if pos is None else pos) + 1
        raise InvalidArgument(
            f"{self.label}: {message} at column {column}" + (f"; {hint}" if hint else ""),
            reason=self.reason,
            column=column,
            **{self.label: _clip(self.text, 200)},
            **metadata,
        )

    def skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    @property
    def at_end(self) -> bool:
        return self.pos >= len(self.text)

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def match(self, pattern: re.Pattern[str]) -> str | None:
        found = pattern.match(self.text, self.pos)
        if found is None or not found.group():
            return None
        self.pos = found.end()
        return found.group()

    def word_ahead(self) -> str:
        found = _IDENT.match(self.text, self.pos)
        return found.group() if found else ""

    def read_string(self) -> list[str]:
        """A quoted string from the current quote; returns the parts between wildcards.

        Backslash escapes any character (`\\*` is a literal star); \\n, \\t, \\r are
        control characters.
        """
        start = self.pos
        quote = self.text[self.pos]
        self.pos += 1
        parts: list[str] = []
        current: list[str] = []
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == "\\" and self.pos + 1 < len(self.text):
                escaped = self.text[self.pos + 1]
                current.append(_ESCAPES.get(escaped, escaped))
                self.pos += 2
                continue
            self.pos += 1
            if char == quote:
                parts.append("".join(current))
                return parts
            if char == "*":
                parts.append("".join(current))
                current = []
            else:
                current.append(char)
        self.fail("unterminated string (no closing quote)", pos=start)

    def read_field_path(self, context: str) -> tuple[str, int]:
        """`tags."my key"` -> ("tags.my key", start). The root is an identifier; keys may be quoted."""
        start = self.pos
        root = self.match(_IDENT)
        if root is None:
            char = self.peek()
            if char in ("'", '"'):
                self.fail("a field name cannot be quoted", hint='quote only map keys, as in tags."my key"')
            found = repr(char) if char else "the end"
            where = f" {context}" if context else ""
            self.fail(f"expected a field name{where}, found {found}")
        segments = [root]
        while self.peek() == ".":
            self.pos += 1
            if self.peek() in ("'", '"'):
                segments.append("*".join(self.read_string()))
                continue
            segment = self.match(_KEY_SEGMENT)
            if segment is None:
                self.fail(f"expected a key after '{'.'.join(segments)}.'")
            segments.append(segment)
        return ".".join(segments), start


class _FilterParser:
    """Recursive descent over the AIP-160 grammar.

    expression := sequence {AND sequence}
    sequence   := factor {factor}             (implicit AND)
    factor     := term {OR term}              (so OR binds tighter than AND)
    term       := [NOT | -] simple
    simple     := restriction | "(" expression ")"
    restriction:= field comparator value

    The conditions of a sequence join the surrounding AND (`a b AND c` is one AND of
    three), while a parenthesised group stays one node, so printing keeps the tree.
    """

    def __init__(self, text: str) -> None:
        self.cursor = Cursor(text, label="filter", reason="INVALID_FILTER")
        self.depth = 0
        self.terms = 0

    def parse(self) -> Expr:
        cursor = self.cursor
        expr = self.expression(after="")
        cursor.skip_space()
        if not cursor.at_end:
            # Only a stray ')' can stop an expression early.
            cursor.fail("unexpected ')' without a matching '('")
        return expr

    def expression(self, after: str) -> Expr:
        items = self.sequence(after)
        while self.keyword("AND"):
            items.extend(self.sequence(after="after 'AND'"))
        return items[0] if len(items) == 1 else And(tuple(items))

    def sequence(self, after: str) -> list[Expr]:
        items = [self.factor(after)]
        while True:
            self.cursor.skip_space()
            if self.cursor.at_end or self.cursor.peek() == ")" or self.cursor.word_ahead() in ("AND", "OR"):
                return items
            items.append(self.factor(after=""))

    def factor(self, after: str) -> Expr:
        items = [self.term(after)]
        while self.keyword("OR"):
            items.append(self.term(after="after 'OR'"))
        return items[0] if len(items) == 1 else Or(tuple(items))

    def term(self, after: str) -> Expr:
        cursor = self.cursor
        cursor.skip_space()
        if cursor.peek() == "-":
            cursor.pos += 1
            if cursor.peek().isspace() or cursor.at_end:
                cursor.fail("expected a condition right after '-' (no space between)")
            return Not(self.simple(after="after '-'"))
        if cursor.word_ahead() == "NOT":
            cursor.pos += 3
            if cursor.at_end:
                cursor.fail("expected a condition after 'NOT'")
            if not (cursor.peek().isspace() or cursor.peek() == "("):
                cursor.fail("expected a space or '(' after NOT")
            return Not(self.simple(after="after 'NOT'"))
        return self.simple(after)

    def simple(self, after: str) -> Expr:
        cursor = self.cursor
        cursor.skip_space()
        if cursor.peek() != "(":
            return self.restriction(after)
        opened = cursor.pos
        self.depth += 1
        if self.depth > MAX_DEPTH:
            cursor.fail(f"parentheses nest deeper than {MAX_DEPTH}")
        cursor.pos += 1
        expr = self.expression(after="after '('")
        cursor.skip_space()
        if cursor.peek() != ")":
            # The inner expression only stops early at a ')' or the end, so this is the end.
            cursor.fail("'(' is never closed", pos=opened)
        cursor.pos += 1
        self.depth -= 1
        return expr

    def restriction(self, after: str) -> Expr:
        cursor = self.cursor
        expected = f"expected a condition {after}" if after else "expected a condition"
        word = cursor.word_ahead()
        if word in KEYWORDS:
            cursor.fail(f"{expected}, found the keyword {word}")
        if cursor.at_end or cursor.peek() == ")":
            cursor.fail(expected)
        self.terms += 1
        if self.terms > MAX_TERMS:
            cursor.fail(f"too many conditions (at most {MAX_TERMS})")
        path, start = cursor.read_field_path(after or "")
        cursor.skip_space()
        op_pos = cursor.pos
        op = next((candidate for candidate in COMPARATORS if cursor.text.startswith(candidate, op_pos)), None)
        if op is None:
            hint = f"keywords are upper case: {path.upper()}" if path in ("and", "or", "not") else ""
            cursor.fail(f"expected an operator (=, !=, <, <=, >, >=, :) after '{_clip(path)}'", hint=hint)
        cursor.pos += len(op)
        cursor.skip_space()
        value_pos = cursor.pos
        value = self.value(op)
        if not (cursor.at_end or cursor.peek().isspace() or cursor.peek() == ")"):
            cursor.fail(f"unexpected {cursor.peek()!r} after the value", hint="separate conditions with spaces")
        if op == ":":
            return Has(path, value, column=start + 1, op_column=op_pos + 1, value_column=value_pos + 1)
        return Comparison(path, op, value, column=start + 1, op_column=op_pos + 1, value_column=value_pos + 1)

    def value(self, op: str) -> Value:
        cursor = self.cursor
        start = cursor.pos
        char = cursor.peek()
        if char in ("'", '"'):
            parts = cursor.read_string()
            return Text(parts[0]) if len(parts) == 1 else Pattern(tuple(parts))
        number = _NUMBER.match(cursor.text, start)
        if number is not None and self._ends_value(number.end()):
            cursor.pos = number.end()
            return _number(number.group(), cursor, start)
        word = _BARE_WORD.match(cursor.text, start)
        if word is not None and self._ends_value(word.end()) and word.group() not in KEYWORDS:
            cursor.pos = word.end()
            return _bare_value(word.group())
        if char == "" or char == ")" or (word is not None and word.group() in KEYWORDS):
            cursor.fail(f"expected a value after '{op}'")
        run = _UNTIL_BOUNDARY.match(cursor.text, start)
        shown = run.group() if run is not None and run.group() else char
        cursor.fail(f"unquoted value '{_clip(shown, 40)}'", hint="put text, timestamps and versions in quotes")

    def _ends_value(self, end: int) -> bool:
        text = self.cursor.text
        return end >= len(text) or text[end].isspace() or text[end] == ")"

    def keyword(self, word: str) -> bool:
        cursor = self.cursor
        cursor.skip_space()
        if cursor.word_ahead() != word:
            return False
        cursor.pos += len(word)
        if not (cursor.at_end or cursor.peek().isspace() or cursor.peek() in "(-"):
            cursor.fail(f"expected a space after {word}")
        return True


def _number(text: str, cursor: Cursor, start: int) -> Int | Float:
    if any(char in text for char in ".eE"):
        value = float(text)
        if not math.isfinite(value):
            cursor.fail(f"number {_clip(text, 40)} is out of range", pos=start)
        return Float(value)
    integer = int(text)
    if abs(integer) > INT64_MAX:
        cursor.fail(f"integer {_clip(text, 40)} is out of range", pos=start, hint="write a float such as 1e20")
    return Int(integer)


def _bare_value(word: str) -> Value:
    if word == "*":
        return Star()
    if word in ("true", "false"):
        return Bool(word == "true")
    if "*" in word:
        return Pattern(tuple(word.split("*")))
    return Text(word)


def parse_filter(text: str, fields: FieldSet | None = None) -> Expr | None:
    """Parse a List filter; None when it is empty.

    With `fields`, also check every field, operator and literal against them, so an
    unknown field or a bad timestamp fails here with its column. Every error is an
    InvalidArgument with reason INVALID_FILTER and the 1-based `column`.
    """
    if len(text) > MAX_FILTER_LENGTH:
        cursor = Cursor(text, label="filter", reason="INVALID_FILTER")
        cursor.fail(f"filter is too long: {len(text)} characters (at most {MAX_FILTER_LENGTH})", pos=MAX_FILTER_LENGTH)
    if "\x00" in text:
        Cursor(text, label="filter", reason="INVALID_FILTER").fail("NUL character", pos=text.index("\x00"))
    if not text.strip():
        return None
    expr = _FilterParser(text).parse()
    if fields is not None:
        # Imported here because the binder imports this module's syntax tree.
        from studbook.daemon.domain.predicates import bind_filter

        try:
            bind_filter(expr, fields)
        except InvalidArgument as error:
            error.metadata.setdefault("filter", _clip(text, 200))
            raise
    return expr


# --- Printing -------------------------------------------------------------------


def format_filter(expr: Expr) -> str:
    """The canonical text of a tree; parsing it gives the same tree back."""
    if isinstance(expr, Comparison):
        return f"{format_field(expr.field)} {expr.op} {format_value(expr.value)}"
    if isinstance(expr, Has):
        return f"{format_field(expr.field)}:{format_value(expr.value)}"
    if isinstance(expr, And):
        return " AND ".join(_grouped(item) for item in expr.items)
    if isinstance(expr, Or):
        return " OR ".join(_grouped(item) for item in expr.items)
    inner = format_filter(expr.item)
    return f"NOT {inner}" if isinstance(expr.item, (Comparison, Has)) else f"NOT ({inner})"


def _grouped(expr: Expr) -> str:
    text = format_filter(expr)
    return f"({text})" if isinstance(expr, (And, Or)) else text


def format_field(path: str) -> str:
    root, dot, key = path.partition(".")
    if not dot:
        return root
    if all(_KEY_SEGMENT.fullmatch(segment) for segment in key.split(".")):
        return f"{root}.{key}"
    return f"{root}.{quote(key)}"


def format_value(value: Value) -> str:
    if isinstance(value, Text):
        return quote(value.value)
    if isinstance(value, Pattern):
        return '"' + "*".join(_escape(part) for part in value.parts) + '"'
    if isinstance(value, Bool):
        return "true" if value.value else "false"
    if isinstance(value, Int):
        return str(value.value)
    if isinstance(value, Float):
        return repr(value.value)
    return "*"


def quote(text: str) -> str:
    return f'"{_escape(text)}"'


def _escape(text: str) -> str:
    return "".join(_QUOTE_ESCAPES.get(char, char) for char in text)


def _clip(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
