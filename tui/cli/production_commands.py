"""`studbook observe` (record what serving measured) and `studbook production` (each holder of a
stage with its production record)."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from studbook.client import names

if TYPE_CHECKING:
    from studbook.cli.commands import Context

EXIT_OK = 0

OBSERVE_EPILOG = """\
Each point goes to the version that held the stage at its window end (default: now), so a
series survives promotions and rollbacks. A retry with the same --request-id records nothing twice.

examples:
  studbook observe fraud@production --metric auc=0.91 --metric latency_p99_ms=41
  studbook observe fraud@production --metric auc=0.88 --window-end 1h --segment eu
  studbook observe fraud@production --inputs window.json   # input statistics: drift per feature
"""


def stage_target(text: str) -> tuple[str, str]:
    """`fraud@production` -> (fraud, production)."""
    try:
        ref = names.parse_ref(text)
    except names.InvalidName as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    if not ref.version or ref.version.isdigit() or ref.version == names.LATEST:
        raise argparse.ArgumentTypeError(f"name a model and a stage, e.g. {ref.model}@production")
    return ref.model, ref.version


def metric_pair(text: str) -> tuple[str, float]:
    """`auc=0.91` -> (auc, 0.91)."""
    key, sep, value = text.partition("=")
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not sep or not key.strip() or not math.isfinite(number):
        raise argparse.ArgumentTypeError(f"expected KEY=NUMBER, e.g. auc=0.91, got {text!r}")
    return key.strip(), number


def add_parsers(command: Callable[[str, Any, str], argparse.ArgumentParser], moment: Callable[[str], str]) -> None:
    observe = command("observe", cmd_observe, "record production metrics of a stage; each value goes to the "
                      "version that held the stage at its window end")  # fmt: skip
    observe.formatter_class = argparse.RawDescriptionHelpFormatter
    observe.epilog = OBSERVE_EPILOG
    observe.add_argument("target", type=stage_target, metavar="MODEL@STAGE")
    observe.add_argument("--metric", type=metric_pair, action="append", default=[], metavar="KEY=VALUE",
                         help="a measurement, e.g. auc=0.91 (repeatable)")  # fmt: skip
    observe.add_argument("--inputs", type=Path, metavar="FILE.json",
                         help="the window's input statistics, binned like the version's reference: "
                              '{"features": [{"feature": "age", "edges": [...], "counts": [...]}, ...]}')  # fmt: skip
    observe.add_argument("--window-end", type=moment, metavar="TIME",
                         help="the end of the window the values summarise (default: now): 5m, 1h ago, "
                              "2026-01-31T09:30Z")  # fmt: skip
    observe.add_argument("--segment", default="", help="a slice of traffic, e.g. eu or mobile (default: all of it)")
    observe.add_argument("--request-id", default="", metavar="ID",
                         help="retrying with the same ID records nothing twice (default: a new one)")  # fmt: skip

    production = command("production", cmd_production, "each version that held a stage, when, and how it did in "
                         "production: count, last, mean and a sparkline per metric")  # fmt: skip
    production.add_argument("target", type=stage_target, metavar="MODEL@STAGE")
    production.add_argument("--key", action="append", default=[], metavar="KEY", help="only this metric (repeatable)")
    production.add_argument("--since", type=moment, metavar="TIME", help="only windows ending at or after TIME")
    production.add_argument("--until", type=moment, metavar="TIME", help="only windows ending before TIME")
    production.add_argument("--segment", default="", help="only this segment (default: every segment)")
    production.add_argument("--version", default="", metavar="VERSION", help="only this holder, e.g. 7")
    production.add_argument("--format", choices=("text", "json"), default="text", help="json: as --json")


def cmd_observe(args: argparse.Namespace, ctx: Context) -> int:
    from studbook.cli import production_text, times
    from studbook.client import calls
    from studbook.v1 import production_pb2

    model, stage = args.target
    if not args.metric and args.inputs is None:
        from studbook.cli.commands import EXIT_USAGE, _fail

        return _fail("give --metric KEY=VALUE (repeatable), --inputs FILE.json, or both", EXIT_USAGE)
    if args.inputs is not None:
        from studbook.cli.drift_commands import read_inputs

        read_inputs(args)  # before anything is recorded: a bad file records nothing
    if not args.metric:
        from studbook.cli.drift_commands import observe_inputs

        return observe_inputs(args, ctx)
    keys = [key for key, _ in args.metric]
    repeated = sorted({key for key in keys if keys.count(key) > 1})
    if repeated:
        from studbook.cli.commands import EXIT_USAGE, _fail

        return _fail(f"--metric {', '.join(repeated)} given more than once; one value per key and window", EXIT_USAGE)
    window_end = times.parse_moment(args.window_end) if args.window_end else None
    points = calls.to_points(dict(args.metric), window_end, args.segment)
    response = ctx.client.observe(f"{model}@{stage}", points, request_id=args.request_id or None)
    shown = [production_pb2.ProductionPoint(key=p.key, value=p.value, segment=p.segment) for p in points]
    for shown_point, point in zip(shown, points):
        if point.HasField("window_end"):
            shown_point.window_end.CopyFrom(point.window_end)
    if args.inputs is not None:
        from studbook.cli import output
        from studbook.cli.drift_commands import inputs_dict, inputs_text, log_inputs

        logged = log_inputs(args, ctx)
        both = {"metrics": output.message_dict(response), "inputs": inputs_dict(logged)}
        ctx.emit(both, lambda: with_changes(production_text.observed(f"{model}@{stage}", shown, response, ctx.paint),
                                            response, ctx) + "\n" + inputs_text(logged, ctx))  # fmt: skip
        return EXIT_OK
    ctx.emit(response, lambda: with_changes(production_text.observed(f"{model}@{stage}", shown, response, ctx.paint),
                                            response, ctx))  # fmt: skip
    return EXIT_OK


def with_changes(text: str, response: Any, ctx: Context) -> str:
    """What was logged, then any monitor the call put in breach or cleared (a metrics or an
    inputs answer: both carry `changed`)."""
    from studbook.cli.monitor_commands import changed_lines

    changes = changed_lines(response.changed, ctx.paint)
    return f"{text}\n{changes}" if changes else text


def cmd_production(args: argparse.Namespace, ctx: Context) -> int:
    import shutil

    from studbook.cli import production_text, times

    model, stage = args.target
    since, until = (times.parse_moment(text) if text else None for text in (args.since, args.until))
    found = ctx.client.production_record(f"{model}@{stage}", keys=list(dict.fromkeys(args.key)),
                                         segment=args.segment, since=since, until=until, version=args.version)  # fmt: skip
    if args.format == "json":
        ctx.as_json = True
    # Sections indent by two columns.
    columns = shutil.get_terminal_size((100, 24)).columns - 2
    ctx.emit(found, lambda: production_text.record(found, ctx.paint, columns))
    return EXIT_OK
