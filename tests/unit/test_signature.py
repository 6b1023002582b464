"""Signature compatibility: can callers of the base call the target unchanged?"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from studbook.daemon.domain.model import Signature, TensorSpec
from studbook.daemon.domain.signature import check_compatibility, normalize_dtype

AGE = TensorSpec("age", "int64", (-1,))
INCOME = TensorSpec("income", "float32", (-1, 1))
SCORE = TensorSpec("score", "float32", (-1,))
BASE = Signature(inputs=(AGE, INCOME), outputs=(SCORE,))


def with_input(spec: TensorSpec, base: Signature = BASE) -> Signature:
    others = tuple(s for s in base.inputs if s.name != spec.name)
    return Signature(inputs=(*others, spec), outputs=base.outputs)


def with_output(spec: TensorSpec, base: Signature = BASE) -> Signature:
    others = tuple(s for s in base.outputs if s.name != spec.name)
    return Signature(inputs=base.inputs, outputs=(*others, spec))


def test_identical_signatures_are_compatible_without_messages() -> None:
    # execute
    verdict = check_compatibility(BASE, BASE)

    # assert
    assert verdict.compatible
    assert verdict.messages == []


def test_empty_base_is_compatible_with_a_note() -> None:
    # execute
    verdict = check_compatibility(Signature(), BASE)

    # assert
    assert verdict.compatible
    assert verdict.reasons == []
    assert verdict.notes == ["base has no signature"]


def test_empty_target_under_a_known_base_is_not_compatible() -> None:
    # execute
    verdict = check_compatibility(BASE, Signature())

    # assert
    assert not verdict.compatible
    assert verdict.reasons == ["target has no signature, so nothing shows callers of the base are served"]


# --- inputs -----------------------------------------------------------------------------


def test_input_no_longer_needed_is_harmless() -> None:
    # prepare
    target = Signature(inputs=(AGE,), outputs=(SCORE,))

    # execute
    verdict = check_compatibility(BASE, target)

    # assert
    assert verdict.compatible
    assert verdict.notes == ['input "income": no longer used by the target']


def test_new_required_input_breaks() -> None:
    # execute
    verdict = check_compatibility(BASE, with_input(TensorSpec("region", "string", (-1,))))

    # assert
    assert not verdict.compatible
    assert verdict.reasons == ['input "region": new required input']


def test_new_optional_input_is_harmless() -> None:
    # execute
    verdict = check_compatibility(BASE, with_input(TensorSpec("region", "string", (-1,), optional=True)))

    # assert
    assert verdict.compatible
    assert verdict.notes == ['input "region": new optional input']


def test_optional_input_becoming_required_breaks() -> None:
    # prepare
    base = with_input(TensorSpec("region", "string", (-1,), optional=True))

    # execute
    verdict = check_compatibility(base, with_input(TensorSpec("region", "string", (-1,)), base))

    # assert
    assert not verdict.compatible
    assert verdict.reasons == ['input "region": now required (was optional)']


def test_required_input_becoming_optional_is_harmless() -> None:
    # execute
    verdict = check_compatibility(BASE, with_input(TensorSpec("age", "int64", (-1,), optional=True)))

    # assert
    assert verdict.compatible
    assert verdict.notes == ['input "age": now optional']


def test_changed_input_dtype_breaks_and_names_the_tensor() -> None:
    # execute
    verdict = check_compatibility(BASE, with_input(TensorSpec("age", "string", (-1,))))

    # assert
    assert not verdict.compatible
    assert verdict.reasons == ['input "age": dtype int64 -> string']


@pytest.mark.parametrize(
    ("old", "new"),
    [("int32", "int64"), ("float32", "float64"), ("int8", "int32"), ("uint8", "int16"), ("float16", "float32")],
)
def test_widening_input_dtype_is_harmless(old: str, new: str) -> None:
    # prepare
    base = with_input(TensorSpec("x", old, (-1,)))

    # execute
    verdict = check_compatibility(base, with_input(TensorSpec("x", new, (-1,)), base))

    # assert
    assert verdict.compatible
    assert verdict.notes == [f'input "x": dtype {old} -> {new} (widening)']


@pytest.mark.parametrize(
    ("old", "new"),
    [("int64", "int32"), ("float64", "float32"), ("int64", "float64"), ("int8", "uint8"), ("float32", "int64")],
)
def test_narrowing_or_cross_family_input_dtype_breaks(old: str, new: str) -> None:
    # prepare
    base = with_input(TensorSpec("x", old, (-1,)))

    # execute
    verdict = check_compatibility(base, with_input(TensorSpec("x", new, (-1,)), base))

    # assert
    assert not verdict.compatible
    assert verdict.reasons == [f'input "x": dtype {old} -> {new}']


@pytest.mark.parametrize(
    ("a", "b"),
    [("torch.float32", "float32"), ("FP32", "float32"), ("double", "float64"), ("np.int64", "INT64")],
)
def test_dtype_spellings_of_one_type_are_the_same(a: str, b: str) -> None:
    # prepare
    base = with_input(TensorSpec("x", a, (-1,)))

    # execute
    verdict = check_compatibility(base, with_input(TensorSpec("x", b, (-1,)), base))

    # assert
    assert normalize_dtype(a) == normalize_dtype(b)
    assert verdict.compatible
    assert verdict.messages == []


def test_ambiguous_float_is_not_taken_for_float32() -> None:
    # execute
    normalized = normalize_dtype("float")

    # assert
    assert normalized == "float"


def test_unknown_dtype_is_noted_not_breaking() -> None:
    # execute
    verdict = check_compatibility(BASE, with_input(TensorSpec("age", "", (-1,))))

    # assert
    assert verdict.compatible
    assert verdict.notes == ['input "age": dtype int64 -> unknown (not checked)']


def test_fixed_input_dimension_becoming_variable_is_harmless() -> None:
    # execute
    verdict = check_compatibility(BASE, with_input(TensorSpec("income", "float32", (-1, -1))))

    # assert
    assert verdict.compatible
    assert verdict.notes == ['input "income": shape [-1, 1] -> [-1, -1] (fixed dimension now variable)']


@pytest.mark.parametrize(
    ("new_shape", "reason"),
    [
        ((-1, 2), 'input "income": shape [-1, 1] -> [-1, 2]'),
        ((-1,), 'input "income": shape [-1, 1] -> [-1]'),
        ((-1, 1, 1), 'input "income": shape [-1, 1] -> [-1, 1, 1]'),
        ((8, 1), 'input "income": shape [-1, 1] -> [8, 1] (a variable dimension became fixed)'),
    ],
)
def test_other_input_shape_changes_break(new_shape: tuple[int, ...], reason: str) -> None:
    # execute
    verdict = check_compatibility(BASE, with_input(TensorSpec("income", "float32", new_shape)))

    # assert
    assert not verdict.compatible
    assert verdict.reasons == [reason]


def test_other_negative_dimensions_mean_variable() -> None:
    # prepare
    base = with_input(TensorSpec("x", "float32", (-1, 3)))

    # execute
    verdict = check_compatibility(base, with_input(TensorSpec("x", "float32", (-2, 3)), base))

    # assert
    assert verdict.compatible
    assert verdict.messages == []


def test_unknown_shape_is_noted_not_breaking() -> None:
    # execute
    verdict = check_compatibility(BASE, with_input(TensorSpec("age", "int64", ())))

    # assert
    assert verdict.compatible
    assert verdict.notes == ['input "age": shape [-1] -> unknown (not checked)']


# --- outputs ----------------------------------------------------------------------------


def test_removed_output_breaks() -> None:
    # execute
    verdict = check_compatibility(BASE, Signature(inputs=BASE.inputs, outputs=(TensorSpec("label", "int64"),)))

    # assert
    assert not verdict.compatible
    assert verdict.reasons == ['output "score": removed']
    assert verdict.notes == ['output "label": added']


def test_added_output_is_harmless() -> None:
    # execute
    verdict = check_compatibility(BASE, with_output(TensorSpec("explanation", "float32", (-1, 4))))

    # assert
    assert verdict.compatible
    assert verdict.notes == ['output "explanation": added']


@pytest.mark.parametrize("new_dtype", ["float64", "float16", "int64"])
def test_any_output_dtype_change_breaks(new_dtype: str) -> None:
    # execute
    verdict = check_compatibility(BASE, with_output(TensorSpec("score", new_dtype, (-1,))))

    # assert
    assert not verdict.compatible
    assert verdict.reasons == [f'output "score": dtype float32 -> {new_dtype}']


def test_output_rank_change_breaks() -> None:
    # execute
    verdict = check_compatibility(BASE, with_output(TensorSpec("score", "float32", (-1, 2))))

    # assert
    assert not verdict.compatible
    assert verdict.reasons == ['output "score": shape [-1] -> [-1, 2]']


def test_fixed_output_dimension_becoming_variable_breaks() -> None:
    # prepare
    base = with_output(TensorSpec("probs", "float32", (-1, 3)))

    # execute
    verdict = check_compatibility(base, with_output(TensorSpec("probs", "float32", (-1, -1)), base))

    # assert
    assert not verdict.compatible
    assert verdict.reasons == ['output "probs": shape [-1, 3] -> [-1, -1] (a fixed dimension became variable)']


def test_variable_output_dimension_becoming_fixed_is_harmless() -> None:
    # prepare
    base = with_output(TensorSpec("probs", "float32", (-1, -1)))

    # execute
    verdict = check_compatibility(base, with_output(TensorSpec("probs", "float32", (-1, 3)), base))

    # assert
    assert verdict.compatible
    assert verdict.notes == ['output "probs": shape [-1, -1] -> [-1, 3] (variable dimension now fixed)']


def test_output_becoming_optional_breaks() -> None:
    # execute
    verdict = check_compatibility(BASE, with_output(TensorSpec("score", "float32", (-1,), optional=True)))

    # assert
    assert not verdict.compatible
    assert verdict.reasons == ['output "score": now optional (callers may rely on it)']


def test_reasons_come_sorted_inputs_first_and_cover_every_break() -> None:
    # prepare
    target = Signature(
        inputs=(TensorSpec("zip", "string", (-1,)), TensorSpec("age", "string", (-1,)), INCOME),
        outputs=(TensorSpec("other", "int64"),),
    )

    # execute
    verdict = check_compatibility(BASE, target)

    # assert
    assert verdict.reasons == [
        'input "age": dtype int64 -> string',
        'input "zip": new required input',
        'output "score": removed',
    ]
    assert verdict.messages == [*verdict.reasons, 'output "other": added']


def test_tensor_names_are_quoted_safely() -> None:
    # prepare
    target = with_input(TensorSpec('a "quoted"\nname', "int64", (-1,)))

    # execute
    verdict = check_compatibility(BASE, target)

    # assert
    assert verdict.reasons == ['input "a \\"quoted\\"\\nname": new required input']


# --- properties -------------------------------------------------------------------------

dtypes = st.sampled_from(["int32", "int64", "float32", "float64", "string", "bool", ""])
shapes = st.lists(st.sampled_from([-1, 1, 3, 8]), max_size=3).map(tuple)
specs = st.builds(TensorSpec, st.sampled_from(["a", "b", "c", "d"]), dtypes, shapes, st.booleans())
signatures = st.builds(Signature, st.lists(specs, max_size=4).map(tuple), st.lists(specs, max_size=4).map(tuple))


@given(signatures)
def test_every_signature_is_compatible_with_itself(signature: Signature) -> None:
    # execute
    verdict = check_compatibility(signature, signature)

    # assert
    assert verdict.compatible
    assert verdict.reasons == []


@given(signatures, signatures)
def test_verdict_is_compatible_exactly_when_there_is_no_reason(base: Signature, target: Signature) -> None:
    # execute
    verdict = check_compatibility(base, target)

    # assert
    assert verdict.compatible == (not verdict.reasons)
    assert verdict.messages == [*verdict.reasons, *verdict.notes]
