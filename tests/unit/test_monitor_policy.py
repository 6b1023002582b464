"""Monitors in the policy file: `[models.monitors.<stage>]` parses into rules, and every mistake
is refused naming its key, so a typo never leaves a stage silently unwatched."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from studbook.daemon.domain.errors import InvalidArgument
from studbook.daemon.domain.policy import DriftRule, HolderMetric, Monitor, MonitorRule, parse_policy

DOCUMENTED = """
[[models]]
pattern = "fraud-*"
[models.monitors.production]
metrics = ["auc >= 0.90", "auc drop > 3%", "latency_ms rise > 20", "metrics.f1 > 0.5"]
drift = ["psi > 0.2", "ks >= 0.3 on any feature"]
windows = 3
segment = "eu"
rank_by = "-latency_ms"
auto_rollback = true
"""


def test_the_documented_shape_parses_into_a_monitor():
    monitor = parse_policy(DOCUMENTED).for_model("fraud-eu").monitors["production"]

    assert monitor == Monitor(
        stage="production",
        metrics=(
            MonitorRule("auc >= 0.90", "auc", ">=", 0.90),
            MonitorRule("auc drop > 3%", "auc", ">", 3.0, "drop", relative=True),
            MonitorRule("latency_ms rise > 20", "latency_ms", ">", 20.0, "rise"),
            MonitorRule("metrics.f1 > 0.5", "f1", ">", 0.5),
        ),
        drift=(DriftRule("psi > 0.2", "psi", ">", 0.2), DriftRule("ks >= 0.3 on any feature", "ks", ">=", 0.3)),
        windows=3,
        segment="eu",
        rank_by=HolderMetric("latency_ms", lower_is_better=True),
        auto_rollback=True,
    )


def test_defaults_are_one_window_the_unsegmented_points_no_rank_key_and_no_auto_rollback():
    text = "[[models]]\npattern = '*'\n[models.monitors.production]\nmetrics = ['auc >= 0.9']\n"
    monitor = parse_policy(text).for_model("m").monitors["production"]

    assert (monitor.windows, monitor.segment, monitor.rank_by, monitor.auto_rollback) == (1, "", None, False)
    assert parse_policy("").for_model("m").monitors == {}


M = "[[models]]\npattern = 'a'\n"


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("monitors = 1", "models[0].monitors"),
        ("[models.monitors]\nproduction = 1", "models[0].monitors.production"),
        ("[models.monitors.production]\nmetric = ['auc > 1']", "models[0].monitors.production.metric"),
        ("[models.monitors.production]\nwindows = 2", "models[0].monitors.production"),
        ("[models.monitors.production]\nmetrics = 'auc > 1'", "models[0].monitors.production.metrics"),
        ("[models.monitors.production]\nmetrics = ['auc']", "models[0].monitors.production.metrics[0]"),
        ("[models.monitors.production]\nmetrics = ['auc > x']", "models[0].monitors.production.metrics[0]"),
        ("[models.monitors.production]\nmetrics = ['auc > 1@validation']", "models[0].monitors.production.metrics[0]"),
        ("[models.monitors.production]\nmetrics = ['auc drop < 3%']", "models[0].monitors.production.metrics[0]"),
        ("[models.monitors.production]\nmetrics = ['auc drop > -3%']", "models[0].monitors.production.metrics[0]"),
        ("[models.monitors.production]\nmetrics = ['auc > 1', 'auc > 1']", "models[0].monitors.production.metrics[1]"),
        ("[models.monitors.production]\ndrift = ['psi < 0.2']", "models[0].monitors.production.drift[0]"),
        ("[models.monitors.production]\ndrift = ['kl > 0.2']", "models[0].monitors.production.drift[0]"),
        ("[models.monitors.production]\ndrift = ['psi > inf']", "models[0].monitors.production.drift[0]"),
        ("[models.monitors.production]\ndrift = ['psi > 1']\nwindows = 0", "models[0].monitors.production.windows"),
        ("[models.monitors.production]\ndrift = ['psi > 1']\nwindows = true", "models[0].monitors.production.windows"),
        ("[models.monitors.production]\ndrift = ['psi > 1']\nsegment = 3", "models[0].monitors.production.segment"),
        (
            "[models.monitors.production]\ndrift = ['psi > 1']\nsegment = \"a\\u0007\"",
            "models[0].monitors.production.segment",
        ),
        ("[models.monitors.production]\ndrift = ['psi > 1']\nrank_by = ''", "models[0].monitors.production.rank_by"),
        (
            "[models.monitors.production]\ndrift = ['psi > 1']\nrank_by = 'auc@test'",
            "models[0].monitors.production.rank_by",
        ),
        (
            "[models.monitors.production]\ndrift = ['psi > 1']\nauto_rollback = 'yes'",
            "models[0].monitors.production.auto_rollback",
        ),
        ("[models.monitors.Production]\ndrift = ['psi > 1']", "models[0].monitors.Production"),
        ("stages = ['staging']\n[models.monitors.production]\ndrift = ['psi > 1']", "models[0].monitors.production"),
    ],
)
def test_each_malformed_part_is_refused_naming_where_it_is(text, key):
    with pytest.raises(InvalidArgument) as raised:
        parse_policy(M + text)

    assert raised.value.reason == "INVALID_POLICY"
    assert raised.value.metadata["key"] == key
    assert key in raised.value.message


def test_a_monitor_without_rules_says_what_to_give():
    with pytest.raises(InvalidArgument) as raised:
        parse_policy(M + "[models.monitors.production]\nwindows = 2")

    assert "give metrics" in raised.value.message


@given(
    key=st.from_regex(r"[a-z_][a-z0-9_.]{0,10}", fullmatch=True).filter(lambda k: not k.startswith("metrics.")),
    op=st.sampled_from([">=", ">", "<=", "<", "=="]),
    value=st.floats(allow_nan=False, allow_infinity=False, width=32),
)
def test_any_well_formed_threshold_rule_round_trips(key, op, value):
    text = f"{key} {op} {value!r}"
    document = M + f'[models.monitors.p]\nmetrics = ["{text}"]'

    assert parse_policy(document).for_model("a").monitors["p"].metrics == (MonitorRule(text, key, op, float(value)),)


@given(
    key=st.from_regex(r"[a-z_][a-z0-9_]{0,10}", fullmatch=True),
    kind=st.sampled_from(["drop", "rise"]),
    op=st.sampled_from([">=", ">"]),
    value=st.floats(min_value=0, max_value=1e6, allow_nan=False, width=32),
    percent=st.booleans(),
)
def test_any_well_formed_change_rule_round_trips(key, kind, op, value, percent):
    text = f"{key} {kind} {op} {value!r}{'%' if percent else ''}"
    document = M + f'[models.monitors.p]\nmetrics = ["{text}"]'

    rule = parse_policy(document).for_model("a").monitors["p"].metrics[0]

    assert rule == MonitorRule(text, key, op, float(value), kind, percent)


@given(st.text(st.characters(exclude_categories=("Cs",)), max_size=60))
def test_any_rule_text_either_parses_or_is_refused_naming_the_item(text):
    document = M + "[models.monitors.p]\n" + f"metrics = [{_toml_string(text)}]\ndrift = [{_toml_string(text)}]"
    try:
        parse_policy(document)
    except InvalidArgument as error:
        assert error.reason == "INVALID_POLICY"
        assert error.metadata["key"] in ("models[0].monitors.p.metrics[0]", "models[0].monitors.p.drift[0]")


def _toml_string(text: str) -> str:
    escaped = "".join(c if c.isprintable() and c not in '"\\' else f"\\U{ord(c):08x}" for c in text)
    return f'"{escaped}"'


def test_the_readme_example_parses():
    from pathlib import Path

    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    block = readme.split("### Monitors: drift and the rollback candidate", 1)[1].split("```toml\n", 1)[1]
    monitor = parse_policy(block.split("```", 1)[0]).for_model("fraud-eu").monitors["production"]

    assert [r.text for r in monitor.metrics] == ["auc >= 0.90", "auc drop > 3%"]
    assert monitor.windows == 3 and monitor.rank_by == HolderMetric("auc") and not monitor.auto_rollback
