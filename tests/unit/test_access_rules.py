"""The access rules on their own: roles, bearer tokens, token checks and the denial budget."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from studbook.daemon.app.access import DenialBudget
from studbook.daemon.domain.access import (
    TCP,
    Caller,
    Role,
    Token,
    check_method,
    check_token,
    hash_secret,
    parse_bearer,
    promote_role,
    rollback_role,
    validate_display_name,
)
from studbook.daemon.domain.errors import InvalidArgument, PermissionDenied, Unauthenticated
from studbook.daemon.domain.policy import DEFAULT_APPROVER_STAGES

T0 = datetime(2026, 1, 1, tzinfo=UTC)
SECRET = "sbk_0123456789ab_" + "s" * 43


def token(**changes: object) -> Token:
    fields: dict[str, object] = dict(id="0123456789ab", display_name="ci", role=Role.CONTRIBUTOR,
                                     secret_hash=hash_secret(SECRET), create_time=T0, creator="ana")  # fmt: skip
    fields.update(changes)
    return Token(**fields)  # type: ignore[arg-type]


def test_roles_are_ordered_and_parsed_by_name() -> None:
    assert Role.VIEWER < Role.CONTRIBUTOR < Role.MAINTAINER < Role.APPROVER < Role.ADMIN
    assert Role.parse(" Approver ") is Role.APPROVER


@pytest.mark.parametrize("text", ["none", "root", "", "ADMINS"])
def test_only_grantable_roles_parse(text: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        Role.parse(text)

    assert caught.value.reason == "INVALID_ROLE"


def test_a_bearer_header_yields_the_token_id() -> None:
    assert parse_bearer(f"Bearer {SECRET}") == ("0123456789ab", SECRET)
    assert parse_bearer(f"bearer  {SECRET} ") == ("0123456789ab", SECRET)


@given(st.text(max_size=200))
def test_any_other_header_is_malformed_never_a_crash(header: str) -> None:
    try:
        token_id, whole = parse_bearer(header)
    except Unauthenticated as error:
        assert error.reason == "TOKEN_MALFORMED"
    else:
        assert whole.startswith(f"sbk_{token_id}_")


@given(st.text(max_size=80))
def test_display_names_are_short_lowercase_words(name: str) -> None:
    try:
        validate_display_name(name)
    except InvalidArgument:
        return
    assert 1 <= len(name) <= 64 and name == name.lower() and name[0].isalnum()


def test_a_good_token_stands_for_its_holder() -> None:
    caller = check_token(token(), SECRET, T0, TCP)

    assert caller == Caller("ci", Role.CONTRIBUTOR, TCP, "0123456789ab")


@pytest.mark.parametrize(
    "found, presented, reason",
    [
        (None, SECRET, "TOKEN_UNKNOWN"),
        (token(), SECRET[:-1] + "t", "TOKEN_UNKNOWN"),
        (token(revoke_time=T0), SECRET, "TOKEN_REVOKED"),
        (token(expire_time=T0), SECRET, "TOKEN_EXPIRED"),
    ],
)
def test_a_token_that_cannot_be_used_says_why(found: Token | None, presented: str, reason: str) -> None:
    with pytest.raises(Unauthenticated) as caught:
        check_token(found, presented, T0, TCP)

    assert caught.value.reason == reason


def test_a_token_works_until_its_expiry() -> None:
    assert check_token(token(expire_time=T0 + timedelta(seconds=1)), SECRET, T0, TCP).actor == "ci"


def test_a_method_outside_the_table_is_refused_even_to_an_admin() -> None:
    with pytest.raises(PermissionDenied) as caught:
        check_method(Caller("root", Role.ADMIN), "/studbook.v1.ModelService/Sneaky")

    assert caught.value.reason == "METHOD_NOT_ALLOWED"


@pytest.mark.parametrize(
    "target, validate_only, approvals, least",
    [
        ("staging", False, 0, Role.MAINTAINER),
        ("production", False, 0, Role.APPROVER),
        ("production", False, 2, Role.MAINTAINER),  # approvers decide later
        ("production", True, 0, Role.VIEWER),
    ],
)
def test_who_may_ask_for_a_promotion(target: str, validate_only: bool, approvals: int, least: Role) -> None:
    needed = promote_role(target, validate_only=validate_only, approvals=approvals,
                          approver_stages=DEFAULT_APPROVER_STAGES)  # fmt: skip

    assert needed is least


def test_rolling_back_production_needs_an_approver() -> None:
    roles = [rollback_role(stage, DEFAULT_APPROVER_STAGES) for stage in ("production", "staging")]

    assert roles == [Role.APPROVER, Role.MAINTAINER]


@pytest.mark.parametrize(
    "target, approvals, to_promote, to_roll_back",
    [
        ("prod", 0, Role.APPROVER, Role.APPROVER),
        ("prod", 1, Role.MAINTAINER, Role.APPROVER),  # approvers decide later; a rollback never waits
        ("qa", 0, Role.APPROVER, Role.APPROVER),
        ("production", 0, Role.MAINTAINER, Role.MAINTAINER),  # not listed: an ordinary stage
    ],
)
def test_the_stages_needing_an_approver_are_the_ones_given(target: str, approvals: int, to_promote: Role,
                                                           to_roll_back: Role) -> None:  # fmt: skip
    approver_stages = frozenset({"prod", "qa"})

    promoting = promote_role(target, validate_only=False, approvals=approvals, approver_stages=approver_stages)
    rolling_back = rollback_role(target, approver_stages)

    assert (promoting, rolling_back) == (to_promote, to_roll_back)


@given(st.from_regex(r"[a-z][a-z0-9._-]{0,12}", fullmatch=True), st.integers(min_value=0, max_value=3))
def test_without_approver_stages_a_maintainer_may_promote_into_and_roll_back_any_stage(
    target: str, approvals: int
) -> None:
    promoting = promote_role(target, validate_only=False, approvals=approvals, approver_stages=frozenset())

    assert (promoting, rollback_role(target, frozenset())) == (Role.MAINTAINER, Role.MAINTAINER)


def test_the_denial_budget_allows_a_burst_then_a_rate_and_counts_the_rest() -> None:
    budget = DenialBudget(rate=2.0, burst=3)
    start = budget.last

    burst = [budget.take(start) for _ in range(5)]
    later = budget.take(start + 1.0)

    assert burst == [0, 0, 0, None, None]
    assert later == 2
