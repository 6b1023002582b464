"""The promotion policy: a TOML document parsed and validated into plain records. No I/O.

Shape of the document::

    approver_stages = ["production"]   # stages only an approver may enter or roll back at once

    [[models]]                      # entries are tried in order; the first match wins
    pattern = "fraud-*"             # fnmatch on the model name (required)
    stages = ["staging", "production"]   # optional: the stages promotions may target

    [models.gates.production]       # gates of promotions into the stage (or alias) "production"
    from = ["staging"]              # the stage the candidate must hold now; "none" = no stage
    require = ["model_card", "signature", "environment", "dataset", "tag:team"]
    metrics = ["auc >= 0.90", "loss <= 0.3@validation"]   # KEY OP NUMBER[@SPLIT]
    beat_holder = ["auc", "-loss@validation"]  # "-" means lower is better
    tolerance = 0.0                 # how much worse than the holder still passes
    signature_compatible = true     # a breaking change needs a major semver bump over the holder
    verify_files = true             # re-hash the files against the registered sha256
    name_pattern = "^[a-z]+-v[0-9]+$"    # regex the model name must fully match
    approvals = 2                   # approvals needed, none from whoever asked
    forbid_flags = ["dangerous-*", "unsafe-ops", "remote-code"]   # file flags (fnmatch) the version may not carry
    rollback_skips = ["beat_holder"]     # gate kinds a rollback into the stage skips; default ["*"]

    [models.monitors.production]    # watches the production feedback of the stage "production"
    metrics = ["auc >= 0.90", "auc drop > 3%"]   # KEY OP NUMBER, or KEY drop|rise > NUMBER[%]
    drift = ["psi > 0.2", "ks > 0.3"]            # psi|ks OP NUMBER, on any feature of a window
    windows = 3                     # consecutive windows in breach before drift.detected (default 1)
    segment = ""                    # which segment's points count; "" = the unsegmented ones
    rank_by = "auc"                 # how earlier holders are ranked for a rollback; "-latency_ms": lower is better
    auto_rollback = false           # on a breach, put the candidate back with the rollback gates

    [models.retention]              # what `studbook gc` may remove; without it every version stays
    keep_last = 20                  # the 20 highest version numbers always stay (at least 1)
    purge_after = "7d"              # archived this long before a purge; "0s" purges at once

A model no entry matches gets the default: no stage restriction and no gates but one:
production forbids the flags of content that runs code when loaded (DEFAULT_FORBIDDEN_FLAGS).
Production keeps that default in every entry that does not set ``forbid_flags`` itself; an
entry opts out with ``forbid_flags = []``. Operators
are ``>=``, ``>``, ``<=``, ``<``, ``==``; a key may be written ``metrics.auc``. A metric
without ``@split`` is the one recorded without a split. ``from`` names stages, which must be
in ``stages`` when the entry declares them; "none" always means "holds no stage". A
rollback skips every gate unless ``rollback_skips`` says otherwise, and always skips
approvals. ``approver_stages`` (default ``["production"]``) names the stages that only an
approver may roll back or promote into without waiting for approvals; an empty list leaves
that to each stage's approvals gate. A monitor's `drop` (`rise`) rule compares the production figure with the version's own
evaluation metric recorded without a split: `auc drop > 3%` breaches when production auc is
more than 3% below it, `auc drop > 0.02` when it is more than 0.02 below. A model's retention
is that of the first entry matching it: a model whose first match has no ``[models.retention]``, or that no entry matches, keeps
every version.
Any unknown table or key, wrong type or malformed item
raises ``InvalidArgument(reason="INVALID_POLICY", key=...)`` naming where it is, so a typo
never silently disables a gate.
"""

from __future__ import annotations

import fnmatch
import math
import re
import tomllib
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from studbook.daemon.domain.errors import InvalidArgument
from studbook.daemon.domain.names import LABEL, RESERVED_LABELS
from studbook.daemon.domain.safety import DEFAULT_FORBIDDEN_FLAGS

# `kept_files`: the registry holds the version's bytes (not a referenced, keep_in_place version).
REQUIREMENTS = ("model_card", "signature", "environment", "dataset", "kept_files")
OPERATORS = (">=", "<=", "==", ">", "<")
# The kinds of gate a rollback may run or skip; approvals are not one: a rollback never waits.
GATE_KINDS = ("from", "require", "metrics", "beat_holder", "signature_compatible", "verify_files", "name_pattern",
              "forbid_flags")  # fmt: skip
SKIP_ALL = "*"
# In `from`: the candidate holds no stage at all.
NO_STAGE = "none"
# Stages only an approver may enter without waiting for approvals, or roll back.
DEFAULT_APPROVER_STAGES = frozenset({"production"})
_GATE_KEYS = frozenset(
    {"from", "require", "metrics", "beat_holder", "tolerance", "signature_compatible", "verify_files",
     "name_pattern", "approvals", "rollback_skips", "forbid_flags"}
)  # fmt: skip
_MODEL_KEYS = frozenset({"pattern", "stages", "gates", "retention", "monitors"})
_MONITOR_KEYS = frozenset({"metrics", "drift", "windows", "segment", "rank_by", "auto_rollback"})
# A monitor waits for at most this many consecutive windows; more would keep a breach unseen for long.
MAX_MONITOR_WINDOWS = 1000
DRIFT_MEASURES = ("psi", "ks")
_RETENTION_KEYS = frozenset({"keep_last", "purge_after"})
MAX_KEEP_LAST = 1_000_000
# How long a version gc archived stays restorable by hand before a later gc purges it.
DEFAULT_PURGE_AFTER = timedelta(days=7)
MAX_PURGE_AFTER = timedelta(days=3650)
_DURATION = re.compile(r"\s*([0-9]{1,7})\s*([smhd])\s*")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_METRIC = re.compile(r"\s*(?:metrics\.)?([^\s<>=@]+)\s*(>=|<=|==|>|<)\s*([^\s@]+)\s*(?:@\s*(\S+)\s*)?")
_CHANGE_RULE = re.compile(r"\s*(?:metrics\.)?([^\s<>=@]+)\s+(drop|rise)\s*(>=|>)\s*([^\s%]+)\s*(%?)\s*")
_DRIFT_RULE = re.compile(r"\s*(psi|ks)\s*(>=|>)\s*(\S+?)\s*(?:on\s+any\s+feature\s*)?")
_SEGMENT = re.compile(r"[\x20-\x7e]{0,256}")
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
    # Stages the candidate may hold when it is promoted (NO_STAGE: none); empty = any.
    from_stages: tuple[str, ...] = ()
    require: tuple[str, ...] = ()
    metrics: tuple[MetricThreshold, ...] = ()
    beat_holder: tuple[HolderMetric, ...] = ()
    tolerance: float = 0.0
    signature_compatible: bool = False
    verify_files: bool = False
    name_pattern: str = ""
    approvals: int = 0
    # File flags (fnmatch on the whole flag or its label) a version entering the stage may not carry.
    forbid_flags: tuple[str, ...] = ()
    # Gate kinds (GATE_KINDS, or SKIP_ALL) a rollback into the stage does not run.
    rollback_skips: tuple[str, ...] = (SKIP_ALL,)

    @property
    def empty(self) -> bool:
        """True when judging a version against these gates yields no verdict at all."""
        return not (
            self.from_stages or self.require or self.metrics or self.beat_holder or self.signature_compatible
            or self.verify_files or self.name_pattern or self.approvals or self.forbid_flags
        )  # fmt: skip

    def for_rollback(self) -> StageGates:
        """The gates a rollback into the stage runs: all but `rollback_skips`, and never approvals.

        Approvals are skipped because the version put back already passed them when it was
        promoted into the stage; by default every other gate is skipped too, since a rollback
        is the emergency exit.
        """
        skips = frozenset(GATE_KINDS) if SKIP_ALL in self.rollback_skips else frozenset(self.rollback_skips)
        return replace(
            self,
            from_stages=() if "from" in skips else self.from_stages,
            require=() if "require" in skips else self.require,
            metrics=() if "metrics" in skips else self.metrics,
            beat_holder=() if "beat_holder" in skips else self.beat_holder,
            signature_compatible=self.signature_compatible and "signature_compatible" not in skips,
            verify_files=self.verify_files and "verify_files" not in skips,
            name_pattern="" if "name_pattern" in skips else self.name_pattern,
            forbid_flags=() if "forbid_flags" in skips else self.forbid_flags,
            approvals=0,
        )


NO_GATES = StageGates()
# The stage whose gates forbid code-running content unless the policy says otherwise.
PRODUCTION = "production"
_PRODUCTION_DEFAULT = StageGates(forbid_flags=DEFAULT_FORBIDDEN_FLAGS)


@dataclass(frozen=True)
class Retention:
    """What garbage collection may remove of a model's versions.

    The `keep_last` highest version numbers always stay, whatever their status; an older
    version goes only if nothing protects it (a stage or alias it holds or ever held, a
    pending promotion, a kept version it is a lineage parent of). It is archived first and
    purged once it has stayed archived for `purge_after`; zero purges it at once.
    """

    keep_last: int
    purge_after: timedelta = DEFAULT_PURGE_AFTER


@dataclass(frozen=True)
class MonitorRule:
    """One metric rule of a monitor, `text` as the policy writes it.

    `change` is "" for a threshold (`auc >= 0.90`: the production figure must hold it), or
    "drop"/"rise" for a change against the version's own evaluation metric (`auc drop > 3%`:
    breached when production is more than 3% below it); `relative` when the number ends in %.
    """

    text: str
    key: str
    op: str
    value: float
    change: str = ""
    relative: bool = False


@dataclass(frozen=True)
class DriftRule:
    """`psi > 0.2`: breached by a window where any feature's measure passes the number."""

    text: str
    measure: str
    op: str
    value: float


@dataclass(frozen=True)
class Monitor:
    """What to watch of one stage's production feedback (see the module docstring)."""

    stage: str
    metrics: tuple[MonitorRule, ...] = ()
    drift: tuple[DriftRule, ...] = ()
    windows: int = 1
    segment: str = ""
    # "" = rank by the first metric rule's key (or the model's key metrics).
    rank_by: HolderMetric | None = None
    auto_rollback: bool = False


@dataclass(frozen=True)
class ModelPolicy:
    pattern: str
    stages: tuple[str, ...] | None = None
    gates: dict[str, StageGates] = field(default_factory=dict)
    # None: garbage collection keeps every version of the models this entry matches.
    retention: Retention | None = None
    # Stage -> its monitor; a stage without one is not watched.
    monitors: dict[str, Monitor] = field(default_factory=dict)

    def gates_for(self, target: str) -> StageGates:
        default = _PRODUCTION_DEFAULT if target == PRODUCTION else NO_GATES
        return self.gates.get(target, default)


DEFAULT_MODEL_POLICY = ModelPolicy("*")


@dataclass(frozen=True)
class Policy:
    models: tuple[ModelPolicy, ...] = ()
    approver_stages: frozenset[str] = DEFAULT_APPROVER_STAGES

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
    _no_unknown_keys(document, frozenset({"models", "approver_stages"}), "")
    entries = document.get("models", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise _invalid("models", "must be an array of tables: [[models]]")
    approver_stages = DEFAULT_APPROVER_STAGES
    if "approver_stages" in document:
        approver_stages = frozenset(_stage_names(document["approver_stages"], "approver_stages"))
    return Policy(tuple(_model(entry, f"models[{i}]") for i, entry in enumerate(entries)), approver_stages)


def _stage_names(value: object, where: str) -> tuple[str, ...]:
    """Distinct stage names; empty is allowed (the caller decides what it means)."""
    items = _distinct_strings(value, where)
    for i, item in enumerate(items):
        _check_stage_name(item, f"{where}[{i}]")
    return items


def _check_stage_name(item: str, where: str) -> None:
    if not LABEL.fullmatch(item) or item in RESERVED_LABELS:
        raise _invalid(where, f"{item!r} is not a stage name (a-z, 0-9, '.', '_' or '-', starting with a letter)")


def _model(entry: dict[str, Any], where: str) -> ModelPolicy:
    _no_unknown_keys(entry, _MODEL_KEYS, where)
    if "pattern" not in entry:
        raise _invalid(f"{where}.pattern", 'is required (an fnmatch pattern on model names, e.g. "fraud-*")')
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
        gates[stage] = _gates(table, f"{where}.gates.{stage}", stages, f"{where}.stages")
    retention = _retention(entry["retention"], f"{where}.retention") if "retention" in entry else None
    return ModelPolicy(pattern, stages, gates, retention, _monitors(entry.get("monitors", {}), where, stages))


def _monitors(table: object, where: str, stages: tuple[str, ...] | None) -> dict[str, Monitor]:
    if not isinstance(table, dict):
        raise _invalid(f"{where}.monitors", "must be a table of stages: [models.monitors.<stage>]")
    monitors = {}
    for stage, body in table.items():
        place = f"{where}.monitors.{stage}"
        if not isinstance(body, dict):
            raise _invalid(place, "must be a table")
        _check_stage_name(stage, place)
        if stages is not None and stage not in stages:
            raise _invalid(place, f"names a stage not in {where}.stages")
        monitors[stage] = _monitor(stage, body, place)
    return monitors


def _monitor(stage: str, table: dict[str, Any], where: str) -> Monitor:
    _no_unknown_keys(table, _MONITOR_KEYS, where)
    metrics = tuple(
        _monitor_rule(item, f"{where}.metrics[{i}]")
        for i, item in enumerate(_distinct_strings(table.get("metrics", []), f"{where}.metrics"))
    )
    drift = tuple(
        _drift_rule(item, f"{where}.drift[{i}]")
        for i, item in enumerate(_distinct_strings(table.get("drift", []), f"{where}.drift"))
    )
    if not metrics and not drift:
        # A monitor with no rule can never breach: most likely the rules went under a misspelt key.
        raise _invalid(where, 'has no rule: give metrics (e.g. ["auc >= 0.9"]) or drift (e.g. ["psi > 0.2"])')
    windows = table.get("windows", 1)
    if not isinstance(windows, int) or isinstance(windows, bool) or not 1 <= windows <= MAX_MONITOR_WINDOWS:
        raise _invalid(f"{where}.windows", f"must be an integer from 1 to {MAX_MONITOR_WINDOWS}")
    segment = _string(table.get("segment", ""), f"{where}.segment", allow_empty=True)
    if not _SEGMENT.fullmatch(segment):
        raise _invalid(f"{where}.segment", "must be at most 256 printable ASCII characters")
    rank_by = None
    if "rank_by" in table:
        rank_by = _holder_metric(_string(table["rank_by"], f"{where}.rank_by"), f"{where}.rank_by")
        if rank_by.split:
            raise _invalid(f"{where}.rank_by", "takes no @split: production metrics have none")
    auto_rollback = _bool(table.get("auto_rollback", False), f"{where}.auto_rollback")
    return Monitor(stage, metrics, drift, windows, segment, rank_by, auto_rollback)


def _monitor_rule(text: str, where: str) -> MonitorRule:
    change = _CHANGE_RULE.fullmatch(text)
    if change is not None:
        key, kind, op, number, percent = change.groups()
        value = _finite(number, text, where)
        if value < 0:
            raise _invalid(where, f"{number!r} in {text!r} must not be negative: a {kind} is measured as a size")
        return MonitorRule(text.strip(), key, op, value, kind, bool(percent))
    match = _METRIC.fullmatch(text)
    if match is None:
        raise _invalid(where, f"{text!r} is neither KEY OP NUMBER (e.g. \"auc >= 0.9\") nor KEY drop|rise > "
                       f"NUMBER[%] (e.g. \"auc drop > 3%\"); operators: {' '.join(OPERATORS)}")  # fmt: skip
    key, op, number, split = match.groups()
    if split:
        raise _invalid(where, f"{text!r} names a split; production metrics have none (leave out @{split})")
    return MonitorRule(text.strip(), key, op, _finite(number, text, where))


def _drift_rule(text: str, where: str) -> DriftRule:
    match = _DRIFT_RULE.fullmatch(text)
    if match is None:
        raise _invalid(where, f"{text!r} is not MEASURE > NUMBER with MEASURE one of {', '.join(DRIFT_MEASURES)} "
                       "(e.g. \"psi > 0.2\")")  # fmt: skip
    measure, op, number = match.groups()
    return DriftRule(text.strip(), measure, op, _finite(number, text, where))


def _finite(number: str, text: str, where: str) -> float:
    try:
        value = float(number)
    except ValueError:
        raise _invalid(where, f"{number!r} in {text!r} is not a number") from None
    if not math.isfinite(value):
        raise _invalid(where, f"{number!r} in {text!r} is not a finite number")
    return value


def _retention(table: object, where: str) -> Retention:
    if not isinstance(table, dict):
        raise _invalid(where, "must be a table: [models.retention] with keep_last (and purge_after)")
    _no_unknown_keys(table, _RETENTION_KEYS, where)
    if "keep_last" not in table:
        # No default: a guessed number of versions to keep is a guess about what may be deleted.
        raise _invalid(f"{where}.keep_last", "is required: how many of the newest versions always stay")
    keep_last = table["keep_last"]
    if not isinstance(keep_last, int) or isinstance(keep_last, bool) or not 1 <= keep_last <= MAX_KEEP_LAST:
        raise _invalid(f"{where}.keep_last", f"must be an integer from 1 to {MAX_KEEP_LAST:,} (the newest version "
                       "always stays)")  # fmt: skip
    purge_after = DEFAULT_PURGE_AFTER
    if "purge_after" in table:
        purge_after = _duration(table["purge_after"], f"{where}.purge_after")
    return Retention(keep_last, purge_after)


def _duration(value: object, where: str) -> timedelta:
    match = _DURATION.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise _invalid(where, 'must be a duration such as "7d", "12h", "30m" or "0s"')
    duration = timedelta(seconds=int(match.group(1)) * _UNIT_SECONDS[match.group(2)])
    if duration > MAX_PURGE_AFTER:
        raise _invalid(where, f"must be at most {MAX_PURGE_AFTER.days} days")
    return duration


def _gates(table: dict[str, Any], where: str, stages: tuple[str, ...] | None, stages_key: str) -> StageGates:
    _no_unknown_keys(table, _GATE_KEYS, where)
    from_stages = _from_stages(table["from"], f"{where}.from", stages, stages_key) if "from" in table else ()
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
        from_stages=from_stages, require=require, metrics=metrics, beat_holder=beat, tolerance=tolerance,
        signature_compatible=_bool(table.get("signature_compatible", False), f"{where}.signature_compatible"),
        verify_files=_bool(table.get("verify_files", False), f"{where}.verify_files"),
        name_pattern=name_pattern, approvals=approvals,
        forbid_flags=_forbid_flags(table, where),
        rollback_skips=_rollback_skips(table.get("rollback_skips", [SKIP_ALL]), f"{where}.rollback_skips"),
    )  # fmt: skip


def _forbid_flags(table: dict[str, Any], where: str) -> tuple[str, ...]:
    """The listed patterns; production's default when the key is left out of its gates."""
    if "forbid_flags" not in table:
        return DEFAULT_FORBIDDEN_FLAGS if where.endswith(f".gates.{PRODUCTION}") else ()
    return tuple(_strings(table["forbid_flags"], f"{where}.forbid_flags"))


def _from_stages(value: object, where: str, stages: tuple[str, ...] | None, stages_key: str) -> tuple[str, ...]:
    items = _distinct_strings(value, where)
    if not items:
        # Empty could mean "from nowhere" or "from anywhere"; refusing it keeps a typo from guessing.
        raise _invalid(where, f"must name at least one stage (or \"{NO_STAGE}\" for a version holding none); "
                       "leave the key out to allow any")  # fmt: skip
    for i, item in enumerate(items):
        if item == NO_STAGE:
            continue
        _check_stage_name(item, f"{where}[{i}]")
        if stages is not None and item not in stages:
            raise _invalid(f"{where}[{i}]", f"names stage {item!r}, which is not in {stages_key} "
                           f"({', '.join(stages) or 'empty'}); use one of them or \"{NO_STAGE}\"")  # fmt: skip
    return items


def _rollback_skips(value: object, where: str) -> tuple[str, ...]:
    items = _distinct_strings(value, where)
    for i, item in enumerate(items):
        if item in GATE_KINDS or item == SKIP_ALL:
            continue
        hint = " (approvals are always skipped by a rollback)" if item == "approvals" else ""
        raise _invalid(f"{where}[{i}]", f"unknown gate kind {item!r}{hint}; use \"{SKIP_ALL}\" or any of "
                       f"{', '.join(GATE_KINDS)}")  # fmt: skip
    return items


def _threshold(text: str, where: str) -> MetricThreshold:
    match = _METRIC.fullmatch(text)
    if match is None:
        raise _invalid(where, f"{text!r} is not KEY OP NUMBER[@SPLIT] (e.g. \"auc >= 0.9@validation\"); "
                       f"operators: {' '.join(OPERATORS)}")  # fmt: skip
    key, op, number, split = match.groups()
    return MetricThreshold(key, op, _finite(number, text, where), split or "")


def _holder_metric(text: str, where: str) -> HolderMetric:
    match = _HOLDER_METRIC.fullmatch(text)
    if match is None:
        raise _invalid(where, f'{text!r} is not a metric key such as "auc", "-loss" or "auc@validation"')
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


def _distinct_strings(value: object, where: str) -> tuple[str, ...]:
    items = _strings(value, where)
    for i, item in enumerate(items):
        if item in items[:i]:
            raise _invalid(f"{where}[{i}]", f"lists {item!r} twice")
    return tuple(items)


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
