"""Judges a version against the policy gates of a target stage; each verdict says why. No I/O."""

from __future__ import annotations

import re

from studbook.daemon.domain.errors import InvalidArgument
from studbook.daemon.domain.model import GateResult, Model, ModelVersion
from studbook.daemon.domain.policy import NO_STAGE, HolderMetric, MetricThreshold, StageGates
from studbook.daemon.domain.safety import forbidden
from studbook.daemon.domain.semver import SemVer
from studbook.daemon.domain.signature import check_compatibility


def evaluate(
    gates: StageGates,
    version: ModelVersion,
    holder: ModelVersion | None,
    files_ok: bool | None,
    files_detail: str = "",
    *,
    target: str = "",
    held: str | None = None,
) -> list[GateResult]:
    """Every gate's verdict, in the order the policy lists them.

    `holder` is the version holding the target now (None when it is empty); `files_ok` is
    the outcome of re-hashing the files (None when they could not be re-hashed), with
    `files_detail` saying what differed. `target` is the stage or alias being entered and
    `held` the stage `version` holds now (None: none; see `held_stage`). The
    approvals gate always passes here: it only reports how many approvals the promotion
    will wait for.
    """
    results = [_from(gates.from_stages, version, target, held)] if gates.from_stages else []
    results += [_requirement(item, version) for item in gates.require]
    results += [_threshold(metric, version) for metric in gates.metrics]
    results += [_beats(metric, version, holder, gates.tolerance) for metric in gates.beat_holder]
    if gates.signature_compatible:
        results.append(_signature(version, holder))
    if gates.verify_files:
        results.append(_files(files_ok, files_detail))
    if gates.name_pattern:
        matched = re.fullmatch(gates.name_pattern, version.model) is not None
        results.append(GateResult(
            "name_pattern", matched,
            f"model name {version.model!r} {'matches' if matched else 'does not match'} {gates.name_pattern!r}",
        ))  # fmt: skip
    if gates.forbid_flags:
        results.append(_flags(version, gates.forbid_flags))
    if gates.approvals:
        results.append(GateResult("approvals", True, f"needs {gates.approvals} approval(s), none from the requester"))
    return results


def _flags(version: ModelVersion, patterns: tuple[str, ...]) -> GateResult:
    found = {f.path: forbidden(f.flags, patterns) for f in version.files}
    found = {path: flags for path, flags in found.items() if flags}
    if not found:
        return GateResult("forbid_flags", True, f"no file carries a flag in {', '.join(patterns)}")
    named = "; ".join(f"{path}: {', '.join(flags[:4])}" for path, flags in list(found.items())[:4])
    more = f" and {len(found) - 4} more files" if len(found) > 4 else ""
    return GateResult("forbid_flags", False, f"{named}{more} (forbidden: {', '.join(patterns)})")


def held_stage(model: Model, number: int) -> str | None:
    """The stage version `number` holds now, or None; a version holds one stage at a time."""
    return next((stage for stage, holder in model.stage_holders.items() if holder == number), None)


def _from(allowed: tuple[str, ...], version: ModelVersion, target: str, held: str | None) -> GateResult:
    passed = (NO_STAGE if held is None else held) in allowed
    holds = f"holds {held}" if held is not None else "holds no stage"
    return GateResult("from", passed, f"version {version.number} {holds}; {target or 'the target'} may be reached "
                      f"from: {', '.join(allowed)}")  # fmt: skip


def _requirement(item: str, version: ModelVersion) -> GateResult:
    gate = f"require.{item}"
    if item.startswith("tag:"):
        tag = item[4:]
        present = tag in version.tags
        return GateResult(gate, present, f"tag {tag!r} is {'set' if present else 'missing'}")
    env = version.environment
    present, what = {
        "model_card": (bool(version.model_card.strip()), "a model card"),
        "signature": (not version.signature.empty, "a signature"),
        "environment": (bool(env.python_version or env.packages or env.requirements), "a captured environment"),
        "dataset": (bool(version.datasets), "at least one dataset in its lineage"),
        "kept_files": (version.kept, "a copy of its files kept by the registry"),
    }[item]
    return GateResult(gate, present, f"version {version.number} {'has' if present else 'lacks'} {what}")


def _where(split: str) -> str:
    return f" on {split}" if split else ""


def _threshold(metric: MetricThreshold, version: ModelVersion) -> GateResult:
    gate = f"metrics.{metric.key}"
    actual = version.metric_map().get((metric.key, metric.split))
    wanted = f"{metric.op} {metric.value:g}"
    if actual is None:
        return GateResult(gate, False, f"metrics.{metric.key} is not recorded{_where(metric.split)} (needs {wanted})")
    passed = metric.holds(actual)
    shown = metric.op if passed else _negate(metric.op)
    return GateResult(gate, passed, f"metrics.{metric.key} {actual:g} {shown} {metric.value:g}{_where(metric.split)}")


def _negate(op: str) -> str:
    return {">=": "<", ">": "<=", "<=": ">", "<": ">=", "==": "!="}[op]


def _beats(metric: HolderMetric, version: ModelVersion, holder: ModelVersion | None, tolerance: float) -> GateResult:
    gate = f"beat_holder.{metric.key}"
    where = _where(metric.split)
    if holder is None:
        return GateResult(gate, True, "no current holder to beat")
    theirs = holder.metric_map().get((metric.key, metric.split))
    if theirs is None:
        return GateResult(gate, True, f"holder version {holder.number} has no metrics.{metric.key}{where}")
    ours = version.metric_map().get((metric.key, metric.split))
    if ours is None:
        return GateResult(gate, False, f"metrics.{metric.key} is not recorded{where}; "
                          f"holder version {holder.number} has {theirs:g}")  # fmt: skip
    # "Beating" allows a regression of at most `tolerance` in the metric's better direction.
    if metric.lower_is_better:
        passed = ours <= theirs + tolerance
    else:
        passed = ours >= theirs - tolerance
    verdict = "is within" if passed else "is worse than"
    return GateResult(gate, passed, f"metrics.{metric.key} {ours:g} {verdict} holder version {holder.number}'s "
                      f"{theirs:g}{where} (tolerance {tolerance:g})")  # fmt: skip


def _signature(version: ModelVersion, holder: ModelVersion | None) -> GateResult:
    gate = "signature_compatible"
    if holder is None:
        return GateResult(gate, True, "no current holder to be compatible with")
    verdict = check_compatibility(holder.signature, version.signature)
    if verdict.compatible:
        return GateResult(gate, True, f"signature serves callers of holder version {holder.number}")
    why = "; ".join(verdict.reasons)
    ours, theirs = _major(version.semver), _major(holder.semver)
    if ours is not None and theirs is not None and ours > theirs:
        return GateResult(gate, True, f"breaking signature change ({why}) comes with a major bump "
                          f"{holder.semver} -> {version.semver}")  # fmt: skip
    return GateResult(gate, False, f"breaking signature change over holder version {holder.number} ({why}) "
                      f"needs a major semver bump; {holder.semver or 'none'} -> {version.semver or 'none'}")  # fmt: skip


def _major(text: str) -> int | None:
    try:
        return SemVer.parse(text).major
    except InvalidArgument:
        return None


def _files(ok: bool | None, detail: str) -> GateResult:
    if ok is None:
        return GateResult("verify_files", False, f"files could not be re-verified: {detail or 'not checked'}")
    if ok:
        return GateResult("verify_files", True, detail or "every file matches its registered sha256")
    return GateResult("verify_files", False, detail or "files differ from their registered sha256")
