"""Values written into a DuckDB statement as SQL literals, for the small inserts a write makes.

DuckDB's Python binding converts each bound parameter on a slow generic path: a one-row
insert of an event (9 columns) costs about 1.2 ms bound, 0.95 ms as the one-parameter JSON
document the catalog unpacks for bigger groups, and 0.43 ms with its values in the statement
(measured here). Past about 16 rows the document is cheaper again: the parser's cost grows
with the statement's length, the document's hardly at all.

Only types whose literal is exact are written so: text (quotes doubled; DuckDB reads no
backslash escapes in a plain string), integers, booleans, floats through a cast of their
shortest repr (a bare decimal literal is read as DECIMAL and can land one unit off),
timestamps, and bytes as hex. Anything else, or text holding a NUL (which ends DuckDB's
statement text), answers None, and the caller binds the rows instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

# Rows up to this many go into the statement; more travel as one JSON document.
MOST_LITERAL_ROWS = 8


def literal(value: Any) -> str | None:
    """`value` as an SQL literal DuckDB reads back exactly, or None when it cannot be one."""
    if value is None:
        return "NULL"
    kind = type(value)
    if kind is str:
        return None if "\x00" in value else "'" + value.replace("'", "''") + "'"
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)
    if kind is float:
        return f"CAST('{value!r}' AS DOUBLE)"  # 'nan', 'inf' and '-inf' are read too
    if kind is datetime:
        naive = value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
        return f"TIMESTAMP '{naive.isoformat()}'"
    if kind is bytes:
        return f"from_hex('{value.hex()}')"
    return None


def values_list(rows: Sequence[tuple[Any, ...]], columns: Sequence[int]) -> str | None:
    """`(…), (…)`: the rows' `columns` as literals, or None when one of them cannot be written so."""
    written = []
    for row in rows:
        cells = [literal(row[index]) for index in columns]
        if None in cells:
            return None
        written.append("(" + ", ".join(cells) + ")")  # type: ignore[arg-type]
    return ", ".join(written)


def inlined(sql: str, params: Sequence[Any]) -> str | None:
    """`sql` with each `?` replaced by its parameter as a literal, or None when it cannot be:
    a statement holding a quote (where a `?` might be text, not a placeholder), a count of
    placeholders other than the parameters', or a value with no exact literal."""
    parts = sql.split("?")
    if "'" in sql or '"' in sql or len(parts) != len(params) + 1:
        return None
    cells = [literal(value) for value in params]
    if None in cells:
        return None
    return "".join(part + cell for part, cell in zip(parts, cells, strict=False)) + parts[-1]  # type: ignore[operator]
