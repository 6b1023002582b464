"""The policy parser: the documented shape parses, every malformed part is named in the error."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from studbook.daemon.domain.errors import InvalidArgument
from studbook.daemon.domain.policy import (
    EMPTY_POLICY,
    NO_GATES,
    HolderMetric,
    MetricThreshold,
    parse_policy,
)

FULL = """
[[models]]
pattern = "fraud-*"
stages = ["staging", "production"]

[models.gates.production]
require = ["model_card", "signature", "environment", "dataset", "tag:team"]
metrics = ["auc >= 0.90", "loss <= 0.3@validation", "metrics.f1 > 0.5"]
beat_holder = ["auc", "-loss@validation"]
tolerance = 0.01
signature_compatible = true
verify_files = true
name_pattern = "^fraud-[a-z]+$"
approvals = 2

[[models]]
pattern = "*"
"""


def test_the_documented_shape_parses_into_records():
    policy = parse_policy(FULL)

    gates = policy.for_model("fraud-eu").gates_for("production")
    assert policy.for_model("fraud-eu").stages == ("staging", "production")
    assert gates.require == ("model_card", "signature", "environment", "dataset", "tag:team")
    assert gates.metrics == (
        MetricThreshold("auc", ">=", 0.90),
        MetricThreshold("loss", "<=", 0.3, "validation"),
        MetricThreshold("f1", ">", 0.5),
    )
    assert gates.beat_holder == (HolderMetric("auc"), HolderMetric("loss", "validation", lower_is_better=True))
    assert (gates.tolerance, gates.signature_compatible, gates.verify_files, gates.approvals) == (0.01, True, True, 2)
    assert gates.name_pattern == "^fraud-[a-z]+$"


def test_the_first_matching_entry_wins_and_unmatched_models_get_no_gates():
    policy = parse_policy(FULL)

    assert policy.for_model("churn").pattern == "*"
    assert policy.for_model("churn").gates_for("production") == NO_GATES
    assert policy.for_model("fraud-eu").gates_for("staging") == NO_GATES
    assert parse_policy("").for_model("anything").stages is None
    assert EMPTY_POLICY.for_model("x").gates == {}


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("models = [", "(document)"),
        ("other = 1", "other"),
        ("models = 3", "models"),
        ("[[models]]\nstages = []", "models[0].pattern"),
        ("[[models]]\npattern = 1", "models[0].pattern"),
        ("[[models]]\npattern = 'a'\ncolour = 'x'", "models[0].colour"),
        ("[[models]]\npattern = 'a'\nstages = 'prod'", "models[0].stages"),
        ("[[models]]\npattern = 'a'\nstages = ['p', 'p']", "models[0].stages"),
        ("[[models]]\npattern = 'a'\ngates = 1", "models[0].gates"),
        ("[[models]]\npattern = 'a'\n[models.gates]\nprod = 1", "models[0].gates.prod"),
        ("[[models]]\npattern = 'a'\nstages = ['s']\n[models.gates.p]\napprovals = 1", "models[0].gates.p"),
        ("[[models]]\npattern = 'a'\n[models.gates.p]\nthreshold = 1", "models[0].gates.p.threshold"),
        ("[[models]]\npattern = 'a'\n[models.gates.p]\nrequire = ['card']", "models[0].gates.p.require[0]"),
        ("[[models]]\npattern = 'a'\n[models.gates.p]\nrequire = ['tag:']", "models[0].gates.p.require[0]"),
        ("[[models]]\npattern = 'a'\n[models.gates.p]\nrequire = 'model_card'", "models[0].gates.p.require"),
        ("[[models]]\npattern = 'a'\n[models.gates.p]\nmetrics = ['auc 0.9']", "models[0].gates.p.metrics[0]"),
        ("[[models]]\npattern = 'a'\n[models.gates.p]\nmetrics = ['auc >= x']", "models[0].gates.p.metrics[0]"),
        ("[[models]]\npattern = 'a'\n[models.gates.p]\nmetrics = ['auc >= nan']", "models[0].gates.p.metrics[0]"),
        ("[[models]]\npattern = 'a'\n[models.gates.p]\nmetrics = [1]", "models[0].gates.p.metrics[0]"),
        ("[[models]]\npattern = 'a'\n[models.gates.p]\nbeat_holder = ['a b']", "models[0].gates.p.beat_holder[0]"),
        ("[[models]]\npattern = 'a'\n[models.gates.p]\ntolerance = -1", "models[0].gates.p.tolerance"),
        ("[[models]]\npattern = 'a'\n[models.gates.p]\ntolerance = 'x'", "models[0].gates.p.tolerance"),
        ("[[models]]\npattern = 'a'\n[models.gates.p]\nverify_files = 1", "models[0].gates.p.verify_files"),
        ("[[models]]\npattern = 'a'\n[models.gates.p]\nsignature_compatible = 'y'", "models[0].gates.p.signature_compatible"),
        ("[[models]]\npattern = 'a'\n[models.gates.p]\nname_pattern = '('", "models[0].gates.p.name_pattern"),
        ("[[models]]\npattern = 'a'\n[models.gates.p]\napprovals = -1", "models[0].gates.p.approvals"),
        ("[[models]]\npattern = 'a'\n[models.gates.p]\napprovals = true", "models[0].gates.p.approvals"),
        ("[[models]]\npattern = 'a'\n[models.gates.p]\napprovals = 1.5", "models[0].gates.p.approvals"),
    ],
)
def test_each_malformed_part_is_refused_naming_where_it_is(text, key):
    with pytest.raises(InvalidArgument) as raised:
        parse_policy(text)

    assert raised.value.reason == "INVALID_POLICY"
    assert raised.value.metadata["key"] == key
    if key != "(document)":
        assert key in raised.value.message


@given(
    key=st.from_regex(r"[a-z_][a-z0-9_.]{0,10}", fullmatch=True).filter(lambda k: not k.startswith("metrics.")),
    op=st.sampled_from([">=", ">", "<=", "<", "=="]),
    value=st.floats(allow_nan=False, allow_infinity=False, width=32),
    split=st.one_of(st.just(""), st.from_regex(r"[a-z]{1,8}", fullmatch=True)),
)
def test_any_well_formed_threshold_round_trips(key, op, value, split):
    text = f"{key} {op} {value!r}" + (f"@{split}" if split else "")
    document = f"[[models]]\npattern = '*'\n[models.gates.p]\nmetrics = [{text!r}]".replace("'", '"')

    parsed = parse_policy(document).for_model("m").gates_for("p").metrics[0]

    assert parsed == MetricThreshold(key, op, float(value), split)


@given(st.text(max_size=200))
def test_arbitrary_text_either_parses_or_fails_with_invalid_policy(text):
    try:
        parse_policy(text)
    except InvalidArgument as error:
        assert error.reason == "INVALID_POLICY"
