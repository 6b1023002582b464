"""What an import did, item by item: imported, skipped (and why), or what a dry run would do;
rendered as text for people and as a dict for --json."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Literal

from studbook.client.safe_text import safe

PLURALS = {"alias": "aliases", "archive": "archived"}

Outcome = Literal["imported", "updated", "skipped", "failed", "would import"]


@dataclass
class Item:
    """One thing met in the source: a model, a version, a stage, an alias."""

    kind: str
    """model, version, stage, alias or archive."""
    subject: str
    """As studbook names it (`fraud@3`, `fraud@production`); the source's name in `source`."""
    outcome: Outcome
    detail: str = ""
    """Why it was skipped or failed; what was left out of an imported one."""
    source: str = ""


@dataclass
class ImportReport:
    source: str
    dry_run: bool
    items: list[Item] = field(default_factory=list)

    def add(self, kind: str, subject: str, outcome: Outcome, detail: str = "", source: str = "") -> Item:
        item = Item(kind, subject, outcome, detail, source)
        self.items.append(item)
        return item

    def counts(self) -> dict[str, dict[str, int]]:
        """kind -> outcome -> how many."""
        found: dict[str, Counter[str]] = {}
        for item in self.items:
            found.setdefault(item.kind, Counter())[item.outcome] += 1
        return {kind: dict(counter) for kind, counter in found.items()}

    @property
    def failed(self) -> bool:
        return any(item.outcome == "failed" for item in self.items)

    def data(self) -> dict[str, object]:
        return {"source": self.source, "dry_run": self.dry_run, "counts": self.counts(),
                "items": [asdict(item) for item in self.items]}  # fmt: skip


def report_text(report: ImportReport) -> str:
    """A count per kind and outcome, then every item that was not simply imported, with why."""
    head = "dry run: nothing was changed; " if report.dry_run else ""
    lines = [f"{head}MLflow import from {safe(report.source)}"]
    for kind, counts in report.counts().items():
        shown = ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items()))
        lines.append(f"  {PLURALS.get(kind, kind + 's'):<9} {shown}")
    noted = [item for item in report.items if item.detail or item.outcome in ("skipped", "failed")]
    if noted:
        lines.append("")
    for item in noted:
        source = f" (MLflow: {safe(item.source)})" if item.source and item.source != item.subject else ""
        lines.append(f"  {item.outcome:<12} {item.kind} {safe(item.subject)}{source}: {safe(item.detail)}")
    if not report.items:
        lines.append("  the source holds no registered models")
    return "\n".join(lines)
