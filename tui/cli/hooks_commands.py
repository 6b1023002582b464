"""`studbook hooks ...`: add, list, remove, test, replay webhooks and read their deliveries."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from studbook.client.errors import StudbookError

if TYPE_CHECKING:
    from studbook.cli.commands import Context

EXIT_OK = 0
EXIT_ERROR = 1
# A secret longer than this is no secret file (the daemon refuses above 4096 characters too).
MAX_SECRET_FILE = 4096

EPILOG = """\
The daemon POSTs each matching event, signed, in revision order, retrying with backoff; a hook
that keeps failing is paused (`studbook status` says so) until `hooks replay` resumes it.

examples:
  studbook hooks add https://ci.example.com/hook --events 'version.registered,promotion.*' \\
      --model 'fraud-*' --secret-from-file secret.txt --name ci
  studbook hooks deliveries ci
  studbook hooks replay ci --from 1200
"""


def add_parsers(command: Callable[[str, Any, str], argparse.ArgumentParser],
                common: argparse.ArgumentParser) -> None:  # fmt: skip
    hooks = command("hooks", cmd_hooks_list, "webhooks: POST registry events to URLs, signed (admin)")
    hooks.formatter_class = argparse.RawDescriptionHelpFormatter
    hooks.epilog = EPILOG
    sub = hooks.add_subparsers(dest="hooks_command", metavar="COMMAND", required=True)

    def verb(name: str, handler: Any, help: str) -> argparse.ArgumentParser:
        parser = sub.add_parser(name, help=help, description=help, parents=[common])
        parser.set_defaults(handler=handler)
        return parser

    add = verb("add", cmd_hooks_add, "add a webhook; delivery starts with the next event")
    add.add_argument("url", metavar="URL", help="http:// or https:// URL the daemon POSTs to")
    add.add_argument("--events", required=True, action="append", metavar="PATTERNS",
                     help="event types or patterns, comma-separated: 'version.registered,promotion.*,drift.*'")  # fmt: skip
    add.add_argument("--model", default="", metavar="PATTERN", help="only events on models matching, e.g. 'fraud-*'")
    add.add_argument("--secret-from-file", type=Path, metavar="FILE",
                     help="file holding the signing secret (16+ characters); default: the daemon makes one, "
                          "printed once")  # fmt: skip
    add.add_argument("--name", default="", help="a unique name (default: from the URL's host)")
    verb("list", cmd_hooks_list, "list the webhooks and where each stands (never their secrets)")
    remove = verb("remove", cmd_hooks_remove, "remove a webhook; nothing more is sent to it")
    remove.add_argument("name", metavar="NAME")
    test = verb("test", cmd_hooks_test, "send a signed hook.test event now and show the answer (exit 1 if refused)")
    test.add_argument("name", metavar="NAME")
    deliveries = verb("deliveries", cmd_hooks_deliveries, "a webhook's newest delivery attempts")
    deliveries.add_argument("name", metavar="NAME")
    deliveries.add_argument("--limit", type=int, default=50, help="at most this many (default 50, at most 1000)")
    replay = verb("replay", cmd_hooks_replay, "deliver again from a revision on; resumes a paused webhook")
    replay.add_argument("name", metavar="NAME")
    replay.add_argument("--from", dest="from_revision", type=int, required=True, metavar="REVISION",
                        help="the first revision delivered again")  # fmt: skip


def _read_secret(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise StudbookError("INVALID_ARGUMENT", "SECRET_FILE_UNREADABLE", f"cannot read the secret file {path}: "
                            f"{getattr(exc, 'strerror', None) or exc}") from None  # fmt: skip
    secret = text.strip("\r\n")
    if not secret or len(secret) > MAX_SECRET_FILE or "\n" in secret:
        raise StudbookError("INVALID_ARGUMENT", "SECRET_FILE_INVALID", f"{path} should hold the secret alone on "
                            f"one line, 16 to {MAX_SECRET_FILE} characters")  # fmt: skip
    return secret


def cmd_hooks_add(args: argparse.Namespace, ctx: Context) -> int:
    from studbook.cli.hooks_text import hook_details

    secret = _read_secret(args.secret_from_file) if args.secret_from_file else ""
    added = ctx.client.add_hook(args.url, args.events, model=args.model, secret=secret, name=args.name)
    if added.secret:
        # Made by the daemon: alone on stdout so `SECRET=$(studbook hooks add ...)` takes it.
        ctx.emit(added, lambda: added.secret)
        if not ctx.as_json:
            print(f"added hook {added.hook.name}; its signing secret, printed on stdout, is shown only this once",
                  file=sys.stderr)  # fmt: skip
        return EXIT_OK
    ctx.emit(added, lambda: f"added hook {added.hook.name}\n{hook_details(added.hook, ctx.paint)}")
    return EXIT_OK


def cmd_hooks_list(args: argparse.Namespace, ctx: Context) -> int:
    from studbook.cli.commands import _listing
    from studbook.cli.hooks_text import hooks_table

    found = ctx.client.list_hooks()
    ctx.emit(_listing("hooks", found), lambda: hooks_table(found, ctx.paint) if found else "no hooks")
    return EXIT_OK


def cmd_hooks_remove(args: argparse.Namespace, ctx: Context) -> int:
    removed = ctx.client.remove_hook(args.name)
    ctx.emit(removed, lambda: f"removed hook {removed.name}; nothing more is sent to {removed.url}")
    return EXIT_OK


def cmd_hooks_test(args: argparse.Namespace, ctx: Context) -> int:
    from studbook.cli.hooks_text import test_line

    delivery = ctx.client.test_hook(args.name)
    ctx.emit(delivery, lambda: test_line(delivery, ctx.paint))
    return EXIT_OK if 200 <= delivery.status_code < 300 else EXIT_ERROR


def cmd_hooks_deliveries(args: argparse.Namespace, ctx: Context) -> int:
    from studbook.cli.commands import _listing
    from studbook.cli.hooks_text import deliveries_table

    found = ctx.client.list_deliveries(args.name, limit=args.limit)
    ctx.emit(_listing("deliveries", found),
             lambda: deliveries_table(found, ctx.paint) if found else f"nothing sent to {args.name} yet")  # fmt: skip
    return EXIT_OK


def cmd_hooks_replay(args: argparse.Namespace, ctx: Context) -> int:
    hook = ctx.client.replay_hook(args.name, args.from_revision)
    ctx.emit(hook, lambda: f"hook {hook.name} delivers again from revision {hook.delivered_revision + 1} on")
    return EXIT_OK
