"""MLflow's search filter and order_by, parsed and translated into studbook's languages."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from studbook.daemon.domain.fields import MODEL_FIELDS, VERSION_FIELDS
from studbook.daemon.domain.filter import parse_filter
from studbook.daemon.domain.ordering import parse_order_by
from studbook.daemon.mlflow.errors import MlflowError
from studbook.daemon.mlflow.search import ATTRIBUTES, Clause, parse, to_filter, to_order_by

FIELDS = {"registered_models": MODEL_FIELDS, "model_versions": VERSION_FIELDS}
texts = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=20)
keys = st.from_regex(r"[A-Za-z0-9_.\-]{1,12}", fullmatch=True) | st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc"), exclude_characters="`\\"), min_size=1, max_size=12
)


@st.composite
def clauses(draw: st.DrawFn, resource: str) -> Clause:
    attribute = draw(st.sampled_from(ATTRIBUTES[resource]))  # type: ignore[index]
    key = draw(keys) if attribute == "tags" else ""
    if attribute == "version_number":
        op = draw(st.sampled_from(("=", "!=", "<", "<=", ">", ">=", "IN")))
        values = st.integers(min_value=0, max_value=10**9)
    else:
        op = draw(st.sampled_from(("=", "!=", "LIKE", "ILIKE", "IN")))
        values = texts  # type: ignore[assignment]
    value = tuple(draw(st.lists(values, min_size=1, max_size=4))) if op == "IN" else draw(values)
    return Clause(attribute, op, value, key)


def _quote(value: str | int, style: str) -> str:
    if isinstance(value, int):
        return str(value)
    quote = style
    return quote + value.replace("\\", "\\\\").replace(quote, quote * 2) + quote


def _print(clause: Clause, style: str, keyword_case: str) -> str:
    if clause.attribute == "tags":
        bare = re.fullmatch(r"[A-Za-z0-9_.\-]+", clause.key)
        name = f"tags.{clause.key}" if bare else "tags.`" + clause.key + "`"
    else:
        name = clause.attribute
    op = clause.op.lower() if keyword_case == "lower" and clause.op.isalpha() else clause.op
    if isinstance(clause.value, tuple):
        return f"{name} {op} (" + ", ".join(_quote(v, style) for v in clause.value) + ")"
    return f"{name} {op} {_quote(clause.value, style)}"


@given(st.sampled_from(["registered_models", "model_versions"]).flatmap(
    lambda r: st.tuples(st.just(r), st.lists(clauses(r), min_size=1, max_size=4))),
    st.sampled_from(["'", '"']), st.sampled_from(["upper", "lower"]), st.sampled_from([" AND ", " and ", "\nAND\t"]))  # fmt: skip
def test_a_printed_filter_parses_back_to_its_clauses(case: tuple[str, list[Clause]], style: str, keyword_case: str,
                                                     joiner: str) -> None:  # fmt: skip
    resource, items = case
    text = joiner.join(_print(c, style, keyword_case) for c in items)
    assert parse(text, resource) == items  # type: ignore[arg-type]


@given(st.sampled_from(["registered_models", "model_versions"]).flatmap(
    lambda r: st.tuples(st.just(r), st.lists(clauses(r), min_size=1, max_size=4))))  # fmt: skip
def test_every_translation_is_a_filter_studbook_accepts(case: tuple[str, list[Clause]]) -> None:
    resource, items = case
    text = " AND ".join(_print(c, "'", "upper") for c in items)
    try:
        translated = to_filter(text, resource)  # type: ignore[arg-type]
    except MlflowError as refused:
        # Only case-blind anchored patterns are beyond studbook's filter, and said so.
        assert "ILIKE" in refused.message
        return
    parse_filter(translated, FIELDS[resource])


@given(st.text(max_size=80))
def test_any_text_parses_or_is_refused_as_an_invalid_parameter(text: str) -> None:
    try:
        parse(text, "model_versions")
    except MlflowError as refused:
        assert refused.error_code == "INVALID_PARAMETER_VALUE" and refused.status == 400


@pytest.mark.parametrize(
    ("resource", "mlflow", "studbook"),
    [
        ("model_versions", "name = 'fraud'", 'model = "fraud"'),
        ("model_versions", "name LIKE 'fraud%'", 'model = "fraud*"'),
        ("model_versions", "name ILIKE 'Fraud%'", 'model = "fraud*"'),
        ("model_versions", "run_id IN ('a', 'b')", 'run_id = "a" OR run_id = "b"'),
        ("model_versions", "version_number > 3 AND tags.team != 'ads'", 'number > 3 AND tags.team != "ads"'),
        ("model_versions", "source_path = 's3://b/m'", 'created_from = "s3://b/m"'),
        ("model_versions", "tags.`my key` ILIKE '%Risk%'", 'tags."my key":"Risk"'),
        ("model_versions", "attributes.name = 'a'", 'model = "a"'),
        ("registered_models", "name = 'a' AND tags.t LIKE '%x'", 'name = "a" AND tags.t = "*x"'),
        ("registered_models", "", ""),
        ("registered_models", "name = 'it''s'", 'name = "it\'s"'),
    ],
)
def test_translations(resource: str, mlflow: str, studbook: str) -> None:
    assert to_filter(mlflow, resource) == studbook  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text",
    [
        "name = 'a' OR name = 'b'",
        "(name = 'a')",
        "name == 'a'",
        "version_number = 'x'",
        "run_id = 'a'",
        "name = 'unterminated",
        "tags. = 'a'",
        "name IN 'a'",
        "name IN ('a'",
        "tags.t ILIKE 'anchored%'",
    ],
)
def test_refusals(text: str) -> None:
    with pytest.raises(MlflowError) as refused:
        to_filter(text, "registered_models")
    assert refused.value.error_code == "INVALID_PARAMETER_VALUE"


def test_order_by() -> None:
    assert to_order_by([], "registered_models") == "name"
    assert to_order_by(["last_updated_timestamp DESC", "name"], "registered_models") == "update_time desc, name"
    assert to_order_by(["version_number asc"], "model_versions") == "number"
    parse_order_by(to_order_by(["creation_timestamp DESC"], "model_versions"), VERSION_FIELDS)
    with pytest.raises(MlflowError):
        to_order_by(["version_number sideways"], "model_versions")
