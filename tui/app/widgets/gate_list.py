"""GateList: the verdict of each gate, one row per gate, its detail wrapped under its own column.

A DataTable cuts a long detail ("metrics.auc 0.87 < 0.90 on split test, …") at the column's
edge; here the detail wraps beside the gate's name, and the list scrolls when it is taller
than the room it is given.
"""

from __future__ import annotations

from collections.abc import Sequence

from studbook.client.safe_text import safe
from studbook.v1 import stages_pb2
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.widgets import Static

PASS, FAIL = "pass", "FAIL"


def verdict(gate: stages_pb2.GateResult) -> Content:
    """`pass gate` or `FAIL gate`, the word coloured, so the verdict reads without colour too."""
    word = Content.styled(PASS if gate.passed else FAIL, "$text-success" if gate.passed else "$text-error bold")
    return Content.assemble(word, " ", safe(gate.gate))


class GateList(VerticalScroll):
    """Shows `show(gates)` or a one-line `note(text)` (checking…, no gates, an error)."""

    def allow_focus(self) -> bool:
        # A stop for tab only when there is something to scroll to; else tab goes on to the next field.
        return self.max_scroll_y > 0

    def show(self, gates: Sequence[stages_pb2.GateResult]) -> None:
        if not gates:
            self.note("no gates apply to this target")
            return
        # Every name column as wide as the longest verdict, so the details line up.
        width = max(len(PASS) + 1 + len(safe(g.gate)) for g in gates) + 2
        rows = []
        for gate in gates:
            name = Static(verdict(gate), classes="gate-name")
            name.styles.width = width
            detail = Static(safe(gate.detail), classes="gate-detail", markup=False)
            rows.append(Horizontal(name, detail, classes="gate-row -pass" if gate.passed else "gate-row -fail"))
        self._replace(rows)

    def note(self, text: str) -> None:
        self._replace([Static(Content.styled(safe(text), "$text-muted"), classes="gate-note")])

    def _replace(self, rows: list[Horizontal] | list[Static]) -> None:
        self.remove_children()
        self.mount_all(rows)
        self.scroll_home(animate=False)
