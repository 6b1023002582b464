"""The pure monitor: findings over a holder's newest windows, the breach/recovery state machine,
and the ranking of earlier holders with its one-line summary."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st
from studbook.daemon.domain.monitors import (
    Basis,
    DriftWindow,
    EarlierHolder,
    Stretch,
    Transition,
    check_rules,
    decide,
    rank_holders,
    summary,
)
from studbook.daemon.domain.policy import HolderMetric, parse_policy

T0 = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)


def monitor(body: str):
    return (
        parse_policy(f"[[models]]\npattern = '*'\n[models.monitors.production]\n{body}\n")
        .for_model("m")
        .monitors["production"]
    )


def test_a_threshold_counts_the_consecutive_windows_in_breach_from_the_newest():
    found = check_rules(monitor("metrics = ['auc >= 0.9']"), {}, {"auc": [0.85, 0.88, 0.95, 0.80]}, [])

    assert len(found) == 1
    assert (found[0].subject, found[0].observed, found[0].threshold) == ("auc", 0.85, 0.9)
    assert (found[0].breached, found[0].windows_in_breach, found[0].windows_passing) == (True, 2, 0)


def test_a_relative_drop_compares_with_the_versions_own_evaluation_metric():
    rule = monitor("metrics = ['auc drop > 3%']")

    dropped = check_rules(rule, {"auc": 0.95}, {"auc": [0.90]}, [])[0]
    held = check_rules(rule, {"auc": 0.95}, {"auc": [0.93]}, [])[0]

    assert dropped.breached and not held.breached
    assert abs(dropped.threshold - 0.95 * 0.97) < 1e-12


def test_an_absolute_rise_breaches_above_the_evaluation_figure_plus_the_amount():
    rule = monitor("metrics = ['latency_ms rise > 20']")

    assert check_rules(rule, {"latency_ms": 100}, {"latency_ms": [121]}, [])[0].breached
    assert not check_rules(rule, {"latency_ms": 100}, {"latency_ms": [119]}, [])[0].breached


def test_a_rule_without_windows_or_without_an_evaluation_reference_says_nothing():
    rule = monitor("metrics = ['auc drop > 3%', 'f1 > 0.5']")

    assert check_rules(rule, {}, {"auc": [0.1]}, []) == []


def test_a_drift_rule_names_the_feature_that_breached_most_in_the_newest_window():
    windows = [DriftWindow(T0, 0.4, 0.1, "age", "country"), DriftWindow(T0 - timedelta(hours=1), 0.3, 0.1, "age", "")]

    psi, ks = check_rules(monitor("drift = ['psi > 0.2', 'ks > 0.3']"), {}, {}, windows)

    assert (psi.subject, psi.observed, psi.breached, psi.windows_in_breach) == ("age", 0.4, True, 2)
    assert (ks.subject, ks.breached, ks.windows_passing) == ("country", False, 2)


def test_a_nan_figure_counts_as_a_breach():
    assert check_rules(monitor("metrics = ['auc >= 0.9']"), {}, {"auc": [float("nan")]}, [])[0].breached


@given(st.integers(1, 4), st.lists(st.booleans(), max_size=30))
def test_the_state_machine_follows_consecutive_windows(windows, series):
    """Feeding windows one at a time (newest first to the evaluator) matches a direct count:
    detected exactly when a run of `windows` breaches completes while ok, cleared exactly when a
    run of `windows` passes completes while breached."""
    rule = monitor(f"metrics = ['auc >= 0.5']\nwindows = {windows}")
    breached = False
    seen: list[float] = []
    for step, bad in enumerate(series):
        seen.insert(0, 0.1 if bad else 0.9)
        verdict = decide(breached, False, check_rules(rule, {}, {"auc": seen[:windows]}, []), windows)
        recent = series[max(0, step + 1 - windows) : step + 1]
        full = len(recent) == windows
        if not breached and full and all(recent):
            assert verdict.transition is Transition.DETECTED
        elif breached and full and not any(recent):
            assert verdict.transition is Transition.CLEARED and verdict.cause == "recovered"
        else:
            assert verdict.transition is Transition.NONE
        breached = verdict.breached


@given(st.lists(st.booleans(), max_size=5))
def test_a_new_holder_clears_a_breach_whatever_its_windows_say(flags):
    rule = monitor("metrics = ['auc >= 0.5']")
    found = check_rules(rule, {}, {"auc": [0.1 if f else 0.9 for f in flags]}, [])

    verdict = decide(True, True, found, 1)

    assert (verdict.transition, verdict.cause) == (Transition.CLEARED, "holder changed")


def test_a_breach_stays_while_one_rule_still_fails_though_another_recovered():
    rule = monitor("metrics = ['auc >= 0.5', 'f1 >= 0.5']")
    found = check_rules(rule, {}, {"auc": [0.9], "f1": [0.1]}, [])

    assert decide(True, False, found, 1).transition is Transition.NONE


def tenure(days_ago_start: int, days_ago_end: int | None) -> tuple[Stretch, ...]:
    end = None if days_ago_end is None else T0 - timedelta(days=days_ago_end)
    return (Stretch(T0 - timedelta(days=days_ago_start), end),)


def test_production_records_rank_first_by_value_and_evaluation_fills_in_for_holders_without_one():
    holders = [
        EarlierHolder(11, tenure(5, 1), production=0.88, evaluation=0.99),
        EarlierHolder(7, tenure(30, 20), production=0.93, evaluation=0.90),
        EarlierHolder(3, tenure(60, 50), production=None, evaluation=0.91),
        EarlierHolder(2, tenure(90, 80), production=None, evaluation=None),
    ]

    ranked = rank_holders(holders, HolderMetric("auc"))

    assert [(r.number, r.basis) for r in ranked] == [
        (7, Basis.PRODUCTION), (3, Basis.EVALUATION), (11, Basis.PRODUCTION), (2, Basis.NONE)
    ]  # fmt: skip


def test_lower_is_better_reverses_the_order_and_ties_go_to_the_newest_holder():
    holders = [
        EarlierHolder(4, tenure(30, 20), production=50.0, evaluation=None),
        EarlierHolder(5, tenure(10, 5), production=50.0, evaluation=None),
        EarlierHolder(6, tenure(4, 2), production=80.0, evaluation=None),
    ]

    assert [r.number for r in rank_holders(holders, HolderMetric("latency_ms", lower_is_better=True))] == [5, 4, 6]


@given(st.lists(st.tuples(st.integers(1, 50), st.one_of(st.none(), st.floats(0, 1))), unique_by=lambda h: h[0],
                max_size=8))  # fmt: skip
def test_the_ranking_keeps_every_holder_and_the_best_figure_leads(items):
    holders = [EarlierHolder(n, tenure(100 - n, 99 - n), v, None) for n, v in items]

    ranked = rank_holders(holders, HolderMetric("auc"))

    assert sorted(r.number for r in ranked) == sorted(n for n, _ in items)
    figures = [v for _, v in items if v is not None]
    if figures:
        assert ranked[0].value == max(figures)


def test_the_summary_names_the_candidate_its_tenure_and_both_commands():
    candidate = rank_holders([EarlierHolder(7, tenure(30, 20), 0.93, None)], HolderMetric("auc"))[0]

    text = summary("fraud", "production", candidate, "auc", rollback_brings_back=11, holder=12)

    assert text == (
        "v7 held production from 2026-10-03 14:00 to 2026-10-13 14:00 with auc 0.93; "
        "`studbook rollback fraud production` brings back v11, `studbook promote fraud@7 production` brings back v7"
    )


def test_the_summary_says_so_when_a_plain_rollback_brings_back_the_candidate():
    candidate = rank_holders([EarlierHolder(11, tenure(5, 1), 0.93, None)], HolderMetric("auc"))[0]

    assert summary("fraud", "production", candidate, "auc", 11, 12).endswith(
        "`studbook rollback fraud production` brings it back"
    )
    assert (
        summary("fraud", "production", None, "auc", None, 12) == "production of fraud has no earlier holder to put back"
    )


def test_the_rank_key_comes_from_the_request_then_rank_by_then_the_first_metric_rule_then_key_metrics():
    from studbook.daemon.domain.monitors import rank_key

    ranked = monitor("metrics = ['auc >= 0.9']\nrank_by = '-latency_ms'")
    bounded_above = monitor("metrics = ['latency_ms <= 80', 'auc >= 0.9']")
    rising = monitor("metrics = ['latency_ms rise > 10%']")
    drift_only = monitor("drift = ['psi > 0.2']")

    assert rank_key(ranked, ["auc"], "f1") == HolderMetric("f1")
    assert rank_key(ranked, ["auc"], "-loss") == HolderMetric("loss", lower_is_better=True)
    assert rank_key(ranked, ["auc"]) == HolderMetric("latency_ms", lower_is_better=True)
    assert rank_key(bounded_above, ["auc"]) == HolderMetric("latency_ms", lower_is_better=True)
    assert rank_key(rising, []) == HolderMetric("latency_ms", lower_is_better=True)
    assert rank_key(drift_only, ["-loss", "auc"]) == HolderMetric("loss", lower_is_better=True)
    assert rank_key(None, []) is None
