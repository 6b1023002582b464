"""Resource names and user-given strings: the rules every RPC applies at the edge."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from studbook.daemon.domain.errors import InvalidArgument
from studbook.daemon.domain.names import (
    parse_model_name,
    parse_version_name,
    validate_label,
    validate_model_id,
    validate_params,
    validate_tags,
)

RULE = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")


@given(st.text(max_size=80))
def test_a_model_id_is_accepted_exactly_when_it_matches_the_rule(text: str) -> None:
    if RULE.fullmatch(text):
        assert validate_model_id(text) == text
    else:
        with pytest.raises(InvalidArgument) as raised:
            validate_model_id(text)
        assert raised.value.reason == "INVALID_NAME"


@given(st.text(max_size=200))
def test_any_text_as_a_version_name_parses_or_is_invalid_argument(text: str) -> None:
    try:
        ref = parse_version_name(text)
    except InvalidArgument as error:
        assert error.reason == "INVALID_NAME"
    else:
        assert text == f"models/{ref.model}/versions/{ref.number if ref.number is not None else ref.label}"


@given(st.from_regex(RULE, fullmatch=True), st.integers(min_value=1, max_value=2**62))
def test_a_version_number_round_trips(model: str, number: int) -> None:
    ref = parse_version_name(f"models/{model}/versions/{number}")

    assert (ref.model, ref.number, ref.label) == (model, number, None)


@pytest.mark.parametrize("ref", ["production", "champion", "latest"])
def test_labels_and_latest_are_references_too(ref: str) -> None:
    parsed = parse_version_name(f"models/fraud/versions/{ref}")

    assert parsed.label == ref and parsed.number is None


@pytest.mark.parametrize(
    "name", ["models/fraud/versions/0", "models/fraud/versions/", "models/Fraud/versions/1",
             "models/fraud/versions/1/x", "model/fraud/versions/1", "models/fraud/versions/-1"],
)  # fmt: skip
def test_malformed_version_names_are_refused(name: str) -> None:
    with pytest.raises(InvalidArgument):
        parse_version_name(name)


@pytest.mark.parametrize("label", ["latest", "-", "7", "Prod", "", "a" * 65])
def test_stage_and_alias_names_cannot_shadow_numbers_or_latest(label: str) -> None:
    with pytest.raises(InvalidArgument):
        validate_label(label)


def test_a_model_name_must_be_models_slash_id() -> None:
    assert parse_model_name("models/fraud") == "fraud"
    for bad in ("fraud", "models/", "models/fraud/versions/1"):
        with pytest.raises(InvalidArgument):
            parse_model_name(bad)


def test_tags_are_bounded_in_count_and_size() -> None:
    with pytest.raises(InvalidArgument) as too_many:
        validate_tags({f"k{i}": "v" for i in range(65)})
    with pytest.raises(InvalidArgument) as too_long:
        validate_tags({"k": "v" * 1025})
    with pytest.raises(InvalidArgument) as nul:
        validate_tags({"k": "a\x00b"})

    assert (too_many.value.reason, too_long.value.reason, nul.value.reason) == (
        "TOO_MANY_TAGS", "VALUE_TOO_LONG", "INVALID_TEXT")  # fmt: skip


def test_params_keys_follow_the_metric_key_rule() -> None:
    assert validate_params({"optimizer/lr": "0.1", "layers.0.units": "64"})
    with pytest.raises(InvalidArgument) as raised:
        validate_params({"bad key": "1"})
    assert raised.value.reason == "INVALID_PARAM"
