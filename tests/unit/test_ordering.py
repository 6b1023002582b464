"""Specification of order_by: `field [asc|desc], ...` checked against the sortable fields."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from studbook.daemon.domain.errors import InvalidArgument
from studbook.daemon.domain.fields import MODEL_FIELDS, VERSION_FIELDS
from studbook.daemon.domain.ordering import (
    MAX_ORDER_TERMS,
    OrderTerm,
    format_order_by,
    parse_order_by,
)

sortable_paths = st.one_of(
    st.sampled_from([name for name in VERSION_FIELDS.names(sortable=True) if not name.endswith(".KEY")]),
    st.builds(
        lambda root, key: f"{root}.{key}",
        st.sampled_from(["tags", "params", "metrics"]),
        st.text(st.characters(exclude_characters="\x00"), min_size=1, max_size=10),
    ),
)
term_lists = st.lists(
    st.builds(OrderTerm, sortable_paths, st.booleans()),
    min_size=1,
    max_size=MAX_ORDER_TERMS,
    unique_by=lambda term: term.field,
)


@settings(max_examples=200)
@given(term_lists)
def test_printed_terms_parse_back_to_the_same_terms(terms: list[OrderTerm]) -> None:
    assert parse_order_by(format_order_by(terms), VERSION_FIELDS) == terms


order_by_pieces = st.sampled_from(["number", " ", ",", "desc", "ASC", "metrics.", '"', "x", "stage", "-"])


@settings(max_examples=300)
@given(st.one_of(st.text(max_size=40), st.lists(order_by_pieces, max_size=12).map("".join)))
def test_any_text_parses_or_fails_with_invalid_order_by_pointing_inside_it(text: str) -> None:
    try:
        parse_order_by(text, VERSION_FIELDS)
    except InvalidArgument as error:
        assert error.reason == "INVALID_ORDER_BY"
        assert 1 <= int(error.metadata["column"]) <= len(text) + 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", []),
        ("   ", []),
        ("number", [OrderTerm("number")]),
        ("metrics.auc desc, number", [OrderTerm("metrics.auc", True), OrderTerm("number")]),
        ("create_time DESC,name ASC", [OrderTerm("create_time", True), OrderTerm("name")]),
        ('tags."my key" desc', [OrderTerm("tags.my key", True)]),
        ("metrics.val/loss", [OrderTerm("metrics.val/loss")]),
    ],
)
def test_terms_and_directions(text: str, expected: list[OrderTerm]) -> None:
    assert parse_order_by(text, VERSION_FIELDS) == expected


@pytest.mark.parametrize(
    ("text", "message", "column"),
    [
        ("colour", "order_by: unknown version field 'colour' at column 1; sortable fields:", 1),
        ("number sideways", "order_by: expected asc or desc after 'number', found 'sideways'", 8),
        ("number desc desc", "order_by: expected ',' or the end after 'number'", 13),
        ("number,", "order_by: expected a field name after ',', found the end", 8),
        ("number, number desc", "order_by: 'number' appears twice", 9),
        ("stage", "order_by: cannot sort by stage at column 1; sortable fields:", 1),
        ("metrics desc", "order_by: metrics needs a key to sort by", 1),
        ("-number", "order_by: expected a field name, found '-'", 1),
    ],
)
def test_errors_say_what_to_fix_and_where(text: str, message: str, column: int) -> None:
    with pytest.raises(InvalidArgument) as raised:
        parse_order_by(text, VERSION_FIELDS)

    assert raised.value.reason == "INVALID_ORDER_BY"
    assert raised.value.message.startswith(message)
    assert raised.value.metadata["column"] == str(column)
    assert raised.value.metadata["order_by"] == text


def test_the_number_of_terms_is_bounded() -> None:
    text = ", ".join(f"tags.k{index}" for index in range(MAX_ORDER_TERMS + 1))

    with pytest.raises(InvalidArgument) as raised:
        parse_order_by(text, VERSION_FIELDS)

    assert "too many sort fields" in raised.value.message


def test_fields_are_checked_against_the_resource() -> None:
    assert parse_order_by("owner desc", MODEL_FIELDS) == [OrderTerm("owner", True)]
    with pytest.raises(InvalidArgument) as raised:
        parse_order_by("number", MODEL_FIELDS)
    assert "owner" in raised.value.metadata["valid"]
