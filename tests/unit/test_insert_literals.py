"""The DuckDB catalog's inserts: a few rows go with their values written into the statement,
more as one JSON document; whichever way they went, the table holds exactly the values given,
whatever text they hold (quotes, backslashes, statement fragments, NUL)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import duckdb
from hypothesis import given, settings
from hypothesis import strategies as st
from studbook.daemon.store.catalog import TableShapes
from studbook.daemon.store.literals import MOST_LITERAL_ROWS, inlined, literal
from support import values

COLUMNS = "t VARCHAR, i BIGINT, f DOUBLE, b BOOLEAN, ts TIMESTAMP, j JSON, raw BLOB"

texts = values.texts()
moments = values.NAIVE_MOMENTS | values.AWARE_MOMENTS
rows = values.rows(texts, moments)


def _same(stored: Any, given_: Any) -> bool:
    if isinstance(given_, float):
        return values.same_float(stored, given_)
    if isinstance(given_, datetime) and given_.tzinfo is not None:
        return stored == given_.astimezone(UTC).replace(tzinfo=None)
    if isinstance(given_, str) and given_.startswith('{"note"'):
        return values.same_json(stored, given_)
    return stored == given_ and type(stored) is type(given_)


@settings(max_examples=200, deadline=None)
@given(st.lists(rows, min_size=1, max_size=MOST_LITERAL_ROWS * 3))
def test_rows_read_back_exactly_as_given_however_they_were_sent(written: list[tuple[Any, ...]]) -> None:
    conn = duckdb.connect()
    conn.execute(f"CREATE TABLE sample ({COLUMNS})")
    shape = TableShapes().of(conn, "sample", written)

    conn.execute(*shape.statement(written))

    stored = conn.execute("SELECT t, i, f, b, ts, j, raw FROM sample ORDER BY rowid").fetchall()
    assert len(stored) == len(written)
    for got, row in zip(stored, written, strict=True):
        for index in shape.columns:
            assert _same(got[index], row[index]), (index, got[index], row[index])


def test_a_few_rows_go_in_the_statement_and_more_as_a_document() -> None:
    conn = duckdb.connect()
    conn.execute(f"CREATE TABLE sample ({COLUMNS})")
    row = ("it's", 1, 0.5, True, datetime(2026, 3, 1), "{}", b"\x00")
    few = TableShapes().of(conn, "sample", [row])

    assert few.statement([row] * MOST_LITERAL_ROWS) == (few.values_prefix + ", ".join(["('it''s', 1, "
        "CAST('0.5' AS DOUBLE), true, TIMESTAMP '2026-03-01T00:00:00', '{}', from_hex('00'))"] * MOST_LITERAL_ROWS), [])  # fmt: skip
    sql, params = few.statement([row] * (MOST_LITERAL_ROWS + 1))
    assert sql == few.insert_sql and len(params) == 1


def test_text_holding_a_nul_is_never_written_into_a_statement() -> None:
    # DuckDB's statement text ends at a NUL: such a row is bound instead, and stored whole.
    assert literal("a\x00b") is None
    conn = duckdb.connect()
    conn.execute(f"CREATE TABLE sample ({COLUMNS})")
    row = ("a\x00b'; DROP TABLE sample; --", None, None, None, None, None, None)
    shape = TableShapes().of(conn, "sample", [row])

    conn.execute(*shape.statement([row]))

    assert conn.execute("SELECT t FROM sample").fetchall() == [(row[0],)]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.none() | texts | st.integers(-(2**63), 2**63 - 1) | st.floats() | st.booleans() | moments, max_size=6)
)
def test_a_statement_with_its_parameters_inlined_answers_as_bound(params: list[Any]) -> None:
    conn = duckdb.connect()
    sql = "SELECT " + ", ".join(["?"] * len(params)) if params else "SELECT 1"
    statement = inlined(sql, params)
    if statement is None:
        assert any(isinstance(p, str) and "\x00" in p for p in params)
        return
    [answer] = conn.execute(statement).fetchall()
    assert all(_same(got, param) for got, param in zip(answer, params, strict=False))


def test_a_statement_is_inlined_only_when_every_placeholder_is_one() -> None:
    assert inlined("SELECT ? WHERE name = 'what?'", [1]) is None
    assert inlined("SELECT ?, ?", [1]) is None
    assert (
        inlined("UPDATE t SET n = n + ? WHERE name = ?", [2, "it's"]) == "UPDATE t SET n = n + 2 WHERE name = 'it''s'"
    )
