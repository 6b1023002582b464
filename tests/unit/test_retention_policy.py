"""Retention in the policy file: `[models.retention]` parses into keep_last and purge_after, and
every mistake is refused naming its key."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from studbook.daemon.domain.errors import InvalidArgument
from studbook.daemon.domain.policy import DEFAULT_PURGE_AFTER, Retention, parse_policy

POLICY = """
[[models]]
pattern = "fraud-*"
[models.gates.production]
approvals = 1
[models.retention]
keep_last = 20
purge_after = "36h"

[[models]]
pattern = "scratch-*"
[models.retention]
keep_last = 1

[[models]]
pattern = "*"
"""


def test_each_entry_carries_its_own_retention():
    policy = parse_policy(POLICY)

    assert policy.for_model("fraud-eu").retention == Retention(20, timedelta(hours=36))
    assert policy.for_model("fraud-eu").gates_for("production").approvals == 1
    assert policy.for_model("scratch-1").retention == Retention(1, DEFAULT_PURGE_AFTER)
    assert DEFAULT_PURGE_AFTER == timedelta(days=7)


def test_a_model_whose_first_match_has_no_retention_and_an_unmatched_model_keep_every_version():
    policy = parse_policy(POLICY)

    assert policy.for_model("churn").retention is None
    assert parse_policy("").for_model("anything").retention is None


def test_the_first_match_decides_even_when_a_later_entry_has_retention():
    policy = parse_policy("[[models]]\npattern = 'a*'\n[[models]]\npattern = '*'\n[models.retention]\nkeep_last = 3\n")

    assert policy.for_model("abc").retention is None
    assert policy.for_model("bcd").retention == Retention(3)


@pytest.mark.parametrize(("text", "seconds"), [("0s", 0), ("90s", 90), ("30m", 1800), ("12h", 43200), ("7d", 604800),
                                              (" 2 d ", 172800)])  # fmt: skip
def test_purge_after_takes_seconds_minutes_hours_or_days(text: str, seconds: int):
    policy = parse_policy(f"[[models]]\npattern = '*'\n[models.retention]\nkeep_last = 2\npurge_after = '{text}'\n")

    assert policy.for_model("m").retention == Retention(2, timedelta(seconds=seconds))


@pytest.mark.parametrize(
    ("table", "key", "says"),
    [
        ("retention = 3", "models[0].retention", "must be a table"),
        ("[models.retention]\npurge_after = '1d'", "models[0].retention.keep_last", "is required"),
        ("[models.retention]\nkeep_last = 0", "models[0].retention.keep_last", "from 1 to"),
        ("[models.retention]\nkeep_last = -4", "models[0].retention.keep_last", "from 1 to"),
        ("[models.retention]\nkeep_last = 1000001", "models[0].retention.keep_last", "from 1 to"),
        ("[models.retention]\nkeep_last = 2.5", "models[0].retention.keep_last", "integer"),
        ("[models.retention]\nkeep_last = true", "models[0].retention.keep_last", "integer"),
        ("[models.retention]\nkeep_last = '20'", "models[0].retention.keep_last", "integer"),
        ("[models.retention]\nkeep_last = 2\npurge_after = 3600", "models[0].retention.purge_after", "duration"),
        ("[models.retention]\nkeep_last = 2\npurge_after = '7 days'", "models[0].retention.purge_after", "duration"),
        ("[models.retention]\nkeep_last = 2\npurge_after = '-1d'", "models[0].retention.purge_after", "duration"),
        ("[models.retention]\nkeep_last = 2\npurge_after = '3651d'", "models[0].retention.purge_after", "3650 days"),
        ("[models.retention]\nkeep_last = 2\nkeep = 3", "models[0].retention.keep", "unknown key"),
    ],
)
def test_each_mistake_is_refused_naming_its_key(table: str, key: str, says: str):
    with pytest.raises(InvalidArgument) as raised:
        parse_policy(f"[[models]]\npattern = 'a'\n{table}\n")

    assert raised.value.reason == "INVALID_POLICY"
    assert raised.value.metadata["key"] == key
    assert key in raised.value.message and says in raised.value.message


@given(keep=st.integers(1, 1_000_000), amount=st.integers(0, 3650), unit=st.sampled_from("smhd"))
def test_any_valid_retention_round_trips(keep: int, amount: int, unit: str):
    seconds = amount * {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit]
    document = f"[[models]]\npattern = '*'\n[models.retention]\nkeep_last = {keep}\npurge_after = '{amount}{unit}'\n"

    parsed = parse_policy(document).for_model("m").retention

    assert parsed == Retention(keep, timedelta(seconds=seconds))
