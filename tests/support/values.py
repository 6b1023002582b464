"""Values of every type the catalogs store, for tests that write rows and read them back: text
with quotes, backslashes, percent signs and statement fragments, integers to 64 bits, any float
(NaN, -0.0, infinities), booleans, times in other zones, JSON and bytes."""

from __future__ import annotations

import json
import math
import struct
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st


def texts(nul: bool = True) -> st.SearchStrategy[str]:
    """Any text; without NUL where the backend cannot hold one (PostgreSQL)."""
    return st.text(alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="" if nul else "\x00"))


_IN_RANGE = {"min_value": datetime(1970, 1, 2), "max_value": datetime(9998, 1, 1)}
# Aware times, given in a zone other than UTC.
AWARE_MOMENTS = st.datetimes(**_IN_RANGE, timezones=st.just(UTC)).map(
    lambda moment: moment.astimezone(timezone(timedelta(hours=5, minutes=30)))
)
NAIVE_MOMENTS = st.datetimes(**_IN_RANGE)


def rows(text: st.SearchStrategy[str], moments: st.SearchStrategy[datetime]) -> st.SearchStrategy[tuple[Any, ...]]:
    """(text, bigint, double, boolean, time, JSON text, bytes), each of them possibly NULL."""
    return st.tuples(
        st.none() | text,
        st.none() | st.integers(-(2**63), 2**63 - 1),
        st.none() | st.floats(),
        st.none() | st.booleans(),
        st.none() | moments,
        st.none() | text.map(lambda note: json.dumps({"note": note})),
        st.none() | st.binary(max_size=40),
    )


def same_float(stored: Any, given: float) -> bool:
    """Bit for bit: -0.0 stays negative; any NaN stays a NaN."""
    return isinstance(stored, float) and (
        (math.isnan(stored) and math.isnan(given)) or struct.pack("d", stored) == struct.pack("d", given)
    )


def same_json(stored: Any, given: str) -> bool:
    """The same document, whether the backend answers its text or the value it parsed."""
    return (json.loads(stored) if isinstance(stored, str) else stored) == json.loads(given)
