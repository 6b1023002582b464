"""MLflow's search filter (`name LIKE 'fraud%' AND tags.team = 'risk'`), parsed and translated
into studbook's filter language, and MLflow's order_by into studbook's.

MLflow's grammar: comparisons joined by AND (no OR, no parentheses); an identifier is `name`,
`version_number`, `run_id`, `source_path` or `tags.KEY` (the key bare, or quoted with ", ` or ');
operators =, !=, LIKE, ILIKE and IN (a parenthesised list), and <, <=, >, >= on
version_number; values are quoted strings (' or ") or, for version_number, integers.

LIKE and ILIKE are SQL's: `%` matches any run of characters, `_` any one character, ILIKE in
any case. studbook's filter has `*` for any run but nothing for one character, and matches in
any case only as "contains" (`field:"text"`): a pattern beyond it is translated to the closest
studbook filter that selects every match (and perhaps more), and kept as a `Refinement` that the
endpoint applies to what that filter returns (`matches`), so the answer is exactly MLflow's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from studbook.daemon.domain.filter import And, Comparison, Expr, Has, Int, Or, Pattern, Text, format_filter
from studbook.daemon.mlflow.errors import MlflowError, invalid

Resource = Literal["registered_models", "model_versions"]
MAX_FILTER_LENGTH = 4096
MAX_IN_VALUES = 100

# What each search may name; `tags` stands for every `tags.KEY`.
ATTRIBUTES: dict[Resource, tuple[str, ...]] = {
    "registered_models": ("name", "tags"),
    "model_versions": ("name", "version_number", "run_id", "source_path", "tags"),
}
STRING_OPS = ("=", "!=", "LIKE", "ILIKE", "IN")
NUMBER_OPS = ("=", "!=", "<", "<=", ">", ">=", "IN")

_SPACE = re.compile(r"\s+")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_KEY = re.compile(r"[A-Za-z0-9_.\-/:@]+")
_NUMBER = re.compile(r"-?\d+")
_OPERATOR = re.compile(r"!=|<>|<=|>=|=|<|>")


@dataclass(frozen=True)
class Clause:
    """One comparison: `attribute op value`, `key` for tags. `value` is a tuple for IN."""

    attribute: str
    op: str
    value: str | int | tuple[str | int, ...]
    key: str = ""


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, message: str) -> MlflowError:
        return invalid(f"Invalid filter {self.text[:200]!r}: {message} at position {self.pos}", filter=self.text)

    def skip(self) -> None:
        found = _SPACE.match(self.text, self.pos)
        if found:
            self.pos = found.end()

    def at_end(self) -> bool:
        self.skip()
        return self.pos >= len(self.text)

    def take(self, pattern: re.Pattern[str]) -> str | None:
        self.skip()
        found = pattern.match(self.text, self.pos)
        if found is None or not found.group():
            return None
        self.pos = found.end()
        return found.group()

    def keyword(self, word: str) -> bool:
        self.skip()
        end = self.pos + len(word)
        if self.text[self.pos : end].upper() == word and not _continues_word(self.text, end):
            self.pos = end
            return True
        return False

    def char(self, char: str) -> bool:
        self.skip()
        if self.text.startswith(char, self.pos):
            self.pos += 1
            return True
        return False

    def quoted(self, quotes: str) -> str | None:
        """A string in one of `quotes`; a quote inside is written twice or escaped with \\."""
        self.skip()
        if self.pos >= len(self.text) or self.text[self.pos] not in quotes:
            return None
        quote, start = self.text[self.pos], self.pos
        self.pos += 1
        chars: list[str] = []
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == "\\" and self.pos + 1 < len(self.text):
                chars.append(self.text[self.pos + 1])
                self.pos += 2
                continue
            if char == quote:
                if self.text.startswith(quote * 2, self.pos):
                    chars.append(quote)
                    self.pos += 2
                    continue
                self.pos += 1
                return "".join(chars)
            chars.append(char)
            self.pos += 1
        self.pos = start
        raise self.fail("unterminated string")


def _continues_word(text: str, end: int) -> bool:
    return end < len(text) and (text[end].isalnum() or text[end] == "_")


def parse(text: str, resource: Resource) -> list[Clause]:
    """The clauses of an MLflow filter, all of which must hold; [] for an empty filter."""
    if len(text) > MAX_FILTER_LENGTH:
        raise invalid(f"the filter is {len(text)} characters long; at most {MAX_FILTER_LENGTH}")
    reader = _Reader(text)
    clauses: list[Clause] = []
    if reader.at_end():
        return clauses
    while True:
        clauses.append(_clause(reader, resource))
        if reader.at_end():
            return clauses
        if not reader.keyword("AND"):
            raise reader.fail("expected AND between comparisons (MLflow filters join comparisons with AND only)")


def _clause(reader: _Reader, resource: Resource) -> Clause:
    attribute, key = _identifier(reader, resource)
    op = _operator(reader)
    allowed = NUMBER_OPS if attribute == "version_number" else STRING_OPS
    if op not in allowed:
        raise reader.fail(f"{attribute} takes the operators {', '.join(allowed)}, not {op}")
    if op == "IN":
        return Clause(attribute, op, _value_list(reader, attribute), key)
    return Clause(attribute, op, _value(reader, attribute), key)


def _identifier(reader: _Reader, resource: Resource) -> tuple[str, str]:
    allowed = ATTRIBUTES[resource]
    word = reader.take(_WORD)
    if word is None:
        raise reader.fail(f"expected an attribute ({', '.join(_shown(allowed))})")
    # MLflow accepts its "attributes." and "tag."/"tags." prefixes.
    if word.lower() == "attributes" and reader.char("."):
        word = reader.take(_WORD) or ""
    lowered = word.lower()
    if lowered in ("tag", "tags") and reader.char("."):
        key = reader.quoted("\"'`")
        if key is None:
            key = reader.take(_KEY)
        if not key:
            raise reader.fail("expected a tag key after 'tags.'")
        return "tags", key
    if lowered not in allowed or lowered == "tags":
        raise reader.fail(f"unknown attribute {word[:60]!r}; this search takes {', '.join(_shown(allowed))}")
    return lowered, ""


def _shown(allowed: tuple[str, ...]) -> list[str]:
    return [("tags.KEY" if name == "tags" else name) for name in allowed]


def _operator(reader: _Reader) -> str:
    symbol = reader.take(_OPERATOR)
    if symbol is not None:
        return "!=" if symbol == "<>" else symbol
    for word in ("LIKE", "ILIKE", "IN"):
        if reader.keyword(word):
            return word
    raise reader.fail("expected an operator (=, !=, LIKE, ILIKE, IN)")


def _value(reader: _Reader, attribute: str) -> str | int:
    if attribute == "version_number":
        number = reader.take(_NUMBER)
        if number is None:
            quoted = reader.quoted("'\"")
            if quoted is None or not quoted.strip().lstrip("-").isdigit():
                raise reader.fail("version_number takes an integer")
            number = quoted.strip()
        return int(number)
    value = reader.quoted("'\"")
    if value is None:
        raise reader.fail(f"{attribute} takes a quoted string, e.g. '{attribute}_value'")
    return value


def _value_list(reader: _Reader, attribute: str) -> tuple[str | int, ...]:
    if not reader.char("("):
        raise reader.fail("IN takes a parenthesised list, e.g. ('a', 'b')")
    values = [_value(reader, attribute)]
    while reader.char(","):
        values.append(_value(reader, attribute))
    if not reader.char(")"):
        raise reader.fail("expected ',' or ')' in the IN list")
    if len(values) > MAX_IN_VALUES:
        raise reader.fail(f"an IN list holds at most {MAX_IN_VALUES} values")
    return tuple(values)


# --- translation ----------------------------------------------------------------------


@dataclass(frozen=True)
class Refinement:
    """A LIKE or ILIKE that studbook's filter only approximates: the filter selects a superset of
    its matches, and `matches` keeps exactly them. `key` names the tag for `tags`."""

    attribute: str
    key: str
    pattern: str
    case_blind: bool

    def matches(self, value: str | None) -> bool:
        """Whether `value` (None: the version or model has no such tag) matches, as in SQL."""
        if value is None:
            return False
        if self.case_blind:
            return like(self.pattern.lower(), value.lower())
        return like(self.pattern, value)


@dataclass(frozen=True)
class Translation:
    """studbook's filter text for an MLflow filter ("" for none), and what it cannot say."""

    filter: str
    refinements: tuple[Refinement, ...] = ()


def like(pattern: str, value: str) -> bool:
    """SQL's LIKE without an escape character: `%` any run, `_` any one character. Greedy with
    one step back to the last `%`, so time grows with len(pattern) * len(value) at worst, never
    exponentially, whatever the pattern."""
    p = v = 0
    star, resume = -1, 0
    while v < len(value):
        if p < len(pattern) and pattern[p] == "%":
            star, resume = p, v
            p += 1
        elif p < len(pattern) and (pattern[p] == "_" or pattern[p] == value[v]):
            p += 1
            v += 1
        elif star >= 0:
            # The last % takes one more character; the rest of the pattern is tried again after it.
            resume += 1
            p, v = star + 1, resume
        else:
            return False
    while p < len(pattern) and pattern[p] == "%":
        p += 1
    return p == len(pattern)


# MLflow's attribute -> studbook's field, per search.
_FIELDS: dict[Resource, dict[str, str]] = {
    "registered_models": {"name": "name"},
    "model_versions": {
        "name": "model",
        "version_number": "number",
        "run_id": "run_id",
        "source_path": "created_from",
    },  # fmt: skip
}
# Fields whose values studbook keeps in lower case (model names), so ILIKE is LIKE on the lowered pattern.
_LOWER_CASE = frozenset({"name", "model"})


def translate(text: str, resource: Resource) -> Translation:
    """studbook's filter for an MLflow filter, and the LIKE and ILIKE it can only approximate."""
    clauses = parse(text, resource)
    terms: list[Expr] = []
    refinements: list[Refinement] = []
    for clause in clauses:
        term, exact = _translate(clause, resource)
        terms.append(term)
        if not exact:
            assert isinstance(clause.value, str)
            refinements.append(Refinement(clause.attribute, clause.key, clause.value, clause.op == "ILIKE"))
    if not terms:
        return Translation("")
    return Translation(format_filter(terms[0] if len(terms) == 1 else And(tuple(terms))), tuple(refinements))


def _translate(clause: Clause, resource: Resource) -> tuple[Expr, bool]:
    """studbook's term for one clause, and whether it says exactly what the clause says."""
    field = f"tags.{clause.key}" if clause.attribute == "tags" else _FIELDS[resource][clause.attribute]
    if clause.op == "IN":
        assert isinstance(clause.value, tuple)
        items = tuple(Comparison(field, "=", _literal(v)) for v in clause.value)
        return (items[0] if len(items) == 1 else Or(items)), True
    assert not isinstance(clause.value, tuple)
    if clause.op in ("LIKE", "ILIKE"):
        return _like(field, str(clause.value), case_blind=clause.op == "ILIKE")
    return Comparison(field, clause.op, _literal(clause.value)), True


def _literal(value: str | int) -> Int | Text:
    return Int(value) if isinstance(value, int) else Text(value)


def _like(field: str, pattern: str, *, case_blind: bool) -> tuple[Expr, bool]:
    """A LIKE pattern as studbook's wildcard match (`%` -> `*`), and whether that is exact.

    `_` (any one character) becomes `*` (any run): a superset, so not exact. ILIKE is LIKE on
    lower-case fields (model names); elsewhere studbook matches in any case only as "contains",
    so ILIKE is exact only as '%text%' and otherwise becomes "contains each literal piece".
    """
    exact = "_" not in pattern
    parts = tuple(pattern.replace("_", "%").split("%"))
    if case_blind and field in _LOWER_CASE:
        parts, case_blind = tuple(p.lower() for p in parts), False
    if not case_blind:
        return Comparison(field, "=", Text(parts[0]) if len(parts) == 1 else Pattern(parts)), exact
    exact = exact and len(parts) >= 3 and not parts[0] and not parts[-1]
    pieces = tuple(p for p in parts if p) or ("",)
    return Has(field, Text(pieces[0]) if len(pieces) == 1 else Pattern(pieces)), exact


# --- order_by -------------------------------------------------------------------------

_ORDER_FIELDS: dict[Resource, dict[str, str]] = {
    "registered_models": {
        "name": "name",
        "timestamp": "update_time",
        "last_updated_timestamp": "update_time",
        "creation_timestamp": "create_time",
    },  # fmt: skip
    "model_versions": {
        "name": "model",
        "version_number": "number",
        "timestamp": "create_time",
        "creation_timestamp": "create_time",
        "last_updated_timestamp": "update_time",
    },  # fmt: skip
}
DEFAULT_ORDER: dict[Resource, str] = {"registered_models": "name", "model_versions": "model, number desc"}
_ORDER_TERM = re.compile(r"\s*(?:attributes\.)?([A-Za-z_]+)\s*(?:\s(ASC|DESC))?\s*", re.IGNORECASE)


def to_order_by(terms: list[str], resource: Resource) -> str:
    """studbook's order_by for MLflow's list of `field [ASC|DESC]`."""
    fields = _ORDER_FIELDS[resource]
    out: list[str] = []
    for term in terms:
        found = _ORDER_TERM.fullmatch(term)
        field = fields.get(found.group(1).lower()) if found else None
        if found is None or field is None:
            raise invalid(f"Invalid order_by clause {term[:100]!r}; order by {', '.join(sorted(fields))}, "
                          "each optionally followed by ASC or DESC", order_by=term)  # fmt: skip
        out.append(f"{field} desc" if (found.group(2) or "").upper() == "DESC" else field)
    return ", ".join(out) or DEFAULT_ORDER[resource]
