"""The List order_by language: `metrics.auc desc, number`, checked against a field set."""

from __future__ import annotations

import re
from dataclasses import dataclass

from studbook.daemon.domain.fields import FieldPathError, FieldSet
from studbook.daemon.domain.filter import Cursor, format_field

MAX_ORDER_BY_LENGTH = 1024
MAX_ORDER_TERMS = 8
_DIRECTION = re.compile(r"[A-Za-z]+")


@dataclass(frozen=True)
class OrderTerm:
    """One sort key: a field path (`metrics.auc`, `tags.team`, `create_time`) and its direction."""

    field: str
    descending: bool = False


# ListModelVersions sorts newest first; ListModels by name (the contract's defaults).
DEFAULT_VERSION_ORDER = (OrderTerm("number", descending=True),)
DEFAULT_MODEL_ORDER = (OrderTerm("name"),)


def parse_order_by(text: str, allowed: FieldSet) -> list[OrderTerm]:
    """`"metrics.auc desc, number"` -> [OrderTerm("metrics.auc", True), OrderTerm("number")].

    Empty text gives []. Directions are `asc` (the default) or `desc`, in any case.
    Errors are InvalidArgument with reason INVALID_ORDER_BY and the 1-based column.
    """
    cursor = Cursor(text, label="order_by", reason="INVALID_ORDER_BY")
    if len(text) > MAX_ORDER_BY_LENGTH:
        too_long = f"order_by is too long: {len(text)} characters (at most {MAX_ORDER_BY_LENGTH})"
        cursor.fail(too_long, pos=MAX_ORDER_BY_LENGTH)
    if "\x00" in text:
        cursor.fail("NUL character", pos=text.index("\x00"))
    terms: list[OrderTerm] = []
    if not text.strip():
        return terms
    seen: set[str] = set()
    while True:
        cursor.skip_space()
        path, start = cursor.read_field_path("after ','" if terms else "")
        _check_field(cursor, allowed, path, start)
        if path in seen:
            cursor.fail(f"'{format_field(path)}' appears twice", pos=start)
        seen.add(path)
        terms.append(OrderTerm(path, _direction(cursor, path)))
        if len(terms) > MAX_ORDER_TERMS:
            cursor.fail(f"too many sort fields (at most {MAX_ORDER_TERMS})", pos=start)
        cursor.skip_space()
        if cursor.at_end:
            return terms
        if cursor.peek() != ",":
            cursor.fail(f"expected ',' or the end after '{format_field(path)}', found {cursor.peek()!r}")
        cursor.pos += 1


def format_order_by(terms: list[OrderTerm]) -> str:
    """The canonical text of `terms`; parsing it gives the same terms."""
    return ", ".join(format_field(term.field) + (" desc" if term.descending else "") for term in terms)


def _direction(cursor: Cursor, path: str) -> bool:
    cursor.skip_space()
    start = cursor.pos
    word = cursor.match(_DIRECTION)
    if word is None:
        return False
    if word.lower() not in ("asc", "desc"):
        cursor.fail(f"expected asc or desc after '{format_field(path)}', found '{word[:40]}'", pos=start)
    return word.lower() == "desc"


def _check_field(cursor: Cursor, allowed: FieldSet, path: str, start: int) -> None:
    sortable = ", ".join(allowed.names(sortable=True))
    try:
        ref = allowed.resolve(path, sortable=True)
    except FieldPathError as error:
        cursor.fail(error.message, pos=start, hint=error.hint, field=path[:100], valid=sortable)
    if not ref.spec.sortable:
        hint = f"sortable fields: {sortable}"
        cursor.fail(f"cannot sort by {ref.spec.name}", pos=start, hint=hint, field=path[:100], valid=sortable)
    if ref.spec.keyed and ref.key is None:
        hint = f"e.g. {ref.spec.name}.KEY"
        cursor.fail(f"{ref.spec.name} needs a key to sort by", pos=start, hint=hint, field=path[:100])
