"""The promotion policy in force, as `studbook status` shows it to a person."""

from __future__ import annotations

from collections.abc import Sequence

from studbook.cli.output import PLAIN, Painter, fields, format_time
from studbook.v1 import production_pb2, stages_pb2


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'s' * (count != 1)}"


def monitors_clause(status: stages_pb2.PolicyStatus, states: Sequence[production_pb2.MonitorState] | None,
                    paint: Painter = PLAIN) -> str:  # fmt: skip
    """`2 monitors watching 3 stages, 1 in breach`: the policy's monitor tables, the stages of the
    catalog's models they watch, and how many of those are in breach now (`states`: ListMonitorStates;
    None from a daemon too old to say, then only the tables are counted)."""
    clause = _plural(status.monitors, "monitor")
    if states is None or not status.monitors:
        return clause
    breached = sum(1 for s in states if s.breached)
    now = paint(f"{breached} in breach", "red") if breached else "none in breach"
    return f"{clause} watching {_plural(len(states), 'stage')}, {now}"


def policy_status(status: stages_pb2.PolicyStatus, paint: Painter = PLAIN,
                  monitors: Sequence[production_pb2.MonitorState] | None = None) -> str:  # fmt: skip
    """Which file, whether it is in force and since when, what it holds (with what its monitors
    watch, given their `monitors` states), and why a newer file is not."""
    where = status.path + (" (the default location)" if status.default_location else "")
    if status.in_force:
        rules = (f"{_plural(status.model_rules, 'model rule')}, {_plural(status.stage_gates, 'stage gate')}, "
                 f"{monitors_clause(status, monitors, paint)}")  # fmt: skip
        state = f"{paint('in force', 'green')} since {format_time(status.load_time)}: {rules}"
    elif status.path:
        state = paint("none", "yellow") + " (only the built-in gates: production refuses code that runs on load)"
    else:
        state = paint("none", "yellow")
    problem = ""
    if status.error:
        kept = "the policy above stays in force" if status.in_force else "no policy is in force"
        problem = f"{paint(status.error, 'red')} ({format_time(status.error_time)}); {kept} until the file is fixed"
    hint = ""
    if not status.in_force and not status.error and status.default_location:
        hint = "write a policy there and it is loaded at the next promotion or status"
    return fields(
        [
            ("file", where or "none (the daemon was started without one)"),
            ("policy", state),
            ("sha256", status.sha256 if status.in_force else ""),
            ("not loaded", problem),
            ("hint", hint),
        ],
        paint=paint,
    )
