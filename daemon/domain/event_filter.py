"""Which events a Watch stream delivers: `model = "fraud" AND type = "version.*"`."""

from __future__ import annotations

from studbook.daemon.domain.errors import InvalidArgument
from studbook.daemon.domain.fields import FieldKind, FieldSet, FieldSpec
from studbook.daemon.domain.filter import And, Comparison, Expr, Has, Not, Or, Pattern, Star, Value, parse_filter
from studbook.daemon.domain.model import Event

EVENT_FIELDS = FieldSet(
    "event",
    (
        FieldSpec("type", FieldKind.STRING),
        FieldSpec("model", FieldKind.STRING),
        FieldSpec("subject", FieldKind.STRING),
        FieldSpec("actor", FieldKind.STRING),
    ),
)


def parse_event_filter(text: str) -> Expr | None:
    expr = parse_filter(text, EVENT_FIELDS)
    if expr is not None:
        _check(expr)
    return expr


def _check(expr: Expr) -> None:
    if isinstance(expr, (And, Or)):
        for item in expr.items:
            _check(item)
    elif isinstance(expr, Not):
        _check(expr.item)
    elif isinstance(expr, Comparison) and expr.op not in ("=", "!="):
        raise InvalidArgument(
            f"filter: events compare with = or != only, not {expr.op!r} (column {expr.op_column})",
            reason="INVALID_FILTER",
            column=expr.op_column,
        )


def matches(expr: Expr | None, event: Event) -> bool:
    if expr is None:
        return True
    if isinstance(expr, And):
        return all(matches(item, event) for item in expr.items)
    if isinstance(expr, Or):
        return any(matches(item, event) for item in expr.items)
    if isinstance(expr, Not):
        return not matches(expr.item, event)
    values = [str(getattr(event, expr.field))]
    if expr.field == "model" and event.type == "model.renamed":
        # A rename belongs to the story of both names: a stream of the old one learns the new.
        values.append(event.subject.removeprefix("models/"))
    if isinstance(expr, Has):
        # `type:promotion` - the field contains the text.
        return isinstance(expr.value, Star) or any(_text(expr.value) in actual for actual in values)
    equal = any(_equal(actual, expr.value) for actual in values)
    return equal if expr.op == "=" else not equal


def _equal(actual: str, value: Value) -> bool:
    if isinstance(value, Pattern):
        return _glob(actual, value.parts)
    return actual == _text(value)


def _text(value: Value) -> str:
    return (
        "" if isinstance(value, Star) else str(value.value) if not isinstance(value, Pattern) else "*".join(value.parts)
    )


def _glob(text: str, parts: tuple[str, ...]) -> bool:
    """`parts` are the literal pieces between `*` wildcards."""
    first, *middle, last = parts if len(parts) > 1 else (parts[0], parts[0])
    if len(parts) == 1:
        return text == first
    if not text.startswith(first) or not text.endswith(last) or len(text) < len(first) + len(last):
        return False
    position = len(first)
    end = len(text) - len(last)
    for piece in middle:
        found = text.find(piece, position, end)
        if found < 0:
            return False
        position = found + len(piece)
    return True
