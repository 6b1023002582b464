"""The promotion policy: a TOML document parsed and validated into plain records. No I/O.

Shape of the document::

    [[models]]                      # entries are tried in order; the first match wins
    pattern = "fraud-*"             # fnmatch on the model name (required)
    stages = ["staging", "production"]   # optional: the stages promotions may target

    [models.gates.production]       # gates of promotions into the stage (or alias) "production"
    require = ["model_card", "signature", "environment", "dataset", "tag:team"]
    metrics = ["auc >= 0.90", "loss <= 0.3@validation"]   # KEY OP NUMBER[@SPLIT]
    beat_holder = ["auc", "-loss@validation"]  # "-" means lower is better
    tolerance = 0.0                 # how much worse than the holder still passes
    signature_compatible = true     # a breaking change needs a major semver bump over the holder
    verify_files = true             # re-hash the files against the registered sha256
    name_pattern = "^[a-z]+-v[0-9]+$"    # regex the model name must fully match
    approvals = 2                   # approvals needed, none from whoever asked

A model no entry matches gets the default: no stage restriction and no gates. Operators
are ``>=``, ``>``, ``<=``, ``<``, ``==``; a key may be written ``metrics.auc``. A metric
without ``@split`` is the one recorded without a split. Any unknown table or key, wrong
type or malformed item raises ``InvalidArgument(reason="INVALID_POLICY", key=...)``
naming where it is, so a typo never silently disables a gate.
"""

from __future__ import annotations

import fnmatch
import math
import re
import tomllib
from dataclasses import dataclass, field
from typing import Any

from studbook.daemon.domain.errors import InvalidArgument

REQUIREMENTS = ("model_card", "signature", "environment", "dataset")
OPERATORS = (">=", "<=", "==", ">", "<")
_GATE_KEYS = frozenset(
    {"require", "metrics", "beat_holder", "tolerance", "signature_compatible", "verify_files", "name_pattern",
     "approvals"}
)  # fmt: skip
_MODEL_KEYS = frozenset({"pattern", "stages", "gates"})
_METRIC = re.compile(r"\s*(?:metrics\.)?([^\s<>=@]+)\s*(>=|<=|==|>|<)\s*([^\s@]+)\s*(?:@\s*(\S+)\s*)?")
_HOLDER_METRIC = re.compile(r"\s*(-?)(?:metrics\.)?([^\s<>=@-][^\s<>=@]*)\s*(?:@\s*(\S+)\s*)?")
MAX_APPROVALS = 100


@dataclass(frozen=True)
class MetricThreshold:
    """`key op value` on the metric recorded for `split` ("" = without a split)."""

    key: str
    op: str
    value: float
    split: str = ""

    def holds(self, actual: float) -> bool:
        return {
            ">=": actual >= self.value,
            ">": actual > self.value,
            "<=": actual <= self.value,
            "<": actual < self.value,
            "==": actual == self.value,
        }[self.op]


@dataclass(frozen=True)
class HolderMetric:
    """A metric the candidate must not be worse on than the current holder."""

    key: str
    split: str = ""
    lower_is_better: bool = False


@dataclass(frozen=True)
class StageGates:
    require: tuple[str, ...] = ()
    metrics: tuple[MetricThreshold, ...] = ()
    beat_holder: tuple[HolderMetric, ...] = ()
    tolerance: float = 0.0
    signature_compatible: bool = False
    verify_files: bool = False
    name_pattern: str = ""
    approvals: int = 0


NO_GATES = StageGates()


@dataclass(frozen=True)
class ModelPolicy:
    pattern: str
    stages: tuple[str, ...] | None = None
    gates: dict[str, StageGates] = field(default_factory=dict)

    def gates_for(self, target: str) -> StageGates:
        return self.gates.get(target, NO_GATES)


DEFAULT_MODEL_POLICY = ModelPolicy("*")


@dataclass(frozen=True)
class Policy:
    models: tuple[ModelPolicy, ...] = ()

    def for_model(self, model: str) -> ModelPolicy:
        """The first entry whose pattern matches `model`, else the default (no gates)."""
        for entry in self.models:
            if fnmatch.fnmatchcase(model, entry.pattern):
                return entry
        return DEFAULT_MODEL_POLICY


EMPTY_POLICY = Policy()


def parse_policy(text: str) -> Policy:
    """Parse and validate a policy document (see the module docstring)."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _invalid("", f"not valid TOML: {exc}") from None
    _no_unknown_keys(document, frozenset({"models"}), "")
    entries = document.get("models", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise _invalid("models", "must be an array of tables: [[models]]")
    return Policy(tuple(_model(entry, f"models[{i}]") for i, entry in enumerate(entries)))


def _model(entry: dict[str, Any], where: str) -> ModelPolicy:
    _no_unknown_keys(entry, _MODEL_KEYS, where)
    if "pattern" not in entry:
        raise _invalid(f"{where}.pattern", "is required (an fnmatch pattern on model names, e.g. \"fraud-*\")")
    pattern = _string(entry["pattern"], f"{where}.pattern")
    stages = None
    if "stages" in entry:
        stages = tuple(_strings(entry["stages"], f"{where}.stages"))
        if len(set(stages)) != len(stages):
            raise _invalid(f"{where}.stages", "lists a stage twice")
    gates_table = entry.get("gates", {})
    if not isinstance(gates_table, dict):
        raise _invalid(f"{where}.gates", "must be a table of stages: [models.gates.<stage>]")
    gates = {}
    for stage, table in gates_table.items():
        if not isinstance(table, dict):
            raise _invalid(f"{where}.gates.{stage}", "must be a table")
        if stages is not None and stage not in stages:
            raise _invalid(f"{where}.gates.{stage}", f"names a stage not in {where}.stages")
        gates[stage] = _gates(table, f"{where}.gates.{stage}")
    return ModelPolicy(pattern, stages, gates)


def _gates(table: dict[str, Any], where: str) -> StageGates:
    _no_unknown_keys(table, _GATE_KEYS, where)
    require = tuple(_strings(table.get("require", []), f"{where}.require"))
    for i, item in enumerate(require):
        if item not in REQUIREMENTS and not (item.startswith("tag:") and len(item) > 4):
            raise _invalid(f"{where}.require[{i}]", f"unknown requirement {item!r}; use one of "
                           f"{', '.join(REQUIREMENTS)} or tag:<name>")  # fmt: skip
    metrics = tuple(
        _threshold(item, f"{where}.metrics[{i}]") for i, item in enumerate(_strings(table.get("metrics", []), f"{where}.metrics"))
    )  # fmt: skip
    beat = tuple(
        _holder_metric(item, f"{where}.beat_holder[{i}]")
        for i, item in enumerate(_strings(table.get("beat_holder", []), f"{where}.beat_holder"))
    )
    tolerance = _number(table.get("tolerance", 0.0), f"{where}.tolerance")
    if tolerance < 0:
        raise _invalid(f"{where}.tolerance", "must not be negative")
    name_pattern = _string(table.get("name_pattern", ""), f"{where}.name_pattern", allow_empty=True)
    try:
        re.compile(name_pattern)
    except re.error as exc:
        raise _invalid(f"{where}.name_pattern", f"is not a valid regular expression: {exc}") from None
    approvals = table.get("approvals", 0)
    if not isinstance(approvals, int) or isinstance(approvals, bool) or not 0 <= approvals <= MAX_APPROVALS:
        raise _invalid(f"{where}.approvals", f"must be an integer from 0 to {MAX_APPROVALS}")
    return StageGates(
        require=require, metrics=metrics, beat_holder=beat, tolerance=tolerance,
        signature_compatible=_bool(table.get("signature_compatible", False), f"{where}.signature_compatible"),
        verify_files=_bool(table.get("verify_files", False), f"{where}.verify_files"),
        name_pattern=name_pattern, approvals=approvals,
    )  # fmt: skip


def _threshold(text: str, where: str) -> MetricThreshold:
    match = _METRIC.fullmatch(text)
    if match is None:
        raise _invalid(where, f"{text!r} is not KEY OP NUMBER[@SPLIT] (e.g. \"auc >= 0.9@validation\"); "
                       f"operators: {' '.join(OPERATORS)}")  # fmt: skip
    key, op, number, split = match.groups()
    try:
        value = float(number)
    except ValueError:
        raise _invalid(where, f"{number!r} in {text!r} is not a number") from None
    if not math.isfinite(value):
        raise _invalid(where, f"{number!r} in {text!r} is not a finite number")
    return MetricThreshold(key, op, value, split or "")


def _holder_metric(text: str, where: str) -> HolderMetric:
    match = _HOLDER_METRIC.fullmatch(text)
    if match is None:
        raise _invalid(where, f"{text!r} is not a metric key such as \"auc\", \"-loss\" or \"auc@validation\"")
    minus, key, split = match.groups()
    return HolderMetric(key, split or "", lower_is_better=bool(minus))


def _no_unknown_keys(table: dict[str, Any], known: frozenset[str], where: str) -> None:
    for key in table:
        if key not in known:
            place = f"{where}.{key}" if where else key
            raise _invalid(place, f"unknown key; expected one of {', '.join(sorted(known))}")


def _string(value: object, where: str, *, allow_empty: bool = False) -> str:
    if not isinstance(value, str) or (not value and not allow_empty):
        raise _invalid(where, "must be a non-empty string" if not allow_empty else "must be a string")
    return value


def _strings(value: object, where: str) -> list[str]:
    if not isinstance(value, list):
        raise _invalid(where, "must be an array of strings")
    return [_string(item, f"{where}[{i}]") for i, item in enumerate(value)]


def _number(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _invalid(where, "must be a finite number")
    return float(value)


def _bool(value: object, where: str) -> bool:
    if not isinstance(value, bool):
        raise _invalid(where, "must be true or false")
    return value


def _invalid(key: str, problem: str) -> InvalidArgument:
    where = f"{key} " if key else ""
    return InvalidArgument(f"invalid policy: {where}{problem}", reason="INVALID_POLICY", key=key or "(document)")
