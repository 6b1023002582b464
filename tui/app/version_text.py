"""What the version screen shows, computed from messages: overview text, chart series, history rows."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from studbook.cli import format_view
from studbook.cli.output import enum_label, format_number
from studbook.cli.views import keeping
from studbook.client.names import short_promotion
from studbook.client.safe_text import safe_message
from studbook.tui import cells
from studbook.tui.cells import ThemeText
from studbook.tui.timefmt import TimeFormat
from studbook.tui.widgets.detail_pane import Field
from studbook.tui.widgets.line_chart import Series
from studbook.v1 import resources_pb2, stages_pb2
from textual.content import Content


def _field(label: str, value: str) -> Content | None:
    """One `label  value` line; None when there is no value, so the line is left out.

    Assembled, never parsed: markup escaping is not enough for user text (a stray `[2J`
    makes the parser show the next escaped tag with its backslash)."""
    return Content.assemble((f"{label:<14}", "$text-muted"), " ", value) if value else None


def overview_text(v: resources_pb2.ModelVersion, times: TimeFormat) -> Content:
    """The overview tab: identity, status, provenance, training, lineage in short, signature."""
    v = safe_message(v)  # every string below may be user text
    status = cells.status(v) + (f" — {v.status_reason}" if v.status_reason else "")
    status_style = {"failed": "$text-error", "quarantined": "$text-error", "ready": "$text-success"}.get(
        cells.status(v), "$text-warning"
    )
    training = v.training
    lines = [
        Content.assemble(
            (cells.model_id(v.model), "bold"),
            f" v{v.number}  ",
            (v.semver, "$text-primary"),
            f"  ({enum_label(resources_pb2.ChangeKind, v.change_kind)} change)",
        ),  # fmt: skip
        Content.assemble((f"{'status':<14}", "$text-muted"), " ", (status, status_style)),
        _field("stages", " ".join(v.stages)),
        _field("aliases", " ".join(v.aliases)),
        _field("description", v.description),
        _field("created", times.both(v.create_time)),
        _field("by", " from ".join(x for x in (v.created_by, v.created_from) if x)),
        _field("storage", v.storage_uri),
        _field("files", keeping(v)),
        _field("digest", v.content_digest),
        _field("size", f"{cells.size(v.total_size)} in {len(v.files)} files" if v.files else ""),
        _field("format", format_view.summary_line(v.format_info)),
        _field("tags", ", ".join(f"{k}={val}" for k, val in sorted(v.tags.items()))),
        _field("metrics", "  ".join(f"{cells.metric_label(m)}={format_number(m.value)}" for m in v.metrics)),
        Content(""),
        _field("seed", str(training.seed) if training.HasField("seed") else ""),
        _field("data", ", ".join(f"{k}@{val}" for k, val in sorted(training.data_versions.items()))),
        _field("code", training.code_commit + (" (dirty)" if training.code_dirty else "")),
        _field("entry point", training.entry_point),
        _field("run", v.run.run_id),
        _field("datasets", ", ".join(f"{d.name}@{d.version}" if d.version else d.name for d in v.datasets)),
        _field(
            "parents",
            ", ".join(
                f"{cells.number(p.version)} of {cells.model_id(p.version.split('/versions/')[0])} "
                f"({enum_label(resources_pb2.ParentRelation, p.relation).replace('_', ' ')})"
                for p in v.parents
            ),
        ),
        Content(""),
        _field("inputs", _tensors(v.signature.inputs)),
        _field("outputs", _tensors(v.signature.outputs)),
    ]
    kept: list[Content] = []
    for line in lines:
        # An empty line separates groups; never two in a row, never one first.
        if line is not None and (line.plain or (kept and kept[-1].plain)):
            kept.append(line)
    while kept and not kept[-1].plain:
        kept.pop()
    return Content("\n").join(kept)


def _tensors(specs: Iterable[resources_pb2.TensorSpec]) -> str:
    shown = []
    for spec in specs:
        shape = "×".join("?" if d < 0 else str(d) for d in spec.shape)
        shown.append(f"{spec.name}: {spec.dtype}[{shape}]" + (" optional" if spec.optional else ""))
    return ", ".join(shown)


def version_series(versions: Iterable[resources_pb2.ModelVersion], key: str) -> tuple[Series, ...]:
    """The latest value of `key` per version (one series per split), oldest version first."""
    by_split: dict[str, list[tuple[float, float]]] = {}
    for version in versions:
        for metric in version.metrics:
            if metric.key == key and not metric.HasField("step"):
                by_split.setdefault(metric.split, []).append((float(version.number), metric.value))
    return tuple(Series(split or key, tuple(sorted(points))) for split, points in sorted(by_split.items()))


def metric_series(observations: Iterable[resources_pb2.Metric], key: str) -> tuple[Series, ...]:
    """Per-step curves of `key`, one per split, in step order; scalar observations are left out."""
    by_split: dict[str, dict[int, float]] = {}
    for metric in observations:
        if metric.key == key and metric.HasField("step"):
            by_split.setdefault(metric.split, {})[metric.step] = metric.value  # the last value of a step wins
    return tuple(
        Series(split or key, tuple((float(step), value) for step, value in sorted(points.items())))
        for split, points in sorted(by_split.items())
    )


@dataclass(frozen=True)
class MetricRow:
    key: str
    split: str
    # The last value observed (highest step, or the scalar).
    value: float
    # `12 steps` for a series, "" for a scalar.
    steps: str


def metric_summary(observations: Iterable[resources_pb2.Metric]) -> list[MetricRow]:
    """One row per (key, split): its latest value and how many steps were logged, sorted by key."""
    latest: dict[tuple[str, str], tuple[int, float]] = {}
    steps: dict[tuple[str, str], set[int]] = {}
    for metric in observations:
        pair = (metric.key, metric.split)
        step = metric.step if metric.HasField("step") else -1
        if pair not in latest or step >= latest[pair][0]:
            latest[pair] = (step, metric.value)
        if metric.HasField("step"):
            steps.setdefault(pair, set()).add(metric.step)
    return [
        MetricRow(key, split, value, f"{len(steps[(key, split)])} steps" if (key, split) in steps else "")
        for (key, split), (_, value) in sorted(latest.items())
    ]


def history_rows(
    history: stages_pb2.GetStageHistoryResponse, version_name: str, times: TimeFormat
) -> Iterator[tuple[tuple[str, ...], bool]]:
    """Rows of the history tab, newest first, each with whether it involves `version_name`."""
    for change in history.changes:
        reason = ("rollback: " if change.rollback and not change.reason.startswith("rollback") else "") + change.reason
        row = (
            times.absolute(change.time),
            change.stage + (" (alias)" if change.is_alias else ""),
            cells.number(change.version) or "removed",
            cells.number(change.previous_version),
            change.actor,
            reason,
        )
        yield row, version_name in (change.version, change.previous_version)


def change_fields(change: stages_pb2.StageChange, times: TimeFormat, paint: ThemeText) -> list[Field]:
    """One stage change whole, for the detail pane: who, when, what it replaced, why, through what."""
    target = change.stage + (" (alias)" if change.is_alias else "")
    held = cells.number(change.version) or "removed"
    before = f", replacing {cells.number(change.previous_version)}" if change.previous_version else ""
    how = "rollback" if change.rollback else "promotion"
    fields: list[Field] = [
        ("change", paint(f"{target} → {held}{before}", "bold")),
        ("when", paint(times.both(change.time))),
        ("by", paint(change.actor)),
        ("reason", paint(change.reason or "(none given)")),
        ("through", paint(f"{how} {short_promotion(change.promotion)}" if change.promotion else how, "muted")),
    ]
    return fields
