"""How the writer's buffered rows reach PostgreSQL: each table's rows as one jsonb document that
an INSERT unpacks on the server, so that every table a group writes goes in the round trip that
commits it.

A COPY per table cost a round trip (two, with its data) per table under the write lock that
every daemon's writes wait for. Measured with two daemons registering side by side, groups of 8:
a group took 8.5 ms from begin to commit against 9.8 by COPY, and its rows cost the writer 0.3 ms
of CPU against 1.0 (psycopg formats a COPY's rows in Python; json formats a document in C). The
document is `jsonb`: as `json`, the server parses a row again for every column taken from it
(an insert of 8 versions ran 1.8 ms on the server so, 0.36 ms as jsonb).

Each value travels as the text its column's input function reads back exactly, as COPY's text
does: times in ISO form with their offset, bytes in bytea's hex form, floats by their shortest
repr. What a JSON document cannot carry exactly (a NaN or an infinity, a negative zero, a value
of another type) goes by COPY instead, as before. (Text with a NUL is refused either way: PostgreSQL's text holds
none.)
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.sql import Literal


@dataclass(frozen=True)
class TableShape:
    """One table's columns as inserts fill them (those a sequence fills are left to it)."""

    # `INSERT INTO t (a, b) SELECT (e->>0)::type_a, (e->>1)::type_b FROM jsonb_array_elements(`
    document_insert: str
    copy_sql: str

    def insert(self, document: str, conn: psycopg.Connection[Any]) -> str:
        """The statement that inserts the rows of `document` (see `document`), quoted for `conn`."""
        return f"{self.document_insert}{Literal(document).as_string(conn)}::jsonb) e; "

    def copy(self, conn: psycopg.Connection[Any], rows: Sequence[tuple[Any, ...]]) -> None:
        """Writes `rows` by COPY, now: for rows no document carries exactly."""
        with conn.cursor() as cursor, cursor.copy(self.copy_sql) as copy:
            for row in rows:
                copy.write_row(row)


class TableShapes:
    """Each table's shape, read once from the catalog itself (the migrations stay the one truth)."""

    def __init__(self) -> None:
        self._shapes: dict[str, TableShape] = {}

    def of(self, conn: psycopg.Connection[Any], table: str) -> TableShape:
        shape = self._shapes.get(table)
        if shape is None:
            columns = conn.execute(
                "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
                "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
                "WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped "
                "AND coalesce(pg_get_expr(d.adbin, d.adrelid), '') NOT LIKE 'nextval(%%' ORDER BY a.attnum",
                [table],
            ).fetchall()
            names = ", ".join(name for name, _ in columns)
            values = ", ".join(f"(e->>{index})::{kind}" for index, (_, kind) in enumerate(columns))
            shape = TableShape(
                document_insert=f"INSERT INTO {table} ({names}) SELECT {values} FROM jsonb_array_elements(",
                copy_sql=f"COPY {table} ({names}) FROM STDIN",
            )
            self._shapes[table] = shape
        return shape


def _value_text(value: Any) -> str:
    """The values JSON has no form of, as their columns' input functions read them."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return "\\x" + value.hex()
    raise TypeError(f"no document form for {type(value).__name__}")


_ENCODER = json.JSONEncoder(default=_value_text, allow_nan=False, ensure_ascii=False, separators=(",", ":"))


# A float -0.0 as the encoder writes it. jsonb holds numbers as `numeric`, which has no
# negative zero: read back, it would be 0.0. (Within a string it only sends its rows by COPY.)
_NEGATIVE_ZERO = re.compile(r"(?<![\w.])-0\.0(?![\w.])")


def document(rows: Sequence[tuple[Any, ...]]) -> str | None:
    """The rows as one JSON array of arrays, or None when one of their values cannot travel so."""
    try:
        text = _ENCODER.encode(rows)
    except (TypeError, ValueError):
        return None  # a NaN or an infinity (which JSON lacks), or a value of another type
    return None if _NEGATIVE_ZERO.search(text) else text
