"""`studbook drift MODEL@STAGE`: the input drift of a stage's production windows."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from studbook.cli.production_commands import stage_target

if TYPE_CHECKING:
    from studbook.cli.commands import Context

EXIT_OK = 0

EPILOG = """\
Each window is one LogInputStatistics call (`studbook observe MODEL@STAGE --inputs FILE.json`),
attributed to the version that held the stage at its end and compared with that version's
reference statistics (given at registration: `studbook register ... --reference-stats FILE.json`).
PSI above 0.1 is commonly read as a moderate shift, above 0.2 as a major one; KS is the largest
gap between the cumulative distributions (0 to 1).

examples:
  studbook drift fraud@production
  studbook drift fraud@production --last 50 --version 7 --since 3d
  studbook drift fraud@production --format json
"""


def add_parsers(command: Callable[[str, Any, str], argparse.ArgumentParser], moment: Callable[[str], str]) -> None:
    drift = command("drift", cmd_drift, "input drift of a stage's production windows from each version's reference")
    drift.formatter_class = argparse.RawDescriptionHelpFormatter
    drift.epilog = EPILOG
    drift.add_argument("stage", type=stage_target, metavar="MODEL@STAGE")
    drift.add_argument("--last", type=int, default=20, metavar="N", help="the newest N windows (default 20)")
    drift.add_argument("--version", default="", help="only windows attributed to this version (a number)")
    drift.add_argument("--segment", default="", help="only this segment's windows (default: every segment)")
    drift.add_argument("--since", type=moment, metavar="TIME", help="only windows ending at or after TIME (1h, 3d)")
    drift.add_argument("--until", type=moment, metavar="TIME", help="only windows ending before TIME")
    drift.add_argument("--format", choices=("text", "json"), default="text", help="json: as --json")


def cmd_drift(args: argparse.Namespace, ctx: Context) -> int:
    from studbook.cli import drift_text, times
    from studbook.v1 import production_pb2

    model, stage = args.stage
    since, until = (times.parse_moment(text) if text else None for text in (args.since, args.until))
    windows = ctx.client.get_input_drift(model, stage, version=args.version.lstrip("vV"), since=since, until=until,
                                         segment=args.segment, last=args.last)  # fmt: skip
    if args.format == "json":
        ctx.as_json = True
    report = production_pb2.InputDriftReport(windows=windows)
    ctx.emit(report, lambda: drift_text.drift_table(windows, ctx.paint))
    return EXIT_OK


def observe_inputs(args: argparse.Namespace, ctx: Context) -> int:
    """`observe MODEL@STAGE --inputs FILE.json`: one window's input statistics, its drift, and
    any monitor breach it started or ended."""
    logged = log_inputs(args, ctx)
    ctx.emit(inputs_dict(logged), lambda: inputs_text(logged, ctx))
    return EXIT_OK


def inputs_dict(logged: Any) -> dict[str, Any]:
    """A logged window as --json prints it: the window's drift, with the monitor states it changed."""
    from studbook.cli.output import message_dict

    return {**message_dict(logged.drift), "changed": [message_dict(s) for s in logged.changed]}


def inputs_text(logged: Any, ctx: Context) -> str:
    """The window's drift line, then any breach it started or ended (as `observe --metric` says it)."""
    from studbook.cli import drift_text
    from studbook.cli.production_commands import with_changes

    return with_changes(drift_text.logged_line(logged.drift, ctx.paint), logged, ctx)


def read_inputs(args: argparse.Namespace) -> None:
    """The statistics of --inputs FILE.json, read into `args.input_statistics`."""
    from studbook.cli.commands import _reference_stats

    args.input_statistics = _reference_stats(args.inputs)


def log_inputs(args: argparse.Namespace, ctx: Context) -> Any:
    """Logs the window of `observe ... --inputs FILE.json` (read by `read_inputs`); the answer:
    its drift and the monitor states it changed. A retry with the same --request-id records the
    window once (its own, apart from the metrics')."""
    from studbook.cli import times

    model, stage = args.target
    window_end = times.parse_moment(args.window_end) if args.window_end else None
    return ctx.client.log_inputs(model, stage, args.input_statistics, window_end=window_end, segment=args.segment,
                                 request_id=args.request_id or None)  # fmt: skip
