"""MLflow's search filter and order_by, parsed and translated into studbook's languages."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from studbook.daemon.domain.fields import MODEL_FIELDS, VERSION_FIELDS
from studbook.daemon.domain.filter import Comparison, Expr, Has, Pattern, Text, parse_filter
from studbook.daemon.domain.ordering import parse_order_by
from studbook.daemon.mlflow.errors import MlflowError
from studbook.daemon.mlflow.search import (
    ATTRIBUTES,
    Clause,
    Refinement,
    Translation,
    like,
    parse,
    to_order_by,
    translate,
)

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
    translated = translate(text, resource)  # type: ignore[arg-type]
    parse_filter(translated.filter, FIELDS[resource])
    # What the filter cannot say is refined, and only LIKE and ILIKE ever need it.
    likes = [c for c in items if c.op in ("LIKE", "ILIKE")]
    assert len(translated.refinements) <= len(likes)


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
    assert translate(mlflow, resource) == Translation(studbook)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("mlflow", "studbook", "refinement"),
    [
        ("run_id LIKE 'a_c'", 'run_id = "a*c"', Refinement("run_id", "", "a_c", False)),
        ("tags.t ILIKE 'Fraud%'", 'tags.t:"Fraud"', Refinement("tags", "t", "Fraud%", True)),
        (
            "source_path ILIKE 's3://B/%/m_'",
            'created_from:"s3://B/*/m"',
            Refinement("source_path", "", "s3://B/%/m_", True),
        ),
        ("name ILIKE 'Fr_ud%'", 'model = "fr*ud*"', Refinement("name", "", "Fr_ud%", True)),
        ("tags.t ILIKE '_'", 'tags.t:""', Refinement("tags", "t", "_", True)),
    ],
)
def test_patterns_beyond_studbooks_filter_are_approximated_and_refined(mlflow: str, studbook: str,
                                                                       refinement: Refinement) -> None:  # fmt: skip
    assert translate(mlflow, "model_versions") == Translation(studbook, (refinement,))


def _reference_like(pattern: str, value: str) -> bool:
    """SQL's LIKE by dynamic programming over prefixes (a different method from `like`'s)."""
    matched = [[False] * (len(value) + 1) for _ in range(len(pattern) + 1)]
    matched[0][0] = True
    for i, char in enumerate(pattern, 1):
        matched[i][0] = matched[i - 1][0] and char == "%"
        for j in range(1, len(value) + 1):
            if char == "%":
                matched[i][j] = matched[i - 1][j] or matched[i][j - 1]
            else:
                matched[i][j] = matched[i - 1][j - 1] and char in ("_", value[j - 1])
    return matched[len(pattern)][len(value)]


def _studbook_match(term: Expr, value: str | None) -> bool:
    """What studbook's store selects for one translated term: `=` with `*` anchored and case-exact,
    `:` contains in any case (SQL ILIKE '%…%'); a missing tag matches nothing."""
    if value is None:
        return False
    if isinstance(term, Comparison) and isinstance(term.value, Text):
        return value == term.value.value
    if isinstance(term, Comparison) and isinstance(term.value, Pattern):
        return re.fullmatch(".*".join(map(re.escape, term.value.parts)), value, re.DOTALL) is not None
    assert isinstance(term, Has)
    parts = term.value.parts if isinstance(term.value, Pattern) else (term.value.value,)  # type: ignore[union-attr]
    return re.search(".*".join(re.escape(p.lower()) for p in parts), value.lower(), re.DOTALL) is not None


patterns = st.text(st.sampled_from("aAbB_%.*\\"), max_size=8)
values = st.text(st.sampled_from("aAbB_%.*\\"), max_size=8)


@given(patterns, values)
def test_like_matches_exactly_what_sql_like_matches(pattern: str, value: str) -> None:
    assert like(pattern, value) == _reference_like(pattern, value)


@given(st.sampled_from(["run_id", "source_path", "tags.t", "name"]), st.sampled_from(["LIKE", "ILIKE"]), patterns,
       values | st.none())  # fmt: skip
def test_a_translated_pattern_matches_exactly_what_sql_like_matches(attribute: str, op: str, pattern: str,
                                                                    value: str | None) -> None:  # fmt: skip
    if attribute == "name":
        value = (value or "").lower()  # studbook keeps model names in lower case
    elif attribute != "tags.t" and value is None:
        value = ""  # only a tag can be missing
    quoted = "'" + pattern.replace("\\", "\\\\").replace("'", "''") + "'"
    translation = translate(f"{attribute} {op} {quoted}", "model_versions")
    term = parse_filter(translation.filter, VERSION_FIELDS)
    reference = value is not None and (
        _reference_like(pattern.lower(), value.lower()) if op == "ILIKE" else _reference_like(pattern, value)
    )

    selected = _studbook_match(term, value)  # type: ignore[arg-type]
    refined = selected and all(r.matches(value) for r in translation.refinements)

    assert refined == reference
    assert selected or not reference  # studbook's filter never loses a match


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
    ],
)
def test_refusals(text: str) -> None:
    with pytest.raises(MlflowError) as refused:
        translate(text, "registered_models")
    assert refused.value.error_code == "INVALID_PARAMETER_VALUE"


def test_order_by() -> None:
    assert to_order_by([], "registered_models") == "name"
    assert to_order_by(["last_updated_timestamp DESC", "name"], "registered_models") == "update_time desc, name"
    assert to_order_by(["version_number asc"], "model_versions") == "number"
    parse_order_by(to_order_by(["creation_timestamp DESC"], "model_versions"), VERSION_FIELDS)
    with pytest.raises(MlflowError):
        to_order_by(["version_number sideways"], "model_versions")
