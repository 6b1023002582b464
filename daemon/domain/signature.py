"""Whether callers of one model signature can call another unchanged, and why not."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field

from studbook.daemon.domain.model import Signature, TensorSpec

_DTYPE_ALIASES = {
    "double": "float64",
    "half": "float16",
    "fp16": "float16",
    "fp32": "float32",
    "fp64": "float64",
    "bf16": "bfloat16",
    "bool_": "bool",
    "boolean": "bool",
    "str": "string",
}
_DTYPE_PREFIXES = ("torch.", "numpy.", "np.", "tf.", "jnp.")
# Lossless widenings: every value of the key is exactly representable in each target.
_WIDENS_TO: dict[str, frozenset[str]] = {
    "int8": frozenset({"int16", "int32", "int64"}),
    "int16": frozenset({"int32", "int64"}),
    "int32": frozenset({"int64"}),
    "uint8": frozenset({"uint16", "uint32", "uint64", "int16", "int32", "int64"}),
    "uint16": frozenset({"uint32", "uint64", "int32", "int64"}),
    "uint32": frozenset({"uint64", "int64"}),
    "float16": frozenset({"float32", "float64"}),
    "bfloat16": frozenset({"float32", "float64"}),
    "float32": frozenset({"float64"}),
}


@dataclass(frozen=True)
class Compatibility:
    """The verdict: `reasons` say why callers break, `notes` list harmless differences."""

    compatible: bool
    reasons: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def messages(self) -> list[str]:
        """Breaking reasons first, then notes: what a reader of the verdict is shown."""
        return [*self.reasons, *self.notes]


def check_compatibility(base: Signature, target: Signature) -> Compatibility:
    """Can every caller of `base` call `target` unchanged?

    Tensors are matched by name. The question is always "does code written against the base
    still work against the target?", so inputs and outputs are judged in opposite directions:
    the target may accept *more* than the base did and must return *at least* what it did.

    Inputs (what callers send):
    - an input the target no longer has is harmless (callers may keep sending it): a note;
    - a new input breaks callers unless it is optional; an optional input that became
      required breaks; a required one that became optional is a note;
    - a dtype change breaks unless it widens losslessly (int32 -> int64, float32 -> float64,
      int8 -> int16, uint8 -> int16, float16 -> float32, ...): a note;
    - a shape change breaks unless every changed dimension went from fixed to variable (-1).

    Outputs (what callers read):
    - a removed output breaks; an added output is a note;
    - any dtype change breaks (callers may rely on the exact type or precision);
    - a shape change breaks unless every changed dimension went from variable to fixed,
      which every caller that handled any size still handles: a note;
    - an output that became optional breaks; one that became always-present is a note.

    Unknowns are never breaking on their own: an empty dtype or an empty shape means "not
    recorded" and yields a note. Whole signatures are different: a base without a signature is
    compatible with a note ("base has no signature"), but a target without one while the base
    had one is *not* compatible, since nothing shows the base's callers are still served.
    Dtype names are compared after light normalisation (case, a ``torch.``/``np.``/``tf.``
    prefix, unambiguous aliases such as ``double``); ``float`` stays as written, because it
    means float32 in some frameworks and float64 in others.
    """
    if base.empty:
        return Compatibility(True, notes=["base has no signature"])
    if target.empty:
        return Compatibility(
            False, reasons=["target has no signature, so nothing shows callers of the base are served"]
        )
    reasons: list[str] = []
    notes: list[str] = []
    _compare_inputs(_by_name(base.inputs), _by_name(target.inputs), reasons, notes)
    _compare_outputs(_by_name(base.outputs), _by_name(target.outputs), reasons, notes)
    return Compatibility(not reasons, reasons, notes)


def normalize_dtype(dtype: str) -> str:
    """A canonical spelling of a dtype name, so `torch.float32` and `FP32` compare equal."""
    name = dtype.strip().lower()
    for prefix in _DTYPE_PREFIXES:
        if name.startswith(prefix):
            name = name[len(prefix) :]
            break
    return _DTYPE_ALIASES.get(name, name)


def _by_name(specs: Iterable[TensorSpec]) -> dict[str, TensorSpec]:
    named: dict[str, TensorSpec] = {}
    for spec in specs:
        # A name listed twice is a malformed signature; its first entry is the one callers see.
        named.setdefault(spec.name, spec)
    return named


def _label(kind: str, name: str) -> str:
    # JSON quoting keeps names with quotes or control characters readable and unambiguous.
    return f"{kind} {json.dumps(name, ensure_ascii=False)}"


def _compare_inputs(
    base: dict[str, TensorSpec], target: dict[str, TensorSpec], reasons: list[str], notes: list[str]
) -> None:
    for name in sorted(base.keys() | target.keys()):
        label = _label("input", name)
        old, new = base.get(name), target.get(name)
        if new is None:
            notes.append(f"{label}: no longer used by the target")
            continue
        if old is None:
            if new.optional:
                notes.append(f"{label}: new optional input")
            else:
                reasons.append(f"{label}: new required input")
            continue
        if old.optional and not new.optional:
            reasons.append(f"{label}: now required (was optional)")
        elif new.optional and not old.optional:
            notes.append(f"{label}: now optional")
        _compare_dtype(label, old.dtype, new.dtype, widening_ok=True, reasons=reasons, notes=notes)
        _compare_shape(label, old.shape, new.shape, for_input=True, reasons=reasons, notes=notes)


def _compare_outputs(
    base: dict[str, TensorSpec], target: dict[str, TensorSpec], reasons: list[str], notes: list[str]
) -> None:
    for name in sorted(base.keys() | target.keys()):
        label = _label("output", name)
        old, new = base.get(name), target.get(name)
        if new is None:
            reasons.append(f"{label}: removed")
            continue
        if old is None:
            notes.append(f"{label}: added")
            continue
        if new.optional and not old.optional:
            reasons.append(f"{label}: now optional (callers may rely on it)")
        elif old.optional and not new.optional:
            notes.append(f"{label}: now always present")
        _compare_dtype(label, old.dtype, new.dtype, widening_ok=False, reasons=reasons, notes=notes)
        _compare_shape(label, old.shape, new.shape, for_input=False, reasons=reasons, notes=notes)


def _compare_dtype(label: str, old: str, new: str, *, widening_ok: bool, reasons: list[str], notes: list[str]) -> None:
    old_norm, new_norm = normalize_dtype(old), normalize_dtype(new)
    if old_norm == new_norm:
        return
    shown = f"{label}: dtype {old.strip() or 'unknown'} -> {new.strip() or 'unknown'}"
    if not old_norm or not new_norm:
        notes.append(f"{shown} (not checked)")
    elif widening_ok and new_norm in _WIDENS_TO.get(old_norm, frozenset()):
        notes.append(f"{shown} (widening)")
    else:
        reasons.append(shown)


def _compare_shape(
    label: str,
    old: tuple[int, ...],
    new: tuple[int, ...],
    *,
    for_input: bool,
    reasons: list[str],
    notes: list[str],
) -> None:
    old_dims, new_dims = _dims(old), _dims(new)
    if old_dims == new_dims:
        return
    shown = f"{label}: shape {_format_shape(old)} -> {_format_shape(new)}"
    if not old_dims or not new_dims:
        notes.append(f"{shown} (not checked)")
        return
    if len(old_dims) != len(new_dims):
        reasons.append(shown)
        return
    # Inputs may loosen (fixed -> variable); outputs may tighten (variable -> fixed).
    loosened = tightened = False
    for old_dim, new_dim in zip(old_dims, new_dims):
        if old_dim == new_dim:
            continue
        if new_dim == -1 and old_dim != -1:
            loosened = True
        elif old_dim == -1 and new_dim != -1:
            tightened = True
        else:
            reasons.append(shown)
            return
    if for_input and tightened:
        reasons.append(f"{shown} (a variable dimension became fixed)")
    elif not for_input and loosened:
        reasons.append(f"{shown} (a fixed dimension became variable)")
    elif for_input:
        notes.append(f"{shown} (fixed dimension now variable)")
    else:
        notes.append(f"{shown} (variable dimension now fixed)")


def _dims(shape: tuple[int, ...]) -> tuple[int, ...]:
    # Exporters spell "any size" as -1, None or other negatives; one spelling compares cleanly.
    return tuple(-1 if dim is None or dim < 0 else dim for dim in shape)


def _format_shape(shape: tuple[int, ...]) -> str:
    if not shape:
        return "unknown"
    return "[" + ", ".join(str(dim) for dim in _dims(shape)) + "]"
