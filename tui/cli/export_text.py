"""The human lines `studbook export` prints: what was written where, and what the format could not say."""

from __future__ import annotations

from typing import Any

from studbook.client.safe_text import safe


def summary_lines(ref: str, summary: dict[str, Any]) -> list[str]:
    lines = [f"exported {safe(ref)} as {summary['format']} into {safe(summary['dest'])}"]
    if "manifest" in summary:
        lines.append(f"  manifest {summary['manifest']}, tags {', '.join(map(safe, summary['tags']))}")
        lines.append(f"  {summary['layers']} layers, {summary['files']} files of the version")
    if "versions" in summary:
        count = len(summary["versions"])
        lines.append(f"  {count} version{'s' if count != 1 else ''}, each with its run")
        lines.extend(
            f"  {safe(name)}: only referenced, its files are not in the export" for name in summary["not_kept"]
        )
    if "request" in summary:
        approval = f" (approval {summary['approval']})" if "approval" in summary else ""
        lines.append(f"  request {summary['request']}{approval}")
    lines.extend(f"  note: {safe(note)}" for note in summary.get("notes", []))
    lines.extend(f"  left out {safe(d['key'])}: {d['reason']}" for d in summary.get("dropped", []))
    return lines
