"""The column defaults the DuckDB catalog leaves out of its inserts: a default is taken for a
value only when DuckDB itself gives that very value for it, so a row left to its default holds
what the row said."""

from __future__ import annotations

import duckdb
from hypothesis import given
from hypothesis import strategies as st
from studbook.daemon.store.catalog import NO_DEFAULT, parse_default

_CONNECTION = duckdb.connect()


def evaluated(expression: str) -> object:
    return _CONNECTION.execute(f"SELECT {expression}").fetchone()[0]  # type: ignore[index]


def quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")))
def test_a_quoted_string_default_is_the_string_duckdb_reads(text: str) -> None:
    assert parse_default(quoted(text)) == evaluated(quoted(text)) == text


@given(st.integers(-(2**62), 2**62))
def test_an_integer_default_is_the_integer_duckdb_reads(number: int) -> None:
    assert parse_default(str(number)) == evaluated(str(number)) == number


@given(st.booleans())
def test_a_cast_boolean_default_is_that_boolean(value: bool) -> None:
    spelled = f"CAST('{'t' if value else 'f'}' AS BOOLEAN)"

    found = parse_default(spelled)

    assert found is value and evaluated(spelled) is value


@given(st.lists(st.text(alphabet="ab'{}", max_size=4), min_size=2, max_size=3))
def test_an_expression_of_several_strings_is_no_default(parts: list[str]) -> None:
    # 'a' || 'b' starts and ends with a quote, but is no single literal.
    assert parse_default(" || ".join(quoted(p) for p in parts)) is NO_DEFAULT


def test_expressions_and_their_absence_are_no_default() -> None:
    for text in (None, "now()", "current_timestamp", "nextval('version_ids')", "CAST('{}' AS JSON)", "1.5", "NULL"):
        assert parse_default(text) is NO_DEFAULT, text
