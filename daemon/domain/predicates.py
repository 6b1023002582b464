"""What a parsed filter means over a field set: typed predicates the store turns into SQL.

The rules, per field kind (`!=` is always the complement of `=`, so a version without the
tag matches `tags.team != "risk"`; NOT is likewise the exact complement):

- text (`description`, `tags.KEY`, ...): `=` exact, `"*"` wildcards on `=`, `<`/`>` in
  byte order, `:` case-insensitive substring; `tags.KEY` and `params.KEY` compare as
  numbers when the literal is a number.
- `name`: the resource name; `models/` may be left out of the literal.
- numbers, timestamps (RFC 3339 in quotes; no offset means UTC): every comparison.
- enums (`status`, ...): `=`/`:` only, case-insensitive, checked against the allowed values.
- `semver`: `X`, `X.Y` or `X.Y.Z` (an optional leading `v`) compare as versions;
  other text only with `=`/`:`, as text.
- `metrics.KEY`: numeric, true when the latest value in ANY split matches.
- `stage`, `alias`, `dataset`: `=`/`:` "holds / points at / trained on"; a dataset
  literal `name@version` also pins the version.
- `format.parameters`, `format.architecture`, `format.framework`, `format.format`: the
  version's format record, as numbers and text; `format.dtype` like `dataset`, true when any
  of its element types matches (case-insensitive).
- `field:*` (or `= *`) tests presence: a non-empty value, a present key or metric,
  any stage. `tags:team` and `metrics:auc` test a key by name.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import NoReturn

from studbook.daemon.domain.errors import InvalidArgument
from studbook.daemon.domain.fields import FieldKind, FieldPathError, FieldRef, FieldSet, FieldSpec
from studbook.daemon.domain.filter import (
    INT64_MAX,
    And,
    Bool,
    Comparison,
    Expr,
    Float,
    Has,
    Int,
    Not,
    Or,
    Pattern,
    Star,
    Text,
    Value,
    format_value,
)

NAME_PREFIX = "models/"
SEMVER_PART_LIMIT = 1_000_000
_SEMVER = re.compile(r"v?(\d{1,7})(?:\.(\d{1,7}))?(?:\.(\d{1,7}))?")
_NUMERIC_TEXT = re.compile(r"\s*-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*")
_ORDERING = frozenset({"<", "<=", ">", ">="})


class Check(str, Enum):
    COMPARE = "compare"
    # Wildcard match anchored at both ends; the value is the parts between the stars.
    MATCH = "match"
    # Case-insensitive substring; the value is the parts between the stars.
    CONTAINS = "contains"
    # The field is set, the key or metric exists, the version holds any stage.
    PRESENT = "present"


PredicateValue = str | int | float | datetime | tuple[str, ...] | None


@dataclass(frozen=True)
class Predicate:
    field: FieldSpec
    check: Check
    op: str = "="
    value: PredicateValue = None
    # The map key (`tags.team` -> "team"), or the key tested by `metrics:auc`.
    key: str | None = None
    # Map text compared as a number because the literal was one.
    numeric: bool = False
    # `dataset = "iris@v2"` pins the dataset version too.
    version: str | None = None


@dataclass(frozen=True)
class AllOf:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class AnyOf:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Negated:
    item: Condition


Condition = Predicate | AllOf | AnyOf | Negated


def bind_filter(expr: Expr, fields: FieldSet) -> Condition:
    """Check a filter against `fields` and give each condition its typed meaning.

    Raises InvalidArgument (INVALID_FILTER) with the column of the offending part.
    """
    if isinstance(expr, And):
        return AllOf(tuple(bind_filter(item, fields) for item in expr.items))
    if isinstance(expr, Or):
        return AnyOf(tuple(bind_filter(item, fields) for item in expr.items))
    if isinstance(expr, Not):
        return Negated(bind_filter(expr.item, fields))
    return _Leaf(expr, fields).bind()


def semver_key(text: str) -> int | None:
    """`"2.1.0"` -> 2*10^12 + 1*10^6 + 0, the store's `semver_key`; None if not X[.Y[.Z]]."""
    found = _SEMVER.fullmatch(text.strip())
    if found is None:
        return None
    parts = [int(part) if part else 0 for part in found.groups()]
    if any(part >= SEMVER_PART_LIMIT for part in parts):
        return None
    major, minor, patch = parts
    return major * 10**12 + minor * 10**6 + patch


def parse_timestamp(text: str) -> datetime | None:
    """An RFC 3339 timestamp (or a date) as UTC; no offset means UTC. None if unreadable."""
    candidate = text.strip()
    if candidate[-1:] in ("z", "Z"):
        candidate = candidate[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(candidate)
        if moment.tzinfo is None:
            return moment.replace(tzinfo=UTC)
        # Normalised so the store sees one plain offset (an offset with seconds would not parse there).
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


class _Leaf:
    """Binds one comparison; methods per field kind keep each rule in one place."""

    def __init__(self, node: Comparison | Has, fields: FieldSet) -> None:
        self.node = node
        self.fields = fields
        self.op = ":" if isinstance(node, Has) else node.op
        self.value = node.value

    def fail(self, message: str, column: int, *, hint: str = "", **metadata: object) -> NoReturn:
        raise InvalidArgument(
            f"filter: {message} at column {column}" + (f"; {hint}" if hint else ""),
            reason="INVALID_FILTER",
            column=column,
            field=self.node.field[:100],
            **metadata,
        )

    def bind(self) -> Condition:
        try:
            ref = self.fields.resolve(self.node.field)
        except FieldPathError as error:
            self.fail(error.message, self.node.column, hint=error.hint, valid=", ".join(self.fields.names()))
        if self.op == "!=":
            # != is the complement of =, so versions without the field match it.
            return Negated(self.positive(ref, "="))
        return self.positive(ref, self.op)

    def positive(self, ref: FieldRef, op: str) -> Predicate:
        spec, value = ref.spec, self.value
        if spec.keyed and ref.key is None:
            return self.key_presence(spec, op)
        if isinstance(value, Star):
            if op not in ("=", ":"):
                self.fail("'*' (any value) works only with =, != and :", self.node.op_column)
            return Predicate(spec, Check.PRESENT, key=ref.key)
        binders = {
            FieldKind.STRING: self.text,
            FieldKind.NAME: self.text,
            FieldKind.STRING_MAP: self.text,
            FieldKind.INT: self.number,
            FieldKind.METRICS: self.number,
            FieldKind.TIMESTAMP: self.timestamp,
            FieldKind.ENUM: self.enum,
            FieldKind.SEMVER: self.semver,
            FieldKind.MEMBERSHIP: self.membership,
        }
        return binders[spec.kind](spec, ref.key, op)

    def key_presence(self, spec: FieldSpec, op: str) -> Predicate:
        example = "metrics.auc > 0.9" if spec.kind is FieldKind.METRICS else f'{spec.name}.team = "risk"'
        if op != ":":
            self.fail(
                f"{spec.name} needs a key",
                self.node.column,
                hint=f"write {spec.name}.KEY (e.g. {example}), or {spec.name}:KEY to test that the key is present",
            )
        if not isinstance(self.value, Text) or not self.value.value:
            self.fail(f"expected a key name after '{spec.name}:'", self.node.value_column)
        return Predicate(spec, Check.PRESENT, key=self.value.value)

    def text(self, spec: FieldSpec, key: str | None, op: str) -> Predicate:
        value = self.value
        if op == ":":
            parts = value.parts if isinstance(value, Pattern) else (self.as_text(value),)
            return Predicate(spec, Check.CONTAINS, value=parts, key=key)
        if isinstance(value, Pattern):
            if op != "=":
                self.fail("wildcards ('*') work only with =, != and :", self.node.op_column)
            return Predicate(spec, Check.MATCH, value=self.named(spec, value.parts, pattern=True), key=key)
        if spec.kind is FieldKind.STRING_MAP and isinstance(value, (Int, Float)):
            # params.lr < 0.01 means the number, not the text "0.01".
            return Predicate(spec, Check.COMPARE, op, value.value, key=key, numeric=True)
        text = self.named(spec, (self.as_text(value),), pattern=False)[0]
        return Predicate(spec, Check.COMPARE, op, text, key=key)

    def named(self, spec: FieldSpec, parts: tuple[str, ...], *, pattern: bool) -> tuple[str, ...]:
        """Resource names may be written without `models/`; add it back for the comparison."""
        first = parts[0]
        if spec.kind is not FieldKind.NAME or first.startswith(NAME_PREFIX):
            return parts
        if pattern and NAME_PREFIX.startswith(first):
            return parts
        return (NAME_PREFIX + first, *parts[1:])

    def number(self, spec: FieldSpec, key: str | None, op: str) -> Predicate:
        value = self.value
        label = f"{spec.name}.{key}" if key is not None else spec.name
        number: int | float
        if isinstance(value, (Int, Float)):
            number = value.value
        elif isinstance(value, Text) and _NUMERIC_TEXT.fullmatch(value.value):
            number = _to_number(value.value)
        else:
            self.fail(f"{label} takes a number, not {format_value(value)}", self.node.value_column)
        if isinstance(number, int) and abs(number) > INT64_MAX:
            number = float(number)
        if not math.isfinite(number):
            self.fail(f"{label}: the number {format_value(value)} is out of range", self.node.value_column)
        return Predicate(spec, Check.COMPARE, "=" if op == ":" else op, number, key=key)

    def timestamp(self, spec: FieldSpec, key: str | None, op: str) -> Predicate:
        value = self.value
        moment = parse_timestamp(value.value) if isinstance(value, Text) else None
        if moment is None:
            self.fail(
                f"{spec.name}: {format_value(value)} is not an RFC 3339 timestamp",
                self.node.value_column,
                hint='write one in quotes, such as "2026-01-01T00:00:00Z"',
            )
        return Predicate(spec, Check.COMPARE, "=" if op == ":" else op, moment)

    def enum(self, spec: FieldSpec, key: str | None, op: str) -> Predicate:
        self.equality_only(spec, op)
        value = self.value
        if isinstance(value, Pattern):
            return Predicate(spec, Check.MATCH, value=tuple(part.lower() for part in value.parts))
        text = value.value.lower() if isinstance(value, Text) else None
        if text not in spec.values:
            self.fail(
                f"{spec.name} has no value {format_value(value)}",
                self.node.value_column,
                hint=f"use one of {', '.join(spec.values)} (any case)",
                valid=", ".join(spec.values),
            )
        return Predicate(spec, Check.COMPARE, "=", text)

    def semver(self, spec: FieldSpec, key: str | None, op: str) -> Predicate:
        value = self.value
        if isinstance(value, Pattern):
            if op in _ORDERING:
                self.fail("wildcards ('*') work only with =, != and :", self.node.op_column)
            return Predicate(spec, Check.MATCH, value=value.parts)
        op = "=" if op == ":" else op
        if isinstance(value, Int) and 0 <= value.value < SEMVER_PART_LIMIT:
            return Predicate(spec, Check.COMPARE, op, value.value * 10**12)
        ordered = semver_key(value.value) if isinstance(value, Text) else None
        if ordered is not None:
            return Predicate(spec, Check.COMPARE, op, ordered)
        if isinstance(value, Text) and op == "=":
            # Not X.Y.Z (say "1.0.0-rc1"): only exact text equality makes sense.
            return Predicate(spec, Check.COMPARE, op, value.value)
        self.fail(
            f"semver: {format_value(value)} is not a version to compare with {op}",
            self.node.value_column,
            hint=f'write MAJOR.MINOR.PATCH in quotes, such as "2.1.0" (each part below {SEMVER_PART_LIMIT})',
        )

    def membership(self, spec: FieldSpec, key: str | None, op: str) -> Predicate:
        self.equality_only(spec, op)
        value = self.value
        if isinstance(value, Bool):
            self.fail(f"{spec.name} takes a name, got {format_value(value)}", self.node.value_column)
        fold = str.lower if spec.fold_case else str
        if isinstance(value, Pattern):
            return Predicate(spec, Check.MATCH, value=tuple(fold(part) for part in value.parts))
        text = fold(self.as_text(value))
        version = None
        if spec.name == "dataset" and "@" in text:
            text, version = text.rsplit("@", 1)
        return Predicate(spec, Check.COMPARE, "=", text, version=version)

    def equality_only(self, spec: FieldSpec, op: str) -> None:
        if op in _ORDERING:
            self.fail(f"{spec.name} supports only =, != and :, not {op}", self.node.op_column)

    @staticmethod
    def as_text(value: Value) -> str:
        if isinstance(value, Text):
            return value.value
        if isinstance(value, Bool):
            return "true" if value.value else "false"
        # Numbers compare with text fields through the digits as written canonically.
        return format_value(value)


def _to_number(text: str) -> int | float:
    text = text.strip()
    if any(char in text for char in ".eE"):
        return float(text)
    return int(text)
