"""The PostgreSQL catalog's inserts: each table's rows as one jsonb document sent with the COMMIT,
or by COPY where a document cannot carry them (a NaN, an infinity, a negative zero). Whichever
way they went, the table holds exactly the values given, whatever text they hold (quotes,
backslashes, percent signs, statement fragments, JSON escapes)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from studbook.daemon.store.postgres.catalog import PostgresCatalog
from support import values
from support.postgres import PostgresDatabase

COLUMNS = "t text, i bigint, f double precision, b boolean, ts timestamptz, j jsonb, raw bytea"

rows = values.rows(values.texts(nul=False), values.AWARE_MOMENTS)
MOMENT = datetime(1, 1, 1, 0, 0, 0, 1, tzinfo=UTC)


def _same(stored: Any, given: Any) -> bool:
    if isinstance(given, float):
        return values.same_float(stored, given)
    if isinstance(given, str) and given.startswith('{"note"'):
        return values.same_json(stored, given)
    return stored == given


@pytest.fixture
def catalog(postgres_catalog: PostgresDatabase):  # type: ignore[no-untyped-def]
    opened = PostgresCatalog(postgres_catalog.url)
    opened.query(f"CREATE TABLE sample (n bigserial, {COLUMNS})")
    yield opened
    opened.close()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(rows, min_size=1, max_size=40))
# One row of each way: a document, and COPY for the NaN.
@example(written=[('it\'s \\x00 \\u0000 "%s"', -(2**63), 5e-324, True, MOMENT, '{"note": "\\u00e9"}', b"\x00\xff")])
@example(written=[("a", 1, float("nan"), False, MOMENT, None, None), ("b", None, -0.0, None, None, "[]", b"")])
# A negative zero, which a document's numbers (numeric) cannot hold, without a NaN beside it.
@example(written=[(None, None, -0.0, None, None, None, None)])
def test_rows_read_back_exactly_as_given_however_they_were_sent(
    catalog: PostgresCatalog, written: list[tuple[Any, ...]]
) -> None:
    catalog.query("TRUNCATE sample")
    tx = catalog.transaction()
    tx.begin()
    for row in written:
        tx.insert("sample", row)
    tx.commit()

    stored = catalog.query("SELECT t, i, f, b, ts, j, raw FROM sample ORDER BY n")
    assert len(stored) == len(written)
    for got, row in zip(stored, written, strict=True):
        for index, value in enumerate(row):
            assert _same(got[index], value), (index, got[index], value)
