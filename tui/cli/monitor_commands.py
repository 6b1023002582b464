"""`studbook candidate MODEL@STAGE` and the Monitors block of `studbook status`: which stages are
in breach, on what figures, and which earlier holder to put back."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from studbook.cli.output import Painter, fields, format_number, format_time, table
from studbook.cli.production_commands import stage_target
from studbook.client.safe_text import safe
from studbook.v1 import production_pb2

if TYPE_CHECKING:
    from studbook.cli.commands import Context

EXIT_OK = 0

EPILOG = """\
Earlier holders are ranked by the mean of the key over what they measured in production while
they held the stage; one without a production record by its evaluation metric.

examples:
  studbook candidate fraud@production
  studbook candidate fraud@production --key=-latency_ms
  studbook rollback fraud production --to 7 --reason "drift: auc 0.84"
"""

_BASIS = {
    production_pb2.CANDIDATE_BASIS_PRODUCTION: "production",
    production_pb2.CANDIDATE_BASIS_EVALUATION: "evaluation",
}


def add_parsers(command: Callable[[str, Any, str], argparse.ArgumentParser]) -> None:
    candidate = command("candidate", cmd_candidate, "which earlier holder of a stage to put back, ranked")
    candidate.formatter_class = argparse.RawDescriptionHelpFormatter
    candidate.epilog = EPILOG
    candidate.add_argument("ref", type=stage_target, metavar="MODEL@STAGE")
    candidate.add_argument("--key", default="", metavar="KEY",
                           help="rank by this metric, --key=-KEY when lower is better (default: the stage's monitor's)")  # fmt: skip


def cmd_candidate(args: argparse.Namespace, ctx: Context) -> int:
    model, stage = args.ref
    found = ctx.client.rollback_candidate(model, stage, key=args.key)
    ctx.emit(found, lambda: candidate_text(found, ctx.paint))
    return EXIT_OK


def _short(version: str) -> str:
    """`models/fraud/versions/7` as `v7`."""
    return f"v{version.rsplit('/', 1)[-1]}" if version else ""


def _held(ranked: production_pb2.RankedHolder) -> str:
    stretches = [
        f"{format_time(t.start)} – {format_time(t.end) if t.HasField('end') else 'now'}" for t in ranked.tenures
    ]
    return "; ".join(stretches[-2:]) + (f" (+{len(stretches) - 2} earlier)" if len(stretches) > 2 else "")


def candidate_text(c: production_pb2.RollbackCandidate, paint: Painter) -> str:
    head = fields([
        ("holder", _short(c.holder) or "none"), ("candidate", paint(_short(c.version), "bold") if c.version else "none"),
        ("rollback brings back", _short(c.rollback_brings_back) or "nothing (no previous holder)"),
    ], paint=paint)  # fmt: skip
    blocks = [head]
    if c.ranking:
        rows = [(i, _short(r.version), _BASIS.get(r.basis, "no figure"), safe(r.key),
                 format_number(r.value) if r.basis else "-", _held(r)) for i, r in enumerate(c.ranking, start=1)]  # fmt: skip
        blocks.append(table(("#", "VERSION", "BASIS", "KEY", "VALUE", "HELD"), rows, paint=paint))
    blocks.append(safe(c.summary))
    return "\n\n".join(blocks)


def worst(state: production_pb2.MonitorState) -> production_pb2.MonitorFinding | None:
    breached = [f for f in state.findings if f.breached]
    return max(breached, key=lambda f: f.windows_in_breach) if breached else None


def finding_text(f: production_pb2.MonitorFinding) -> str:
    subject = f"{safe(f.subject)} " if f.subject else ""
    runs = f", {f.windows_in_breach} window{'s' if f.windows_in_breach != 1 else ''}"
    return f"{subject}{format_number(f.observed)} ({safe(f.rule)}){runs}"


def status_lines(states: Sequence[production_pb2.MonitorState], paint: Painter) -> str:
    """The `studbook status` block: each stage in breach with its version, since when, the worst
    finding and the candidate; a line saying all is well otherwise."""
    breached = [s for s in states if s.breached]
    if not breached:
        watched = len(states)
        return f"{watched} stage{'s' if watched != 1 else ''} watched, none in breach" if watched else ""
    lines = []
    for s in breached:
        model = s.model.removeprefix("models/")
        found = worst(s)
        line = (f"{paint(safe(model) + '@' + safe(s.stage), 'bold')} {_short(s.version)} "
                f"{paint('in breach', 'red')} since {format_time(s.since)}"
                + (f": {finding_text(found)}" if found is not None else ""))  # fmt: skip
        lines.append(line)
        if s.candidate.version:
            lines.append(f"  candidate {_short(s.candidate.version)}: {safe(s.candidate.summary)}")
        if s.auto_rollback:
            lines.append(f"  auto_rollback: {safe(s.auto_rollback)}")
    return "\n".join(lines)


def changed_lines(states: Sequence[production_pb2.MonitorState], paint: Painter) -> str:
    """What a log call changed, for `studbook observe`: a breach (with the candidate and what
    auto_rollback did) or a recovery, one block each; "" when nothing changed."""
    lines = []
    for s in states:
        where = f"{safe(s.model.removeprefix('models/'))}@{safe(s.stage)} {_short(s.version)}"
        if s.breached:
            found = worst(s)
            lines.append(f"{paint('drift detected', 'red')} on {where}"
                         + (f": {finding_text(found)}" if found is not None else ""))  # fmt: skip
            if s.candidate.summary:
                lines.append(f"  {safe(s.candidate.summary)}")
            if s.auto_rollback:
                lines.append(f"  auto_rollback: {safe(s.auto_rollback)}")
        else:
            lines.append(f"{paint('drift cleared', 'green')} on {where}")
    return "\n".join(lines)


def event_detail(s: production_pb2.MonitorState, paint: Painter) -> str:
    """A drift event in `studbook watch`: the holder; on a breach its worst finding and the candidate."""
    if not s.breached:
        return _short(s.version)
    found = worst(s)
    text = _short(s.version) + (f": {finding_text(found)}" if found is not None else "")
    if s.candidate.version:
        text += f"; candidate {_short(s.candidate.version)}"
    return paint(text, "red")
