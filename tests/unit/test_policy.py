"""The policy parser: the documented shape parses, every malformed part is named in the error."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from studbook.daemon.domain.errors import InvalidArgument
from studbook.daemon.domain.policy import (
    DEFAULT_APPROVER_STAGES,
    EMPTY_POLICY,
    GATE_KINDS,
    NO_GATES,
    HolderMetric,
    MetricThreshold,
    StageGates,
    parse_policy,
)
from studbook.daemon.domain.safety import DEFAULT_FORBIDDEN_FLAGS

FULL = """
approver_stages = ["production", "canary"]

[[models]]
pattern = "fraud-*"
stages = ["staging", "production"]

[models.gates.production]
from = ["staging", "none"]
require = ["model_card", "signature", "environment", "dataset", "tag:team"]
metrics = ["auc >= 0.90", "loss <= 0.3@validation", "metrics.f1 > 0.5"]
beat_holder = ["auc", "-loss@validation"]
tolerance = 0.01
signature_compatible = true
verify_files = true
name_pattern = "^fraud-[a-z]+$"
approvals = 2
rollback_skips = ["beat_holder", "verify_files"]

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
    assert gates.from_stages == ("staging", "none")
    assert gates.rollback_skips == ("beat_holder", "verify_files")
    assert policy.approver_stages == {"production", "canary"}


def test_the_first_matching_entry_wins_and_unmatched_models_get_only_the_production_flag_gate():
    policy = parse_policy(FULL)

    assert policy.for_model("churn").pattern == "*"
    assert policy.for_model("churn").gates_for("production") == StageGates(forbid_flags=DEFAULT_FORBIDDEN_FLAGS)
    assert policy.for_model("fraud-eu").gates_for("staging") == NO_GATES
    assert parse_policy("").for_model("anything").stages is None
    assert EMPTY_POLICY.for_model("x").gates == {}


def test_without_the_new_keys_any_stage_may_be_left_and_a_rollback_skips_every_gate():
    gates = (
        parse_policy("[[models]]\npattern = '*'\n[models.gates.production]\napprovals = 1\n")
        .for_model("m")
        .gates_for("production")
    )

    assert gates.from_stages == ()
    assert gates.rollback_skips == ("*",)
    assert NO_GATES.rollback_skips == ("*",)


def test_from_may_name_any_stage_when_the_entry_declares_none():
    policy = parse_policy("[[models]]\npattern = '*'\n[models.gates.production]\nfrom = ['qa', 'canary-2']\n")

    assert policy.for_model("m").gates_for("production").from_stages == ("qa", "canary-2")


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
        (
            "[[models]]\npattern = 'a'\n[models.gates.p]\nsignature_compatible = 'y'",
            "models[0].gates.p.signature_compatible",
        ),
        ("[[models]]\npattern = 'a'\n[models.gates.p]\nname_pattern = '('", "models[0].gates.p.name_pattern"),
        ("[[models]]\npattern = 'a'\n[models.gates.p]\napprovals = -1", "models[0].gates.p.approvals"),
        ("[[models]]\npattern = 'a'\n[models.gates.p]\napprovals = true", "models[0].gates.p.approvals"),
        ("[[models]]\npattern = 'a'\n[models.gates.p]\napprovals = 1.5", "models[0].gates.p.approvals"),
        ("[[models]]\npattern = 'a'\n[models.gates.p]\nfrom = 'staging'", "models[0].gates.p.from"),
        ("[[models]]\npattern = 'a'\n[models.gates.p]\nfrom = []", "models[0].gates.p.from"),
        ("[[models]]\npattern = 'a'\n[models.gates.p]\nfrom = [1]", "models[0].gates.p.from[0]"),
        ("[[models]]\npattern = 'a'\n[models.gates.p]\nfrom = ['']", "models[0].gates.p.from[0]"),
        ("[[models]]\npattern = 'a'\n[models.gates.p]\nfrom = ['Staging']", "models[0].gates.p.from[0]"),
        ("[[models]]\npattern = 'a'\n[models.gates.p]\nfrom = ['latest']", "models[0].gates.p.from[0]"),
        ("[[models]]\npattern = 'a'\n[models.gates.p]\nfrom = ['s', 'none', 's']", "models[0].gates.p.from[2]"),
        (
            "[[models]]\npattern = 'a'\nstages = ['s', 'p']\n[models.gates.p]\nfrom = ['s', 'qa']",
            "models[0].gates.p.from[1]",
        ),
        ("[[models]]\npattern = 'a'\n[models.gates.p]\nrollback_skips = '*'", "models[0].gates.p.rollback_skips"),
        ("[[models]]\npattern = 'a'\n[models.gates.p]\nrollback_skips = [true]", "models[0].gates.p.rollback_skips[0]"),
        (
            "[[models]]\npattern = 'a'\n[models.gates.p]\nrollback_skips = ['metrics', 'metric']",
            "models[0].gates.p.rollback_skips[1]",
        ),
        (
            "[[models]]\npattern = 'a'\n[models.gates.p]\nrollback_skips = ['approvals']",
            "models[0].gates.p.rollback_skips[0]",
        ),
        (
            "[[models]]\npattern = 'a'\n[models.gates.p]\nrollback_skips = ['tolerance']",
            "models[0].gates.p.rollback_skips[0]",
        ),
        (
            "[[models]]\npattern = 'a'\n[models.gates.p]\nrollback_skips = ['from', 'from']",
            "models[0].gates.p.rollback_skips[1]",
        ),
        ("approver_stages = 'production'", "approver_stages"),
        ("approver_stages = [1]", "approver_stages[0]"),
        ("approver_stages = ['']", "approver_stages[0]"),
        ("approver_stages = ['Production']", "approver_stages[0]"),
        ("approver_stages = ['prod', 'latest']", "approver_stages[1]"),
        ("approver_stages = ['prod', 'prod']", "approver_stages[1]"),
        ("[approver_stages]\nprod = true", "approver_stages"),
    ],
)
def test_each_malformed_part_is_refused_naming_where_it_is(text, key):
    with pytest.raises(InvalidArgument) as raised:
        parse_policy(text)

    assert raised.value.reason == "INVALID_POLICY"
    assert raised.value.metadata["key"] == key
    if key != "(document)":
        assert key in raised.value.message


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (
            "stages = ['s', 'p']\n[models.gates.p]\nfrom = ['qa']",
            "names stage 'qa', which is not in models[0].stages (s, p)",
        ),
        ("[models.gates.p]\nfrom = []", "leave the key out to allow any"),
        ("[models.gates.p]\nrollback_skips = ['approvals']", "approvals are always skipped by a rollback"),
        ("[models.gates.p]\nrollback_skips = ['metric']", 'use "*" or any of from, require, metrics, beat_holder'),
    ],
)
def test_the_new_keys_say_how_to_fix_a_mistake(text, says):
    with pytest.raises(InvalidArgument) as raised:
        parse_policy("[[models]]\npattern = 'a'\n" + text)

    assert says in raised.value.message


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


@given(st.lists(st.from_regex(r"[a-z][a-z0-9._-]{0,12}", fullmatch=True).filter(lambda s: s != "latest"),
                min_size=1, max_size=5, unique=True))  # fmt: skip
def test_any_list_of_distinct_stage_names_is_a_valid_from(stages):
    document = f"[[models]]\npattern = '*'\n[models.gates.p]\nfrom = {stages!r}\n"

    parsed = parse_policy(document).for_model("m").gates_for("p").from_stages

    assert parsed == tuple(stages)


@given(
    declared=st.lists(st.sampled_from(["dev", "qa", "staging", "production"]), min_size=1, unique=True),
    wanted=st.lists(st.sampled_from(["dev", "qa", "staging", "production", "none"]), min_size=1, unique=True),
)
def test_with_declared_stages_from_accepts_exactly_those_and_none(declared, wanted):
    document = f"[[models]]\npattern = '*'\nstages = {declared!r}\n[models.gates.{declared[0]}]\nfrom = {wanted!r}\n"
    strangers = [i for i, stage in enumerate(wanted) if stage != "none" and stage not in declared]

    try:
        parsed = parse_policy(document).for_model("m").gates_for(declared[0]).from_stages
    except InvalidArgument as error:
        assert strangers, error.message
        assert error.metadata["key"] == f"models[0].gates.{declared[0]}.from[{strangers[0]}]"
    else:
        assert not strangers
        assert parsed == tuple(wanted)


@given(st.lists(st.sampled_from(["*", *GATE_KINDS]), unique=True))
def test_any_distinct_gate_kinds_are_valid_rollback_skips(kinds):
    document = f"[[models]]\npattern = '*'\n[models.gates.p]\nrollback_skips = {kinds!r}\n"

    parsed = parse_policy(document).for_model("m").gates_for("p").rollback_skips

    assert parsed == tuple(kinds)


@given(st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=20)
       .filter(lambda s: s not in ("*", *GATE_KINDS)))  # fmt: skip
def test_any_other_rollback_skip_is_refused_naming_the_item(item):
    escaped = "".join(f"\\U{ord(ch):08x}" for ch in item)  # TOML reads it back exactly, whatever it holds
    document = f'[[models]]\npattern = "*"\n[models.gates.p]\nrollback_skips = ["metrics", "{escaped}"]\n'

    with pytest.raises(InvalidArgument) as raised:
        parse_policy(document)

    assert raised.value.reason == "INVALID_POLICY"
    assert raised.value.metadata["key"] == "models[0].gates.p.rollback_skips[1]"


def test_without_approver_stages_production_needs_an_approver_and_an_empty_list_means_none_does():
    assert parse_policy("[[models]]\npattern = '*'\n").approver_stages == DEFAULT_APPROVER_STAGES == {"production"}
    assert EMPTY_POLICY.approver_stages == {"production"}
    assert parse_policy("approver_stages = []\n").approver_stages == frozenset()


def test_approver_stages_says_how_to_fix_a_bad_item():
    with pytest.raises(InvalidArgument) as raised:
        parse_policy("approver_stages = ['prod', 'Live']\n")

    assert "approver_stages[1] 'Live' is not a stage name" in raised.value.message


@given(st.lists(st.from_regex(r"[a-z][a-z0-9._-]{0,12}", fullmatch=True).filter(lambda s: s != "latest"),
                max_size=5, unique=True))  # fmt: skip
def test_any_list_of_distinct_stage_names_is_valid_approver_stages(stages):
    parsed = parse_policy(f"approver_stages = {stages!r}\n").approver_stages

    assert parsed == frozenset(stages)


@given(st.text(st.characters(exclude_categories=("Cs",)), max_size=20)
       .filter(lambda s: re.fullmatch(r"[a-z][a-z0-9._-]{0,63}", s) is None))  # fmt: skip
def test_any_other_approver_stage_is_refused_naming_the_item(item):
    escaped = "".join(f"\\U{ord(ch):08x}" for ch in item)  # TOML reads it back exactly, whatever it holds
    document = f'approver_stages = ["production", "{escaped}"]\n'

    with pytest.raises(InvalidArgument) as raised:
        parse_policy(document)

    assert raised.value.reason == "INVALID_POLICY"
    assert raised.value.metadata["key"] == "approver_stages[1]"


def test_production_forbids_code_running_flags_unless_an_entry_says_otherwise():
    policy = parse_policy("""
[[models]]
pattern = "fraud-*"
[models.gates.production]
approvals = 1
[models.gates.staging]
approvals = 1

[[models]]
pattern = "lab-*"
[models.gates.production]
forbid_flags = []

[[models]]
pattern = "strict-*"
[models.gates.staging]
forbid_flags = ["unknown-global:*", "lambda-layer"]
""")

    assert policy.for_model("fraud-eu").gates_for("production").forbid_flags == DEFAULT_FORBIDDEN_FLAGS
    assert policy.for_model("fraud-eu").gates_for("staging").forbid_flags == ()
    assert policy.for_model("lab-x").gates_for("production").forbid_flags == ()
    assert policy.for_model("strict-x").gates_for("staging").forbid_flags == ("unknown-global:*", "lambda-layer")
    assert policy.for_model("strict-x").gates_for("production").forbid_flags == DEFAULT_FORBIDDEN_FLAGS


def test_forbid_flags_must_be_a_list_of_patterns():
    with pytest.raises(InvalidArgument) as caught:
        parse_policy('[[models]]\npattern = "*"\n[models.gates.production]\nforbid_flags = "dangerous-*"\n')

    assert caught.value.metadata["key"] == "models[0].gates.production.forbid_flags"
