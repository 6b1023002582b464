"""The promotion policy in force, as `studbook status` shows it to a person."""

from __future__ import annotations

from studbook.cli.output import PLAIN, Painter, fields, format_time
from studbook.v1 import stages_pb2


def policy_status(status: stages_pb2.PolicyStatus, paint: Painter = PLAIN) -> str:
    """Which file, whether it is in force and since when, what it holds, and why a newer file is not."""
    where = status.path + (" (the default location)" if status.default_location else "")
    if status.in_force:
        rules = f"{status.model_rules} model rule{'s' * (status.model_rules != 1)}, " \
                f"{status.stage_gates} stage gate{'s' * (status.stage_gates != 1)}"  # fmt: skip
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
