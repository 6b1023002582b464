"""Specification of the List filter language: grammar, literals, bounds, errors and field checks."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from studbook.daemon.domain.errors import InvalidArgument
from studbook.daemon.domain.fields import MODEL_FIELDS, VERSION_FIELDS
from studbook.daemon.domain.filter import (
    MAX_DEPTH,
    MAX_FILTER_LENGTH,
    MAX_TERMS,
    And,
    Bool,
    Comparison,
    Expr,
    Float,
    Has,
    Int,
    Not,
    Or,
    Pattern,
    Star,
    Text,
    format_filter,
    parse_filter,
)
from studbook.daemon.domain.predicates import AllOf, AnyOf, Check, Negated, Predicate, bind_filter


def eq(field: str, value: object) -> Comparison:
    return Comparison(field, "=", value)  # type: ignore[arg-type]


A, B, C = eq("a", Int(1)), eq("b", Int(2)), eq("c", Int(3))


# --- Strategies -------------------------------------------------------------------

roots = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True).filter(
    lambda word: word not in ("AND", "OR", "NOT")
)
keys = st.text(st.characters(exclude_characters="\x00"), min_size=1, max_size=12)
fields = st.one_of(roots, st.builds(lambda root, key: f"{root}.{key}", roots, keys))
strings = st.text(st.characters(exclude_characters="\x00"), max_size=12)
values = st.one_of(
    st.builds(Text, strings),
    st.builds(Pattern, st.lists(strings, min_size=2, max_size=4).map(tuple)),
    st.builds(Int, st.integers(-(2**63) + 1, 2**63 - 1)),
    st.builds(Float, st.floats(allow_nan=False, allow_infinity=False)),
    st.builds(Bool, st.booleans()),
    st.just(Star()),
)
leaves = st.one_of(
    st.builds(Comparison, fields, st.sampled_from(["=", "!=", "<", "<=", ">", ">="]), values),
    st.builds(Has, fields, values),
)
exprs: st.SearchStrategy[Expr] = st.recursive(
    leaves,
    lambda children: st.one_of(
        st.builds(And, st.lists(children, min_size=2, max_size=3).map(tuple)),
        st.builds(Or, st.lists(children, min_size=2, max_size=3).map(tuple)),
        st.builds(Not, children),
    ),
    max_leaves=12,
)
# Text made of the language's own pieces finds far more edge cases than random characters.
fragments = st.sampled_from(
    [
        " ",
        "(",
        ")",
        "-",
        "=",
        "!=",
        "<",
        "<=",
        ">",
        ">=",
        ":",
        "*",
        '"',
        "'",
        "\\",
        ".",
        ",",
        "AND",
        "OR",
        "NOT",
        "and",
        "a",
        "tags",
        "metrics",
        "auc",
        "status",
        "READY",
        "true",
        "1",
        "-2.5e3",
        "1e999",
        "99999999999999999999",
        "create_time",
        '"2026-01-01T00:00:00Z"',
        "semver",
        '"2.0.0"',
        "stage",
        "name",
        '"x*"',
        "\t",
        "é",
    ]
)
filter_like_text = st.one_of(st.lists(fragments, max_size=30).map("".join), st.text(max_size=60))


def assert_filter_error(error: InvalidArgument, text: str) -> None:
    assert error.reason == "INVALID_FILTER"
    column = int(error.metadata["column"])
    assert 1 <= column <= len(text) + 1
    assert f"at column {column}" in error.message


# --- Properties -------------------------------------------------------------------


@settings(max_examples=300)
@given(exprs)
def test_a_printed_filter_parses_back_to_the_same_tree(expr: Expr) -> None:
    text = format_filter(expr)

    parsed = parse_filter(text)

    assert parsed == expr


@settings(max_examples=500)
@given(filter_like_text)
def test_any_text_parses_or_fails_with_invalid_filter_pointing_inside_it(text: str) -> None:
    try:
        parse_filter(text)
    except InvalidArgument as error:
        assert_filter_error(error, text)


@settings(max_examples=300)
@given(filter_like_text)
def test_any_text_checked_against_fields_fails_only_with_invalid_filter(text: str) -> None:
    for fields in (VERSION_FIELDS, MODEL_FIELDS):
        try:
            parse_filter(text, fields)
        except InvalidArgument as error:
            assert_filter_error(error, text)


@given(st.text(st.sampled_from(" \t\n\r"), max_size=10))
def test_blank_filters_mean_no_filter(text: str) -> None:
    assert parse_filter(text) is None


# --- Precedence -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a = 1 AND b = 2 OR c = 3", And((A, Or((B, C))))),
        ("a = 1 OR b = 2 AND c = 3", And((Or((A, B)), C))),
        ("a = 1 b = 2 OR c = 3", And((A, Or((B, C))))),
        ("a = 1 b = 2 AND c = 3", And((A, B, C))),
        ("(a = 1 AND b = 2) OR c = 3", Or((And((A, B)), C))),
        ("NOT a = 1 OR b = 2", Or((Not(A), B))),
        ("-a = 1 c = 3", And((Not(A), C))),
        ("NOT (a = 1 OR b = 2)", Not(Or((A, B)))),
        ("NOT(a = 1)", Not(A)),
        ("((a = 1))", A),
        ("a = 1 AND (b = 2 AND c = 3)", And((A, And((B, C))))),
    ],
)
def test_or_binds_tighter_than_and_as_aip_160_says(text: str, expected: Expr) -> None:
    assert parse_filter(text) == expected


# --- Literals and fields ------------------------------------------------------------


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        ('"risk"', Text("risk")),
        ("'risk'", Text("risk")),
        (r'"say \"hi\" \\ now\n"', Text('say "hi" \\ now\n')),
        (r"'it\'s'", Text("it's")),
        ("42", Int(42)),
        ("-7", Int(-7)),
        ("0.5", Float(0.5)),
        (".5", Float(0.5)),
        ("-1.5e-3", Float(-0.0015)),
        ("2E10", Float(2e10)),
        ("true", Bool(True)),
        ("false", Bool(False)),
        ("READY", Text("READY")),
        ("fraud-v2.onnx", Text("fraud-v2.onnx")),
        ("*", Star()),
        ('"fraud*"', Pattern(("fraud", ""))),
        ('"*-v2"', Pattern(("", "-v2"))),
        ("fraud*", Pattern(("fraud", ""))),
        (r'"5\*"', Text("5*")),
    ],
)
def test_each_kind_of_literal(literal: str, value: object) -> None:
    assert parse_filter(f"x = {literal}") == eq("x", value)


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("metrics.auc > 1", "metrics.auc"),
        ('tags."my key" > 1', "tags.my key"),
        ("metrics.val/loss@top-5 > 1", "metrics.val/loss@top-5"),
        ("tags.k8s.io/team > 1", "tags.k8s.io/team"),
        ("metrics.'f1:macro' > 1", "metrics.f1:macro"),
    ],
)
def test_field_paths_take_dotted_keys_and_quoted_keys(text: str, field: str) -> None:
    parsed = parse_filter(text)

    assert isinstance(parsed, Comparison)
    assert parsed.field == field


def test_has_operator_takes_a_key_or_a_star() -> None:
    assert parse_filter("metrics:auc metrics.loss:*") == And((Has("metrics", Text("auc")), Has("metrics.loss", Star())))


def test_keywords_are_upper_case_only_so_lower_case_words_are_names() -> None:
    assert parse_filter("x = ANDROID") == eq("x", Text("ANDROID"))


# --- Bounds -----------------------------------------------------------------------


def test_nesting_is_bounded() -> None:
    deep = "(" * (MAX_DEPTH + 1) + "a = 1" + ")" * (MAX_DEPTH + 1)

    with pytest.raises(InvalidArgument) as raised:
        parse_filter(deep)

    assert "nest deeper" in raised.value.message
    assert raised.value.metadata["column"] == str(MAX_DEPTH + 1)


def test_nesting_up_to_the_bound_is_fine() -> None:
    assert parse_filter("(" * MAX_DEPTH + "a = 1" + ")" * MAX_DEPTH) == A


def test_the_number_of_conditions_is_bounded() -> None:
    text = " ".join(["a = 1"] * (MAX_TERMS + 1))

    with pytest.raises(InvalidArgument) as raised:
        parse_filter(text)

    assert "too many conditions" in raised.value.message
    assert parse_filter(" ".join(["a = 1"] * MAX_TERMS)) is not None


def test_the_length_is_bounded() -> None:
    text = "a = " + '"' + "x" * MAX_FILTER_LENGTH + '"'

    with pytest.raises(InvalidArgument) as raised:
        parse_filter(text)

    assert raised.value.reason == "INVALID_FILTER"
    assert raised.value.metadata["column"] == str(MAX_FILTER_LENGTH + 1)
    assert len(raised.value.metadata["filter"]) <= 200


# --- Syntax errors ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("metrics.auc >", "filter: expected a value after '>' at column 14"),
        ("a = 1 AND", "filter: expected a condition after 'AND' at column 10"),
        ("a = 1 OR OR b = 2", "filter: expected a condition after 'OR', found the keyword OR at column 10"),
        ("AND a = 1", "filter: expected a condition, found the keyword AND at column 1"),
        ("NOT", "filter: expected a condition after 'NOT' at column 4"),
        ("- a = 1", "filter: expected a condition right after '-' (no space between) at column 2"),
        ("(a = 1", "filter: '(' is never closed at column 1"),
        ("a = 1)", "filter: unexpected ')' without a matching '(' at column 6"),
        ("()", "filter: expected a condition after '(' at column 2"),
        ("owner", "filter: expected an operator (=, !=, <, <=, >, >=, :) after 'owner' at column 6"),
        (
            "a = 1 and b = 2",
            "filter: expected an operator (=, !=, <, <=, >, >=, :) after 'and' at column 11; "
            "keywords are upper case: AND",
        ),
        ('a = "open', "filter: unterminated string (no closing quote) at column 5"),
        ('"a" = 1', 'filter: a field name cannot be quoted at column 1; quote only map keys, as in tags."my key"'),
        ("tags. = 1", "filter: expected a key after 'tags.' at column 6"),
        ("= 1", "filter: expected a field name, found '=' at column 1"),
        ("a = AND", "filter: expected a value after '=' at column 5"),
        (
            "create_time > 2026-01-01",
            "filter: unquoted value '2026-01-01' at column 15; put text, timestamps and versions in quotes",
        ),
        ('a = "x"b = 1', "filter: unexpected 'b' after the value at column 8; separate conditions with spaces"),
        ("a = 1e999", "filter: number 1e999 is out of range at column 5"),
        ("a = 9223372036854775808", "filter: integer 9223372036854775808 is out of range at column 5"),
        ("a = \x00", "filter: NUL character at column 5"),
    ],
)
def test_syntax_errors_say_what_to_fix_and_where(text: str, message: str) -> None:
    with pytest.raises(InvalidArgument) as raised:
        parse_filter(text)

    assert raised.value.message.startswith(message)
    assert_filter_error(raised.value, text)
    assert raised.value.metadata["filter"] == text


# --- Field checks -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message", "column"),
    [
        ("colour = 1", "unknown version field 'colour'", 1),
        ("number.x = 1", "'number' has no sub-fields", 1),
        ('tags = "risk"', "tags needs a key", 1),
        ("metrics > 1", "metrics needs a key", 1),
        ("metrics:5", "expected a key name after 'metrics:'", 9),
        ('create_time > "last week"', '"last week" is not an RFC 3339 timestamp', 15),
        ("create_time > 5", "5 is not an RFC 3339 timestamp", 15),
        ("status = redy", 'status has no value "redy"', 10),
        ("status > READY", "status supports only =, != and :, not >", 8),
        ('semver > "1.0.0-rc1"', 'semver: "1.0.0-rc1" is not a version', 10),
        ("semver >= 2.5", "semver: 2.5 is not a version", 11),
        ("metrics.auc > high", 'metrics.auc takes a number, not "high"', 15),
        ("number = true", "number takes a number", 10),
        ('stage < "production"', "stage supports only =, != and :", 7),
        ('description < "a*"', "wildcards ('*') work only with =, != and :", 13),
        ("number < *", "'*' (any value) works only with =, != and :", 8),
        ("dataset = true", "dataset takes a name", 11),
    ],
)
def test_version_field_errors_name_the_field_and_point_at_the_part(text: str, message: str, column: int) -> None:
    with pytest.raises(InvalidArgument) as raised:
        parse_filter(text, VERSION_FIELDS)

    assert message in raised.value.message
    assert raised.value.metadata["column"] == str(column)
    assert raised.value.metadata["filter"] == text


def test_an_unknown_field_lists_the_valid_ones() -> None:
    with pytest.raises(InvalidArgument) as raised:
        parse_filter('stage = "production"', MODEL_FIELDS)

    assert raised.value.metadata["field"] == "stage"
    assert "owner" in raised.value.metadata["valid"]
    assert "tags.KEY" in raised.value.message


def test_a_bad_timestamp_deep_in_a_filter_points_at_its_own_column() -> None:
    text = 'status = READY AND (create_time > "2026-01-01T00:00:00Z" OR update_time < "2026-13-01")'

    with pytest.raises(InvalidArgument) as raised:
        parse_filter(text, VERSION_FIELDS)

    assert raised.value.metadata["column"] == str(text.index('"2026-13-01"') + 1)


# --- Meaning (binding) ------------------------------------------------------------


def bound(text: str) -> object:
    expr = parse_filter(text, VERSION_FIELDS)
    assert expr is not None
    return bind_filter(expr, VERSION_FIELDS)


def test_not_equal_is_the_complement_of_equal() -> None:
    result = bound('tags.team != "risk"')

    assert isinstance(result, Negated)
    assert result.item == bound('tags.team = "risk"')


def test_enum_values_are_folded_to_lower_case() -> None:
    assert bound("status = READY") == bound('status = "ready"')


def test_params_compare_as_numbers_when_the_literal_is_a_number() -> None:
    number, text = bound("params.lr < 0.01"), bound('params.lr < "0.01"')

    assert isinstance(number, Predicate) and number.numeric and number.value == 0.01
    assert isinstance(text, Predicate) and not text.numeric and text.value == "0.01"


def test_semver_literals_become_ordering_keys() -> None:
    assert bound('semver >= "2.1.3"') == bound('semver >= "v2.1.3"')
    result = bound('semver >= "2.1"')
    assert isinstance(result, Predicate) and result.value == 2 * 10**12 + 1 * 10**6


def test_semver_text_that_is_not_a_version_is_compared_as_text_on_equality() -> None:
    result = bound('semver = "1.0.0-rc1"')

    assert isinstance(result, Predicate) and result.value == "1.0.0-rc1"


def test_timestamps_are_read_as_utc() -> None:
    with_offset = bound('create_time > "2026-01-01T02:00:00+02:00"')
    without = bound('create_time > "2026-01-01T00:00:00"')

    assert isinstance(with_offset, Predicate) and isinstance(without, Predicate)
    assert with_offset.value == without.value == datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("text", ["metrics:auc", "metrics.auc:*", "metrics.auc = *"])
def test_metric_presence_can_be_written_three_ways(text: str) -> None:
    result = bound(text)

    assert isinstance(result, Predicate)
    assert (result.check, result.key) == (Check.PRESENT, "auc")


def test_resource_names_may_leave_out_the_models_prefix() -> None:
    result = bound('name = "fraud/versions/3"')

    assert isinstance(result, Predicate) and result.value == "models/fraud/versions/3"


def test_a_dataset_literal_can_pin_the_version() -> None:
    result = bound('dataset = "iris@v2"')

    assert isinstance(result, Predicate) and (result.value, result.version) == ("iris", "v2")


def test_stage_names_are_folded_and_has_means_holds() -> None:
    assert bound("stage:PRODUCTION") == bound('stage = "production"')


def test_has_on_text_is_a_substring_test() -> None:
    result = bound('description:"fraud"')

    assert isinstance(result, Predicate) and (result.check, result.value) == (Check.CONTAINS, ("fraud",))


def test_structure_is_kept_when_binding() -> None:
    result = bound("status = ready OR NOT number = 1 AND total_size > 0")

    assert isinstance(result, AllOf)
    assert isinstance(result.items[0], AnyOf)
    assert isinstance(result.items[0].items[1], Negated)


def test_format_record_fields_are_their_own_dotted_names() -> None:
    parameters = bound("format.parameters > 1e9")
    assert isinstance(parameters, Predicate)
    assert parameters.field.name == "format.parameters" and parameters.key is None and parameters.value == 1e9
    dtype = bound('format.dtype = "BF16"')
    assert isinstance(dtype, Predicate) and dtype.field.name == "format.dtype" and dtype.value == "BF16"
    # The plain `format` (the biggest file's format) is still a field of its own.
    plain = bound('format = "gguf"')
    assert isinstance(plain, Predicate) and plain.field.name == "format"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('format.parameters > "many"', "format.parameters takes a number"),
        ('format.dtype > "F16"', "format.dtype supports only =, != and :"),
        (
            "format.layers = 3",
            "'format.' fields: format.architecture, format.dtype, format.format, format.framework, format.parameters",
        ),
    ],
)
def test_format_record_fields_check_their_values(text: str, message: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        bound(text)
    assert message in caught.value.message
