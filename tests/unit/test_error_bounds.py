"""Errors echo what a caller sent only as far as a reader needs: a bounded message and
bounded ErrorInfo metadata, whatever the input."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from studbook.daemon.domain.errors import ECHO, MAX_MESSAGE, InvalidArgument

values = st.text(max_size=3000) | st.integers(0, 100_000).map(lambda n: "x" * n)


@given(values, values)
def test_any_echoed_value_leaves_a_bounded_error(value: str, other: str) -> None:
    error = InvalidArgument(f"invalid model name {value!r}: use 1-64 characters; got {other}", reason="INVALID_NAME",
                            value=value, other=other)  # fmt: skip

    assert len(error.message) <= MAX_MESSAGE + 100
    assert all(len(v) <= ECHO + 20 for v in error.metadata.values())
    assert error.reason == "INVALID_NAME"


def test_a_long_quoted_value_is_cut_in_place_and_the_advice_kept() -> None:
    error = InvalidArgument(f"invalid model name {'a' * 100_000!r}: use 1-64 characters", field="model")

    assert error.message == f"invalid model name '{'a' * ECHO}…' (100000 chars): use 1-64 characters"


def test_short_errors_are_left_as_they_are() -> None:
    error = InvalidArgument("no version 'v9' of 'fraud'", version="v9")

    assert error.message == "no version 'v9' of 'fraud'" and error.metadata == {"version": "v9"}
