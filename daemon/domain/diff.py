"""The difference between two model versions, as the DiffModelVersions call returns it."""

from __future__ import annotations

import difflib
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Literal

from studbook.daemon.domain.format_info import FormatInfo, TensorInfo
from studbook.daemon.domain.model import ArtifactFile, Metric, ModelVersion
from studbook.daemon.domain.names import version_name
from studbook.daemon.domain.signature import Compatibility, check_compatibility

# Shared with the UI, which sorts "best first" by the same verdict the diff gives.
from studbook.metric_direction import metric_direction

MODEL_CARD_DIFF_LIMIT = 200 * 1024
PYTHON_VERSION_KEY = "python_version"
PLATFORM_KEY = "platform"
_OpTag = Literal["replace", "delete", "insert", "equal"]


class ChangeType(str, Enum):
    ADDED = "added"
    REMOVED = "removed"
    CHANGED = "changed"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class ValueChange:
    key: str
    change: ChangeType
    base: str | None
    target: str | None


@dataclass(frozen=True)
class MetricChange:
    key: str
    split: str
    change: ChangeType
    base: float | None
    target: float | None
    delta: float | None = None
    relative_delta: float | None = None
    # True: an improvement, False: a regression, None: no direction (unchanged, one-sided).
    better: bool | None = None


@dataclass(frozen=True)
class FileChange:
    path: str
    change: ChangeType
    base_sha256: str = ""
    target_sha256: str = ""
    base_size: int = 0
    target_size: int = 0
    # Set only when the file moved: its path in the base (the content is unchanged).
    base_path: str = ""

    @property
    def moved(self) -> bool:
        return bool(self.base_path) and self.base_path != self.path


@dataclass(frozen=True)
class TensorChange:
    """A tensor of the versions' bounded largest-tensor lists, matched by name."""

    name: str
    change: ChangeType
    base_dtype: str = ""
    target_dtype: str = ""
    base_shape: tuple[int, ...] = ()
    target_shape: tuple[int, ...] = ()

    @property
    def reshaped(self) -> bool:
        return self.change is ChangeType.CHANGED and self.base_shape != self.target_shape

    @property
    def retyped(self) -> bool:
        return self.change is ChangeType.CHANGED and self.base_dtype != self.target_dtype


@dataclass(frozen=True)
class VersionDiff:
    base: str
    target: str
    params: list[ValueChange] = field(default_factory=list)
    metrics: list[MetricChange] = field(default_factory=list)
    tags: list[ValueChange] = field(default_factory=list)
    environment: list[ValueChange] = field(default_factory=list)
    signature: Compatibility = field(default_factory=lambda: Compatibility(True))
    files: list[FileChange] = field(default_factory=list)
    model_card_diff: str = ""
    model_card_truncated: bool = False
    base_semver: str = ""
    target_semver: str = ""
    # The format records' facts (format, parameters, dtypes, architecture, family fields ...).
    format: list[ValueChange] = field(default_factory=list)
    tensors: list[TensorChange] = field(default_factory=list)


def diff_versions(
    base: ModelVersion, target: ModelVersion, *, card_diff_limit: int = MODEL_CARD_DIFF_LIMIT
) -> VersionDiff:
    """Everything that differs (and what does not) between `base` and `target`.

    What is compared, and how (everything is sorted, so the same two versions always give the
    same diff):

    - params, tags: by key. Every key of either side is listed, UNCHANGED ones too, so a
      reader can switch between "everything" and "only differences". An absent side is
      ``None`` (not ""), so a tag set to the empty string is told apart from a missing tag.
    - metrics: the latest value per (key, split) of each side; "latest" is the most recent
      ``time``, then the highest ``step``, then the last one listed. ``delta`` is
      target - base, ``relative_delta`` is delta / |base| (only when base is non-zero), and
      ``better`` says whether the change is an improvement by `metric_direction`. Two NaN
      values count as unchanged; a delta that is not a number is left out.
    - environment: installed packages by name, plus ``python_version`` and ``platform`` as
      keys. Package names are compared in their PEP 503 normal form (``scikit_learn`` and
      ``Scikit-Learn`` are one package); an empty python_version or platform is "not
      recorded", i.e. absent.
    - signature: `check_compatibility(base, target)`.
    - files: matched by path first. A path only in the base and a path only in the target
      that hold the same content (sha256 and size) are one *moved* file: a single CHANGED
      entry at the target path whose ``base_path`` is the old path and whose hashes are
      equal. A move is a difference (callers loading by path would break) but it is not new
      content, and reporting it as REMOVED plus ADDED would hide that. Several copies of one
      content are paired in path order. Files without a hash are never paired as moves.
    - model card: a unified diff in the ``diff -u`` / ``git diff`` format (3 lines of context,
      "\\ No newline at end of file" where it applies; only "\\n" ends a line), computed with
      difflib between the common first and last lines, capped at `MODEL_CARD_DIFF_LIMIT`
      bytes of UTF-8 and cut at a line end, followed by a note saying how many lines were
      left out. Cards are at most 1 MiB, which bounds the work at about a second or two of
      CPU for two unrelated cards; callers on an event loop should run it in a thread.
    - format: the format records' facts by name, as params are (`format_facts`); tensors
      from the records' bounded lists of largest tensors, matched by name: a tensor outside
      one side's list reads as added or removed, so they describe the largest tensors only.
    """
    base_name = version_name(base.model, base.number)
    target_name = version_name(target.model, target.number)
    card_diff, truncated = model_card_diff(
        base.model_card, target.model_card, base_name, target_name, limit=card_diff_limit
    )
    return VersionDiff(
        base=base_name,
        target=target_name,
        params=diff_mappings(base.params, target.params),
        metrics=diff_metrics(base.metrics, target.metrics),
        tags=diff_mappings(base.tags, target.tags),
        environment=diff_mappings(_environment_map(base), _environment_map(target)),
        signature=check_compatibility(base.signature, target.signature),
        files=diff_files(base.files, target.files),
        model_card_diff=card_diff,
        model_card_truncated=truncated,
        base_semver=base.semver,
        target_semver=target.semver,
        format=diff_mappings(format_facts(base.format_info), format_facts(target.format_info)),
        tensors=diff_tensors(base.format_info.tensors, target.format_info.tensors),
    )


def diff_mappings(base: Mapping[str, str], target: Mapping[str, str]) -> list[ValueChange]:
    """One entry per key of either side, sorted by key."""
    changes = []
    for key in sorted(base.keys() | target.keys()):
        old, new = base.get(key), target.get(key)
        changes.append(ValueChange(key, _change_type(old, new, old == new), old, new))
    return changes


def _change_type(old: object | None, new: object | None, equal: bool) -> ChangeType:
    if old is None:
        return ChangeType.ADDED
    if new is None:
        return ChangeType.REMOVED
    return ChangeType.UNCHANGED if equal else ChangeType.CHANGED


# --- metrics ----------------------------------------------------------------------------


def latest_metrics(metrics: Iterable[Metric]) -> dict[tuple[str, str], float]:
    """The latest value per (key, split): newest time, then highest step, then last listed."""
    chosen: dict[tuple[str, str], tuple[tuple[float, float, int], float]] = {}
    for position, metric in enumerate(metrics):
        rank = (
            metric.time.timestamp() if metric.time is not None else -math.inf,
            float(metric.step) if metric.step is not None else -math.inf,
            position,
        )
        slot = (metric.key, metric.split)
        if slot not in chosen or rank > chosen[slot][0]:
            chosen[slot] = (rank, metric.value)
    return {slot: value for slot, (_, value) in chosen.items()}


def diff_metrics(base: Iterable[Metric], target: Iterable[Metric]) -> list[MetricChange]:
    """One entry per (key, split) of either side, sorted by key then split."""
    old_values, new_values = latest_metrics(base), latest_metrics(target)
    changes = []
    for key, split in sorted(old_values.keys() | new_values.keys()):
        old, new = old_values.get((key, split)), new_values.get((key, split))
        changes.append(_metric_change(key, split, old, new))
    return changes


def _metric_change(key: str, split: str, old: float | None, new: float | None) -> MetricChange:
    if old is None or new is None:
        return MetricChange(key, split, _change_type(old, new, False), old, new)
    # NaN != NaN, yet a metric that was NaN and still is has not changed.
    if math.isnan(old) and math.isnan(new):
        return MetricChange(key, split, ChangeType.UNCHANGED, old, new)
    if old == new:
        relative_zero = 0.0 if old != 0 and math.isfinite(old) else None
        return MetricChange(key, split, ChangeType.UNCHANGED, old, new, 0.0, relative_zero)
    delta: float | None = new - old
    if delta is not None and math.isnan(delta):
        # inf - inf or a NaN on one side: there is no meaningful difference to show.
        delta = None
    relative = delta / abs(old) if delta is not None and old != 0 and math.isfinite(old) else None
    better = None if delta is None else (delta * metric_direction(key)) > 0
    return MetricChange(key, split, ChangeType.CHANGED, old, new, delta, relative, better)


# --- environment ------------------------------------------------------------------------


def _environment_map(version: ModelVersion) -> dict[str, str]:
    env = version.environment
    packages = {_normalize_package(name): value for name, value in sorted(env.packages.items())}
    if env.python_version:
        packages[PYTHON_VERSION_KEY] = env.python_version
    if env.platform:
        packages[PLATFORM_KEY] = env.platform
    return packages


def _normalize_package(name: str) -> str:
    # PEP 503: runs of "-", "_" and "." are one separator; names are case-insensitive.
    return re.sub(r"[-_.]+", "-", name).lower()


# --- files ------------------------------------------------------------------------------


def diff_files(base: Iterable[ArtifactFile], target: Iterable[ArtifactFile]) -> list[FileChange]:
    """Files matched by path, then moves paired by content; sorted by (target) path."""
    old_files = {file.path: file for file in base}
    new_files = {file.path: file for file in target}
    changes: list[FileChange] = []
    for path in sorted(old_files.keys() & new_files.keys()):
        old, new = old_files[path], new_files[path]
        same = (old.sha256, old.size) == (new.sha256, new.size)
        changes.append(
            FileChange(
                path,
                ChangeType.UNCHANGED if same else ChangeType.CHANGED,
                old.sha256,
                new.sha256,
                old.size,
                new.size,
            )
        )
    removed = [old_files[path] for path in sorted(old_files.keys() - new_files.keys())]
    added = [new_files[path] for path in sorted(new_files.keys() - old_files.keys())]
    moves, removed, added = _pair_moves(removed, added)
    changes.extend(
        FileChange(new.path, ChangeType.CHANGED, old.sha256, new.sha256, old.size, new.size, old.path)
        for old, new in moves
    )
    changes.extend(FileChange(f.path, ChangeType.REMOVED, f.sha256, "", f.size, 0) for f in removed)
    changes.extend(FileChange(f.path, ChangeType.ADDED, "", f.sha256, 0, f.size) for f in added)
    changes.sort(key=lambda change: (change.path, change.base_path, change.change.value))
    return changes


def _pair_moves(
    removed: list[ArtifactFile], added: list[ArtifactFile]
) -> tuple[list[tuple[ArtifactFile, ArtifactFile]], list[ArtifactFile], list[ArtifactFile]]:
    """Pair removed and added files of equal content, in path order; the rest stay unpaired."""
    waiting: dict[tuple[str, int], list[ArtifactFile]] = defaultdict(list)
    for file in added:
        if file.sha256:
            waiting[(file.sha256, file.size)].append(file)
    moves: list[tuple[ArtifactFile, ArtifactFile]] = []
    still_removed: list[ArtifactFile] = []
    for file in removed:
        candidates = waiting.get((file.sha256, file.size)) if file.sha256 else None
        if candidates:
            moves.append((file, candidates.pop(0)))
        else:
            still_removed.append(file)
    moved_to = {id(new) for _, new in moves}
    return moves, still_removed, [file for file in added if id(file) not in moved_to]


# --- format records ---------------------------------------------------------------------


def format_facts(record: FormatInfo) -> dict[str, str]:
    """A record's facts as text by name: common ones plainly, a family's as `family.field`.

    Lists join with ","; the tensor list is compared on its own (`diff_tensors`). Empty
    values are left out, so a fact a reader did not learn reads as absent, not as "".
    """
    facts: dict[str, str] = {}

    def put(key: str, value: object) -> None:
        if isinstance(value, tuple):
            value = ",".join(str(v.name if isinstance(v, TensorInfo) else v) for v in value)
        elif isinstance(value, bool):
            value = "true" if value else ""
        elif isinstance(value, dict):
            for sub, text in sorted(value.items()):
                put(f"{key}.{sub}", text)
            return
        text = str(value)
        if text and text not in ("0", "-1"):
            facts[key] = text

    for name in ("format", "framework", "framework_version", "architecture", "tensor_count", "parameters",
                 "dtypes"):  # fmt: skip
        put(name, getattr(record, name))
    for family in ("onnx", "gguf", "keras", "pickle", "mlflow", "savedmodel", "huggingface"):
        sub = getattr(record, family)
        if sub is not None:
            for name, value in vars(sub).items():
                put(f"{family}.{name}", value)
    put("details", record.details)
    return facts


def diff_tensors(base: Iterable[TensorInfo], target: Iterable[TensorInfo]) -> list[TensorChange]:
    """One entry per tensor name of either list, sorted by name; CHANGED when dtype or shape differ."""
    old, new = {t.name: t for t in base}, {t.name: t for t in target}
    changes = []
    for name in sorted(old.keys() | new.keys()):
        a, b = old.get(name), new.get(name)
        if a is None and b is not None:
            changes.append(TensorChange(name, ChangeType.ADDED, target_dtype=b.dtype, target_shape=b.shape))
        elif b is None and a is not None:
            changes.append(TensorChange(name, ChangeType.REMOVED, base_dtype=a.dtype, base_shape=a.shape))
        elif a is not None and b is not None:
            kind = ChangeType.UNCHANGED if (a.dtype, a.shape) == (b.dtype, b.shape) else ChangeType.CHANGED
            changes.append(TensorChange(name, kind, a.dtype, b.dtype, a.shape, b.shape))
    return changes


# --- model card -------------------------------------------------------------------------


def model_card_diff(
    base: str, target: str, base_label: str, target_label: str, *, limit: int = MODEL_CARD_DIFF_LIMIT
) -> tuple[str, bool]:
    """A unified diff of two cards, at most `limit` UTF-8 bytes plus a note; (text, truncated)."""
    if base == target:
        return "", False
    lines = _unified_lines(base, target, base_label, target_label)
    kept: list[str] = []
    size = 0
    for line in lines:
        line_size = len(line.encode("utf-8", "surrogatepass"))
        if size + line_size > limit:
            left_out = 1 + sum(1 for _ in lines)
            kept.append(f"... model card diff truncated at {limit} bytes: {left_out} more lines not shown\n")
            return "".join(kept), True
        kept.append(line)
        size += line_size
    return "".join(kept), False


def _unified_lines(base: str, target: str, base_label: str, target_label: str) -> Iterator[str]:
    """`difflib.unified_diff` with 3 lines of context, matching only between common ends."""
    old, new = _split_lines(base), _split_lines(target)
    yield f"--- {base_label}\n"
    yield f"+++ {target_label}\n"
    for group in _EndsTrimmedMatcher(old, new).get_grouped_opcodes(3):
        first, last = group[0], group[-1]
        yield f"@@ -{_hunk_range(first[1], last[2])} +{_hunk_range(first[3], last[4])} @@\n"
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                yield from _marked(" ", old[i1:i2])
                continue
            yield from _marked("-", old[i1:i2])
            yield from _marked("+", new[j1:j2])


class _EndsTrimmedMatcher(difflib.SequenceMatcher[str]):
    """Matches only the lines between the common prefix and suffix of two texts.

    Most card edits are local, and trimming the common ends first is linear. It also keeps
    difflib's "popular line" heuristic, which treats a line making up more than 1% of a
    long text as junk, from turning a one-line edit of a repetitive card into a rewrite.
    """

    def __init__(self, old: list[str], new: list[str]) -> None:
        prefix = 0
        shortest = min(len(old), len(new))
        while prefix < shortest and old[prefix] == new[prefix]:
            prefix += 1
        suffix = 0
        while suffix < shortest - prefix and old[-1 - suffix] == new[-1 - suffix]:
            suffix += 1
        self._old_len, self._new_len = len(old), len(new)
        self._prefix, self._suffix = prefix, suffix
        super().__init__(None, old[prefix : len(old) - suffix], new[prefix : len(new) - suffix])

    def get_opcodes(self) -> list[tuple[_OpTag, int, int, int, int]]:
        prefix, suffix = self._prefix, self._suffix
        codes: list[tuple[_OpTag, int, int, int, int]] = [("equal", 0, prefix, 0, prefix)] if prefix else []
        codes.extend(
            (tag, i1 + prefix, i2 + prefix, j1 + prefix, j2 + prefix) for tag, i1, i2, j1, j2 in super().get_opcodes()
        )
        if suffix:
            codes.append(("equal", self._old_len - suffix, self._old_len, self._new_len - suffix, self._new_len))
        return codes


def _hunk_range(start: int, stop: int) -> str:
    # As difflib and diff(1) write a hunk's line range: 1-based, an empty range before its line.
    length = stop - start
    if length == 1:
        return str(start + 1)
    return f"{start + 1 if length else start},{length}"


def _marked(mark: str, lines: list[str]) -> Iterator[str]:
    for line in lines:
        if line.endswith("\n"):
            yield mark + line
        else:
            # As git and diff(1) show a last line that has no newline.
            yield f"{mark}{line}\n"
            yield "\\ No newline at end of file\n"


def _split_lines(text: str) -> list[str]:
    # Only "\n" ends a line; str.splitlines would also split at \r, \x0c, \u2028 and others.
    lines = text.split("\n")
    with_ends = [line + "\n" for line in lines[:-1]]
    if lines[-1]:
        with_ends.append(lines[-1])
    return with_ends
