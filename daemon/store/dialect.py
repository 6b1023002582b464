"""Where DuckDB's SQL and PostgreSQL's differ, one small object per backend.

The store writes each query once, with `?` placeholders, in the SQL both engines read; only
the pieces below differ between them (JSON functions, a cast that may fail, an aggregate,
a join DuckDB has and PostgreSQL lacks), and each query asks its backend's dialect for those.
User values never enter the SQL these return: keys and literals stay parameters.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

# The types `rows_of` takes, by their DuckDB names, and what PostgreSQL calls them.
_PG_TYPES = {"VARCHAR": "text", "BIGINT": "bigint", "DOUBLE": "double precision", "BOOLEAN": "boolean"}

# Text PostgreSQL reads as a double where DuckDB's TRY_CAST does; other text is NULL, as it is
# there. The exponent is kept to three digits so that no value overflows the cast.
_NUMBER = (
    r"^\s*[+-]?(([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]{1,3})?|[iI][nN][fF]([iI][nN][iI][tT][yY])?|[nN][aA][nN])\s*$"
)


@dataclass(frozen=True)
class Dialect:
    name: str

    @property
    def is_postgres(self) -> bool:
        return self.name == "postgres"

    def placeholders(self, sql: str) -> str:
        """The statement in the driver's placeholder style: `?` for DuckDB; `%s` for psycopg,
        which then also needs every literal `%` doubled. A `?` inside a string literal stays."""
        if not self.is_postgres:
            return sql
        out: list[str] = []
        quoted = False
        for char in sql:
            if char == "'":
                quoted = not quoted
                out.append(char)
            elif char == "%":
                out.append("%%")
            elif char == "?" and not quoted:
                out.append("%s")
            else:
                out.append(char)
        return "".join(out)

    # -- JSON ------------------------------------------------------------------------------

    def json_key(self, key: str) -> str:
        """The parameter that names a top-level key: an RFC 6901 pointer for DuckDB (any key is
        safe: `~` -> `~0`, `/` -> `~1`), the key itself for PostgreSQL."""
        if self.is_postgres:
            return key
        return "/" + key.replace("~", "~0").replace("/", "~1")

    def json_text(self, column: str) -> str:
        """The text of the top-level key named by one parameter (`json_key`); NULL when absent."""
        if self.is_postgres:
            return f"jsonb_extract_path_text({column}, ?)"
        return f"json_extract_string({column}, ?)"

    def json_has(self, column: str) -> str:
        """Whether the object holds the key named by one parameter (`json_key`)."""
        if self.is_postgres:
            return f"jsonb_exists({column}, ?)"
        return f"json_exists({column}, ?)"

    def text_contains(self, column: str) -> str | None:
        """Whether the JSON column's stored text contains one parameter, as a cheap test before
        parsing it; None on PostgreSQL, whose jsonb keeps no text: making it per row would cost
        what the test saves."""
        return None if self.is_postgres else f"contains({column}, ?)"

    def json_field(self, column: str, name: str) -> str:
        """The text of a fixed top-level field (a name the store writes, never a user's)."""
        if self.is_postgres:
            return f"({column} ->> '{name}')"
        return f"json_extract_string({column}, '$.{name}')"

    def json_array_length(self, column: str) -> str:
        return f"jsonb_array_length({column})" if self.is_postgres else f"json_array_length({column})"

    def json_text_items(self, column: str) -> str:
        """A table function over the items of a JSON array of strings, as text."""
        if self.is_postgres:
            return f"jsonb_array_elements_text({column})"
        return f"unnest(json_extract_string({column}, '$[*]'))"

    def json_items(self, column: str) -> str:
        """A table function over the items of a JSON array, as JSON (read with `json_field`)."""
        if self.is_postgres:
            return f"jsonb_array_elements({column})"
        return f"unnest(json_extract({column}, '$[*]'))"

    def text_order(self, sql: str) -> str:
        """Text as it sorts and compares for ordering and paging: by its bytes, as DuckDB does,
        whatever collation the PostgreSQL database was created with, so both backends list in
        one order (and a page token's seek compares as ORDER BY sorts)."""
        return f'({sql} COLLATE "C")' if self.is_postgres else sql

    # -- casts and aggregates --------------------------------------------------------------

    def to_double(self, sql: str, params: Sequence[object]) -> tuple[str, list[object]]:
        """`sql` as a double, or NULL where its text is no number (DuckDB's TRY_CAST). PostgreSQL
        has no TRY_CAST, so it tests the text first; the expression, and its parameters, twice."""
        if self.is_postgres:
            return (f"(CASE WHEN {sql} ~ '{_NUMBER}' THEN CAST({sql} AS double precision) END)",
                    [*params, *params])  # fmt: skip
        return f"TRY_CAST({sql} AS DOUBLE)", list(params)

    def epoch_micros(self, column: str) -> str:
        """A time column as whole microseconds since 1970 (UTC): read as an integer, no datetime is
        built for each row, and none is made aware of its zone after."""
        if self.is_postgres:
            return f"CAST(extract(epoch FROM {column}) * 1000000 AS bigint)"
        return f"epoch_us({column})"

    def arg_max_null(self, value: str, by: str) -> str:
        """`value` of the row with the largest `by`, NULL included (an alias removed)."""
        if self.is_postgres:
            return f"(array_agg({value} ORDER BY {by} DESC))[1]"
        return f"arg_max_null({value}, {by})"

    def previous_on_subject(self, window: str) -> str:
        """FROM `window` e joined to the event p before each one on the same subject (or none)."""
        if self.is_postgres:
            return (f"{window} e LEFT JOIN LATERAL (SELECT * FROM events q WHERE q.subject = e.subject "
                    "AND q.revision < e.revision ORDER BY q.revision DESC LIMIT 1) p ON true")  # fmt: skip
        return f"{window} e ASOF LEFT JOIN events p ON e.subject = p.subject AND e.revision > p.revision"

    def pairs_in(self, left: str) -> str:
        """`left` (a pair of columns) is one of the pairs two list parameters zip together."""
        if self.is_postgres:
            return f"{left} IN (SELECT unnest(?::VARCHAR[]), unnest(?::VARCHAR[]))"
        return f"{left} IN (SELECT (unnest(?), unnest(?)))"

    # -- many rows as one parameter --------------------------------------------------------

    def rows_of(self, **columns: tuple[str, Sequence[Any]]) -> tuple[str, str]:
        """A derived table of parallel columns (name=(DuckDB type, values)) and the one parameter
        it binds: the values travel as one JSON document the database unpacks (binding a list
        costs about as much per value as a statement does)."""
        if not self.is_postgres:
            from studbook.daemon.store.retention import rows_of

            return rows_of(**columns)
        names = list(columns)
        records = [dict(zip(names, values)) for values in zip(*(values for _, values in columns.values()))]
        shape = ", ".join(f"{name} {_PG_TYPES[kind]}" for name, (kind, _) in columns.items())
        return f"(SELECT * FROM jsonb_to_recordset(CAST(? AS jsonb)) AS r({shape}))", json.dumps(records)

    def filter_join(self, kind: Literal["SEMI", "ANTI"], table: str, alias: str, *, using: str = "",
                    left: str = "", on: str = "") -> tuple[str, str]:  # fmt: skip
        """Keeps the rows that have (SEMI) or lack (ANTI) a match in `table` (aliased `alias`), on the
        `using` columns shared with alias `left`, or on the condition `on`. Returns what goes among
        the joins and what goes into the WHERE: DuckDB has SEMI and ANTI JOIN; PostgreSQL says
        [NOT] EXISTS, which its planner runs as the same hash semi or anti join."""
        if not self.is_postgres:
            return f"{kind} JOIN {table} {alias} " + (f"USING ({using})" if using else f"ON {on}"), ""
        if using:
            on = " AND ".join(f"{alias}.{name} = {left}.{name}" for name in (c.strip() for c in using.split(",")))
        return "", f"{'' if kind == 'SEMI' else 'NOT '}EXISTS (SELECT 1 FROM {table} {alias} WHERE {on})"

    def regexp_group(self, text: str, pattern: str, group: int) -> str:
        """Group `group` of the first match of a fixed `pattern` (the store's, never a user's)."""
        if self.is_postgres:
            return f"(regexp_match({text}, '{pattern}'))[{group}]"
        return f"regexp_extract({text}, '{pattern}', {group})"

    def try_bigint(self, text: str) -> str:
        """Digits as a bigint; NULL when they do not fit (DuckDB's TRY_CAST)."""
        if self.is_postgres:
            return f"(CASE WHEN length({text}) <= 18 THEN CAST({text} AS bigint) END)"
        return f"TRY_CAST({text} AS BIGINT)"

    def parent_links(self, column: str) -> str:
        """A table function over a version's `parents` JSON, giving p.model and p.number."""
        if self.is_postgres:
            return f"jsonb_to_recordset({column}) AS p(model text, number bigint)"
        return f"""unnest(from_json({column}, '[{{"model": "VARCHAR", "number": "BIGINT"}}]')) t(p)"""

    def semi_join(self, left: str, table: str, columns: str) -> str:
        """Keeps the rows of alias `left` whose `columns` appear in `table` (aliased k); goes
        where a JOIN would, before any WHERE."""
        if self.is_postgres:
            keys = ", ".join(f"{left}.{c.strip()}" for c in columns.split(","))
            return f"WHERE ({keys}) IN (SELECT {columns} FROM {table} k)"
        return f"SEMI JOIN {table} k USING ({columns})"


DUCKDB = Dialect("duckdb")
POSTGRES = Dialect("postgres")


def where(*conditions: str) -> str:
    """A WHERE clause of the conditions that are not empty; "" when none is."""
    kept = [c for c in conditions if c]
    return f"WHERE {' AND '.join(kept)}" if kept else ""
