"""Semantic versions: parsing, ordering, bumping, the derived kind of change and the next semver."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from studbook.daemon.domain.errors import AlreadyExists, InvalidArgument, OutOfRange
from studbook.daemon.domain.model import (
    ChangeKind,
    Dataset,
    ModelVersion,
    Signature,
    TensorSpec,
    TrainingConfig,
)
from studbook.daemon.domain.semver import (
    INITIAL_SEMVER,
    MAX_PART,
    SemVer,
    derive_change_kind,
    ensure_semver_unused,
    next_semver,
)

parts = st.integers(min_value=0, max_value=MAX_PART)
semvers = st.builds(SemVer, parts, parts, parts)
bump_kinds = st.sampled_from(list(ChangeKind))


def version(number: int = 1, **fields: object) -> ModelVersion:
    return ModelVersion(model="churn", number=number, **fields)  # type: ignore[arg-type]


SIGNATURE = Signature(
    inputs=(TensorSpec("age", "int64", (-1,)),),
    outputs=(TensorSpec("score", "float32", (-1,)),),
)


# --- parse / str ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.2.3", SemVer(1, 2, 3)),
        ("v1.2.3", SemVer(1, 2, 3)),
        ("0.0.0", SemVer(0, 0, 0)),
        ("999999.999999.999999", SemVer(MAX_PART, MAX_PART, MAX_PART)),
        ("10.20.30", SemVer(10, 20, 30)),
    ],
)
def test_parse_accepts_major_minor_patch(text: str, expected: SemVer) -> None:
    # execute
    parsed = SemVer.parse(text)

    # assert
    assert parsed == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "1",
        "1.2",
        "1.2.3.4",
        "1.2.3-rc1",
        "1.2.3+build5",
        "V1.2.3",
        "vv1.2.3",
        " 1.2.3",
        "1.2.3\n",
        "01.2.3",
        "1.02.3",
        "1.2.03",
        "1000000.0.0",
        "1.2.-3",
        "1..3",
        "a.b.c",
        "١.٢.٣",  # Arabic-Indic digits are digits to str.isdigit, not to a semver.
    ],
)
def test_parse_refuses_anything_else_with_invalid_semver(text: str) -> None:
    # execute
    with pytest.raises(InvalidArgument) as caught:
        SemVer.parse(text)

    # assert
    assert caught.value.reason == "INVALID_SEMVER"
    assert caught.value.metadata == {"field": "semver", "value": text}


def test_parse_error_value_is_bounded() -> None:
    # prepare
    text = "9" * 10_000

    # execute
    with pytest.raises(InvalidArgument) as caught:
        SemVer.parse(text)

    # assert
    assert len(caught.value.metadata["value"]) == 100


@pytest.mark.parametrize("part", [-1, MAX_PART + 1, True])
def test_constructor_enforces_bounds(part: int) -> None:
    # execute
    with pytest.raises(InvalidArgument) as caught:
        SemVer(1, part, 0)

    # assert
    assert caught.value.reason == "INVALID_SEMVER"


def test_str_has_no_prefix() -> None:
    # execute
    text = str(SemVer.parse("v4.0.12"))

    # assert
    assert text == "4.0.12"


@given(semvers)
def test_parse_and_str_round_trip(semver: SemVer) -> None:
    # execute
    parsed = SemVer.parse(str(semver))
    prefixed = SemVer.parse(f"v{semver}")

    # assert
    assert parsed == semver == prefixed


@given(st.text(max_size=30))
def test_parse_either_round_trips_or_raises_invalid_semver(text: str) -> None:
    # execute
    try:
        parsed = SemVer.parse(text)
    except InvalidArgument as error:
        # assert
        assert error.reason == "INVALID_SEMVER"
    else:
        # assert
        assert str(parsed) == text.removeprefix("v")


# --- order and sort key -----------------------------------------------------------------


def test_order_is_numeric_not_textual() -> None:
    # prepare
    texts = ["1.10.0", "1.2.0", "1.9.9", "10.0.0", "2.0.0", "1.2.10", "1.2.9"]

    # execute
    ordered = [str(v) for v in sorted(SemVer.parse(t) for t in texts)]

    # assert
    assert ordered == ["1.2.0", "1.2.9", "1.2.10", "1.9.9", "1.10.0", "2.0.0", "10.0.0"]


def test_sort_key_packs_parts() -> None:
    # execute
    key = SemVer(3, 14, 159).sort_key

    # assert
    assert key == 3 * 10**12 + 14 * 10**6 + 159


@given(semvers, semvers)
def test_sort_key_orders_like_semver(a: SemVer, b: SemVer) -> None:
    # execute / assert
    assert (a < b) == (a.sort_key < b.sort_key)
    assert (a == b) == (a.sort_key == b.sort_key)


@given(semvers)
def test_sort_key_round_trips_and_fits_a_bigint(semver: SemVer) -> None:
    # execute
    key = semver.sort_key

    # assert
    assert SemVer.from_sort_key(key) == semver
    assert 0 <= key < 2**63


@pytest.mark.parametrize("key", [-1, 10**18])
def test_from_sort_key_refuses_out_of_range(key: int) -> None:
    # execute / assert
    with pytest.raises(InvalidArgument):
        SemVer.from_sort_key(key)


# --- bump -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (ChangeKind.SCHEMA, "2.0.0"),
        (ChangeKind.DATA, "1.5.0"),
        (ChangeKind.TUNING, "1.4.8"),
        (ChangeKind.INITIAL, "2.0.0"),
    ],
)
def test_bump_resets_the_lower_parts(kind: ChangeKind, expected: str) -> None:
    # prepare
    current = SemVer(1, 4, 7)

    # execute
    bumped = current.bump(kind)

    # assert
    assert str(bumped) == expected


def test_bump_accepts_the_kind_value_as_text() -> None:
    # execute
    bumped = SemVer(1, 0, 0).bump("data")  # type: ignore[arg-type]

    # assert
    assert bumped == SemVer(1, 1, 0)


def test_bump_refuses_an_unknown_kind() -> None:
    # execute / assert
    with pytest.raises(InvalidArgument) as caught:
        SemVer(1, 0, 0).bump("refactor")  # type: ignore[arg-type]
    assert caught.value.reason == "INVALID_CHANGE_KIND"


@pytest.mark.parametrize(
    ("current", "kind"),
    [
        (SemVer(MAX_PART, 0, 0), ChangeKind.SCHEMA),
        (SemVer(1, MAX_PART, 0), ChangeKind.DATA),
        (SemVer(1, 1, MAX_PART), ChangeKind.TUNING),
    ],
)
def test_bump_past_the_bound_is_out_of_range(current: SemVer, kind: ChangeKind) -> None:
    # execute
    with pytest.raises(OutOfRange) as caught:
        current.bump(kind)

    # assert
    assert caught.value.reason == "SEMVER_OUT_OF_RANGE"
    assert caught.value.metadata["value"] == str(current)


@given(semvers, bump_kinds)
def test_bump_is_strictly_increasing(current: SemVer, kind: ChangeKind) -> None:
    # execute
    try:
        bumped = current.bump(kind)
    except OutOfRange:
        # assert: only a part already at its bound may refuse.
        assert MAX_PART in (current.major, current.minor, current.patch)
        return

    # assert
    assert bumped > current
    assert bumped.sort_key > current.sort_key


# --- derive_change_kind -----------------------------------------------------------------


def test_first_version_is_initial() -> None:
    # execute
    kind = derive_change_kind(None, version(signature=SIGNATURE))

    # assert
    assert kind is ChangeKind.INITIAL


def test_incompatible_signature_is_a_schema_change() -> None:
    # prepare
    previous = version(1, signature=SIGNATURE, datasets=[Dataset("events", "1")])
    new_signature = Signature(inputs=(TensorSpec("age", "string", (-1,)),), outputs=SIGNATURE.outputs)
    new = version(2, signature=new_signature, datasets=[Dataset("events", "2")])

    # execute
    kind = derive_change_kind(previous, new)

    # assert: schema outranks data.
    assert kind is ChangeKind.SCHEMA


def test_compatible_signature_change_is_not_a_schema_change() -> None:
    # prepare
    previous = version(1, signature=SIGNATURE)
    widened = Signature(
        inputs=(TensorSpec("age", "int64", (-1,)), TensorSpec("region", "string", (-1,), optional=True)),
        outputs=(*SIGNATURE.outputs, TensorSpec("explanation", "float32", (-1, 8))),
    )

    # execute
    kind = derive_change_kind(previous, version(2, signature=widened))

    # assert
    assert kind is ChangeKind.TUNING


@pytest.mark.parametrize(
    ("previous_signature", "new_signature"),
    [(SIGNATURE, Signature()), (Signature(), SIGNATURE)],
)
def test_an_unrecorded_signature_is_not_evidence_of_a_schema_change(
    previous_signature: Signature, new_signature: Signature
) -> None:
    # execute
    kind = derive_change_kind(version(1, signature=previous_signature), version(2, signature=new_signature))

    # assert
    assert kind is ChangeKind.TUNING


@pytest.mark.parametrize(
    ("previous_fields", "new_fields"),
    [
        ({"datasets": [Dataset("events", "1")]}, {"datasets": [Dataset("events", "2")]}),
        ({"datasets": [Dataset("events", "1")]}, {"datasets": [Dataset("clicks", "1")]}),
        (
            {"datasets": [Dataset("events", "1")]},
            {"datasets": [Dataset("events", "1"), Dataset("clicks", "1")]},
        ),
        (
            {"training": TrainingConfig(data_versions={"events": "v1"})},
            {"training": TrainingConfig(data_versions={"events": "v2"})},
        ),
    ],
)
def test_different_training_data_is_a_data_change(
    previous_fields: dict[str, object], new_fields: dict[str, object]
) -> None:
    # execute
    kind = derive_change_kind(version(1, **previous_fields), version(2, **new_fields))

    # assert
    assert kind is ChangeKind.DATA


@pytest.mark.parametrize(
    ("previous_fields", "new_fields"),
    [
        # Same data, recorded in a different order.
        (
            {"datasets": [Dataset("a", "1"), Dataset("b", "2")]},
            {"datasets": [Dataset("b", "2"), Dataset("a", "1")]},
        ),
        # Same data, moved to another location.
        (
            {"datasets": [Dataset("events", "1", "s3://old/events")]},
            {"datasets": [Dataset("events", "1", "file:///data/events")]},
        ),
        # Same data, recorded as a dataset on one side and a data version on the other.
        (
            {"datasets": [Dataset("events", "1")]},
            {"training": TrainingConfig(data_versions={"events": "1"})},
        ),
        # Same data, with an unversioned mention beside the versioned one.
        (
            {"datasets": [Dataset("events", "1")]},
            {
                "datasets": [Dataset("events")],
                "training": TrainingConfig(data_versions={"events": "1"}),
            },
        ),
        # No lineage recorded on one side: unknown, not changed.
        ({"datasets": [Dataset("events", "1")]}, {}),
        ({}, {"datasets": [Dataset("events", "1")]}),
        ({}, {}),
    ],
)
def test_same_or_unknown_data_is_a_tuning_change(
    previous_fields: dict[str, object], new_fields: dict[str, object]
) -> None:
    # execute
    kind = derive_change_kind(
        version(1, params={"lr": "0.1"}, **previous_fields),
        version(2, params={"lr": "0.05"}, **new_fields),
    )

    # assert
    assert kind is ChangeKind.TUNING


# --- next_semver / ensure_semver_unused ------------------------------------------------


def test_first_semver_is_1_0_0_whatever_the_kind() -> None:
    # execute
    semvers_by_kind = {kind: next_semver(None, kind, None, None) for kind in ChangeKind}

    # assert
    assert set(semvers_by_kind.values()) == {INITIAL_SEMVER}
    assert str(INITIAL_SEMVER) == "1.0.0"


def test_explicit_semver_wins_over_the_derived_one() -> None:
    # execute
    chosen = next_semver(SemVer(1, 0, 0), ChangeKind.SCHEMA, "v1.0.5", SemVer(1, 0, 0))

    # assert
    assert chosen == SemVer(1, 0, 5)


def test_explicit_semver_may_be_a_back_port_below_the_highest() -> None:
    # execute
    chosen = next_semver(SemVer(2, 0, 0), ChangeKind.TUNING, "1.4.1", SemVer(2, 0, 0))

    # assert
    assert chosen == SemVer(1, 4, 1)


def test_empty_explicit_semver_means_derive() -> None:
    # execute
    chosen = next_semver(SemVer(1, 0, 0), ChangeKind.TUNING, "", SemVer(1, 0, 0))

    # assert
    assert chosen == SemVer(1, 0, 1)


def test_invalid_explicit_semver_is_refused() -> None:
    # execute / assert
    with pytest.raises(InvalidArgument) as caught:
        next_semver(None, ChangeKind.TUNING, "1.0", None)
    assert caught.value.reason == "INVALID_SEMVER"


def test_derived_semver_bumps_the_highest_not_the_previous() -> None:
    # prepare: 2.0.0 exists, then 1.4.1 was back-ported and is the previous version.
    previous, highest = SemVer(1, 4, 1), SemVer(2, 0, 0)

    # execute
    chosen = next_semver(previous, ChangeKind.TUNING, None, highest)

    # assert
    assert chosen == SemVer(2, 0, 1)


def test_derived_semver_falls_back_to_the_previous_when_highest_is_unknown() -> None:
    # execute
    chosen = next_semver(SemVer(1, 3, 0), ChangeKind.DATA, None, None)

    # assert
    assert chosen == SemVer(1, 4, 0)


@given(st.lists(semvers, min_size=1, max_size=8), bump_kinds.filter(lambda k: k is not ChangeKind.INITIAL))
def test_derived_semver_never_collides_with_existing_ones(existing: list[SemVer], kind: ChangeKind) -> None:
    # prepare
    highest = max(existing)

    # execute
    try:
        chosen = next_semver(existing[-1], kind, None, highest)
    except OutOfRange:
        return

    # assert
    assert chosen not in existing
    assert chosen > highest


def test_ensure_semver_unused_refuses_an_existing_semver() -> None:
    # prepare
    existing = [SemVer(1, 0, 0), SemVer(1, 1, 0)]

    # execute
    with pytest.raises(AlreadyExists) as caught:
        ensure_semver_unused(SemVer.parse("v1.1.0"), existing, model="churn")

    # assert
    assert caught.value.reason == "SEMVER_EXISTS"
    assert caught.value.metadata == {"field": "semver", "value": "1.1.0", "model": "churn"}
    assert "1.1.0" in caught.value.message


def test_ensure_semver_unused_accepts_a_new_semver() -> None:
    # execute / assert: no error.
    ensure_semver_unused(SemVer(1, 2, 0), iter([SemVer(1, 0, 0), SemVer(1, 1, 0)]))
