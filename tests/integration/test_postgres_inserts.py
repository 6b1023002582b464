"""The PostgreSQL catalog's inserts: a lone row as an insert, more by COPY, sent before the
COMMIT that goes with the models' figures. Whichever way they went, the table holds exactly the
values given, whatever text they hold (quotes, backslashes, percent signs, statement fragments)."""

from __future__ import annotations

import json
import math
import struct
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from studbook.daemon.store.postgres.catalog import PostgresCatalog
from support.postgres import PostgresDatabase

COLUMNS = "t text, i bigint, f double precision, b boolean, ts timestamptz, j jsonb, raw bytea"

texts = st.text(alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\x00"))
moments = st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(9998, 1, 1), timezones=st.just(UTC)).map(
    lambda moment: moment.astimezone(timezone(timedelta(hours=5, minutes=30)))
)
rows = st.tuples(
    st.none() | texts,
    st.none() | st.integers(-(2**63), 2**63 - 1),
    st.none() | st.floats(),
    st.none() | st.booleans(),
    st.none() | moments,
    st.none() | texts.map(lambda text: json.dumps({"note": text})),
    st.none() | st.binary(max_size=40),
)


def _same(stored: Any, given_: Any) -> bool:
    if isinstance(given_, float):
        # Bit for bit: -0.0 stays negative; any NaN stays a NaN.
        return isinstance(stored, float) and (
            (math.isnan(stored) and math.isnan(given_)) or struct.pack("d", stored) == struct.pack("d", given_)
        )
    if isinstance(given_, str) and given_.startswith('{"note"'):
        return (json.loads(stored) if isinstance(stored, str) else stored) == json.loads(given_)
    return stored == given_


@pytest.fixture
def catalog(postgres_catalog: PostgresDatabase):  # type: ignore[no-untyped-def]
    opened = PostgresCatalog(postgres_catalog.url)
    opened.query(f"CREATE TABLE sample (n bigserial, {COLUMNS})")
    yield opened
    opened.close()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(rows, min_size=1, max_size=40))
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
