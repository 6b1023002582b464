"""Rows and text of the diff screen, from a VersionDiff: deltas coloured by `better`, files by hash."""

from __future__ import annotations

from collections.abc import Iterable

from studbook.cli import format_view
from studbook.client.safe_text import safe
from studbook.tui import cells
from studbook.tui.cells import ThemeText
from studbook.tui.widgets.change_table import ChangeRow
from studbook.v1 import registry_pb2
from textual.content import Content

CHANGE_MARKS = {
    registry_pb2.CHANGE_TYPE_ADDED: ("added", "good"),
    registry_pb2.CHANGE_TYPE_REMOVED: ("removed", "bad"),
    registry_pb2.CHANGE_TYPE_CHANGED: ("changed", "warn"),
    registry_pb2.CHANGE_TYPE_UNCHANGED: ("", None),
}
# Card diffs longer than this many lines are cut; the daemon already bounds them in bytes.
CARD_LINES = 400


def _changed(change: int) -> bool:
    return change != registry_pb2.CHANGE_TYPE_UNCHANGED


def _opt(message: registry_pb2.MetricChange, field: str) -> float | None:
    return getattr(message, field) if message.HasField(field) else None


def delta_text(change: registry_pb2.MetricChange) -> tuple[str, str | None]:
    """`+0.0050 (+0.5%) ▲` and its role: good when better, bad when worse, none without direction."""
    delta = _opt(change, "delta")
    if delta is None:
        label, role = CHANGE_MARKS.get(change.change, ("", None))
        return label, role
    text = f"{delta:+.4g}"
    relative = _opt(change, "relative_delta")
    if relative is not None:
        text += f" ({relative:+.1%})"
    if not change.HasField("better") or delta == 0:
        return text, None
    return (text + " ▲", "good") if change.better else (text + " ▼", "bad")


def metric_rows(changes: Iterable[registry_pb2.MetricChange], paint: ThemeText) -> list[ChangeRow]:
    rows = []
    for change in changes:
        delta, role = delta_text(change)
        rows.append(
            ChangeRow(
                paint(f"{change.key}[{change.split}]" if change.split else change.key, "bold"),
                paint(cells.value(_opt(change, "base"))),
                paint(cells.value(_opt(change, "target"))),
                paint(delta, role),
                _changed(change.change),
            )
        )
    return rows


def value_rows(changes: Iterable[registry_pb2.ValueChange], paint: ThemeText) -> list[ChangeRow]:
    rows = []
    for change in changes:
        label, role = CHANGE_MARKS.get(change.change, ("", None))
        rows.append(
            ChangeRow(paint(change.key, "bold"), paint(change.base), paint(change.target, role), paint(label, role),
                      _changed(change.change))
        )  # fmt: skip
    return rows


def file_rows(changes: Iterable[registry_pb2.FileChange], paint: ThemeText) -> list[ChangeRow]:
    """Files compared by content: a short hash and size per side; moves say where from."""
    rows = []
    for change in changes:
        label, role = CHANGE_MARKS.get(change.change, ("", None))
        if change.base_path and change.base_path != change.path:
            label, role = f"moved from {change.base_path}", "accent"
        rows.append(
            ChangeRow(
                paint(change.path),
                paint(_side(change.base_sha256, change.base_size), "muted"),
                paint(_side(change.target_sha256, change.target_size), "muted"),
                paint(label, role),
                _changed(change.change) or bool(change.base_path and change.base_path != change.path),
            )
        )
    return rows


def tensor_rows(changes: Iterable[registry_pb2.TensorChange], paint: ThemeText) -> list[ChangeRow]:
    """The largest tensors of each side: dtype and shape per side, and whether it was reshaped or retyped."""
    rows = []
    for change in changes:
        label, role = CHANGE_MARKS.get(change.change, ("", None))
        if change.change == registry_pb2.CHANGE_TYPE_CHANGED:
            reshaped = list(change.base_shape) != list(change.target_shape)
            retyped = change.base_dtype != change.target_dtype
            what = [word for word, differs in (("reshaped", reshaped), ("retyped", retyped)) if differs]
            label = ", ".join(what) or label
        rows.append(
            ChangeRow(
                paint(change.name, "bold"),
                paint(_tensor(change.base_dtype, change.base_shape), "muted"),
                paint(_tensor(change.target_dtype, change.target_shape), "muted"),
                paint(label, role),
                _changed(change.change),
            )
        )
    return rows


def _tensor(dtype: str, shape: Iterable[int]) -> str:
    dims = list(shape)
    if not dtype and not dims:
        return ""
    return f"{dtype} {format_view.shape(dims)}".strip()


def _side(sha256: str, size: int) -> str:
    return f"{sha256[:12]} {cells.size(size)}".strip() if sha256 else ""


def signature_text(signature: registry_pb2.SignatureCompatibility) -> Content:
    if signature.compatible:
        head = Content.assemble(
            ("✓ compatible", "$text-success"), ": callers of the base can call the target unchanged"
        )
    else:
        head = Content.assemble(("✗ breaking", "$text-error"), ": callers of the base must change")
    # Assembled, never parsed as markup: the reasons quote user-named tensors.
    return Content("\n").join([head, *(Content(f"  • {safe(reason)}") for reason in signature.reasons)])


def card_diff_text(diff: str, truncated: bool) -> Content:
    """A unified diff, added lines in the success colour and removed ones in the error colour."""
    if not diff.strip():
        return Content.styled("the model cards are identical", "$text-muted")
    lines = []
    for line in diff.splitlines()[:CARD_LINES]:
        shown = safe(line)
        if line.startswith("+") and not line.startswith("+++"):
            lines.append(Content.styled(shown, "$text-success"))
        elif line.startswith("-") and not line.startswith("---"):
            lines.append(Content.styled(shown, "$text-error"))
        elif line.startswith("@@"):
            lines.append(Content.styled(shown, "$text-primary"))
        else:
            lines.append(Content(shown))
    if truncated or len(diff.splitlines()) > CARD_LINES:
        lines.append(Content.styled("… the card diff was cut here", "$text-warning"))
    return Content("\n").join(lines)
