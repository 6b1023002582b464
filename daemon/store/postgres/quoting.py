"""Values written into a PostgreSQL statement as literals, quoted by psycopg."""

from __future__ import annotations

from psycopg.sql import Literal


def literal(value: object) -> str:
    """`value` as an SQL literal: a number as a double precision, anything else as text."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"CAST({Literal(float(value)).as_string(None)} AS double precision)"
    return Literal(str(value)).as_string(None).strip()
