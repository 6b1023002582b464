"""The `studbook` command: every registry operation from a shell; tables for people, --json for scripts.

Start-up stays light: grpc and the generated code are imported inside the commands that
talk to a daemon, so `studbook --help` and `studbook serve` never load them.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TextIO, TypeVar

from studbook import locations
from studbook.client import names
from studbook.client.errors import StudbookError
from studbook.client.safe_text import safe, safe_lines

if TYPE_CHECKING:
    from google.protobuf.message import Message
    from studbook.cli.output import Painter
    from studbook.client.clients import Client
    from studbook.v1 import drops_pb2, stages_pb2

T = TypeVar("T")

# `promote --wait` without --timeout: long enough for a person to answer, short of a CI job's limit.
PROMOTION_WAIT_SECONDS = 1800.0

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_NOT_FOUND = 3
EXIT_PRECONDITION = 4
EXIT_UNAVAILABLE = 5
EXIT_CONFLICT = 6
EXIT_INVALID = 7
EXIT_UNAUTHENTICATED = 8
EXIT_PERMISSION_DENIED = 9
EXIT_STORE_FULL = 10
# Accepted, not applied: a pipeline must not go on as if the stage had changed.
EXIT_PENDING_APPROVAL = 11
EXIT_INTERRUPTED = 130

# gRPC status name -> exit code; anything else is EXIT_ERROR.
EXIT_CODES = {
    "NOT_FOUND": EXIT_NOT_FOUND,
    "FAILED_PRECONDITION": EXIT_PRECONDITION,
    "UNAVAILABLE": EXIT_UNAVAILABLE,
    "ALREADY_EXISTS": EXIT_CONFLICT,
    "ABORTED": EXIT_CONFLICT,
    "INVALID_ARGUMENT": EXIT_INVALID,
    "OUT_OF_RANGE": EXIT_INVALID,
    "UNAUTHENTICATED": EXIT_UNAUTHENTICATED,
    "PERMISSION_DENIED": EXIT_PERMISSION_DENIED,
}
# ErrorInfo reasons with an exit code of their own, whatever their status.
EXIT_REASONS = {
    "STORE_FULL": EXIT_STORE_FULL,
}

EPILOG = """\
names:
  a model is MODEL or models/MODEL; a version is MODEL@VERSION, MODEL/VERSION or
  models/MODEL/versions/VERSION, where VERSION is a number, a stage, an alias or latest
  (fraud@production, fraud/3, fraud@latest).

exit codes:
  0  success
  1  error
  2  usage error (bad command line)
  3  not found
  4  failed precondition (e.g. a promotion gate not met, approving your own
     promotion, a drop still quarantined after `drops retry`, a corrupt version
     found by `verify`)
  5  unavailable (no daemon answers)
  6  conflict (already exists, or a concurrent change won)
  7  invalid argument
  8  unauthenticated (no token where one is needed, or one that is unknown,
     malformed, revoked or expired)
  9  permission denied (the caller's role may not do that; the error names the
     role needed)
  10 the daemon's disk is full (free space where its data dir lies; writes resume
     by themselves, reads still work)
  11 `promote` was accepted but waits for approvals (with --wait: still waits at
     --timeout): nothing changed yet
  `studbook stop` exits 5 when no daemon runs on the socket, 4 when the process
  there is not this user's studbook daemon (9 when the socket is not yours to
  reach; either way it is left alone), 1 when the daemon still runs after --timeout

times:
  printed in local time with their offset (2026-11-03 14:05:12 +01:00); --utc (or TZ=UTC)
  prints UTC. Typed (--at, --since, --until): 30s, 15m, 1h, 3d, 2w back from now ('ago'
  optional), now, today, yesterday, or ISO 8601 (2026-01-31, 2026-01-31T09:30,
  2026-01-31T09:30+01:00, ...Z); without a zone, local time (UTC with --utc).

--json:
  integers as numbers, enums as plain lowercase words (ready, pending_approval), times
  as RFC 3339 in UTC, metrics as a map by name (a list where a metric has several
  splits); see "JSON for scripts" in the README.

environment:
  STUDBOOK_ADDRESS  daemon address (unix:///path/to.sock or host:port)
  STUDBOOK_TOKEN    bearer token sent with every call (like --token, but kept out of
                    the process list)
  STUDBOOK_TLS_CA   CA certificate (PEM) that signed a TCP daemon's certificate
                    (default: the system's roots); a host:port address is always TLS
  STUDBOOK_ACTOR    who acts over the unix socket without a token, as recorded and
                    checked for approvals (default: user@host); a token's calls are
                    recorded under the token's name
  STUDBOOK_WEB_TOKEN  the browsers' login token of `studbook web` (default: one made up
                    and printed at start)
  NO_COLOR          plain output even on a terminal
  STUDBOOK_DEBUG    show tracebacks of unexpected errors
"""

DROPS_EPILOG = """\
Drops are what `studbook serve --watch ROOT` finds under ROOT: ROOT/MODEL/VERSION/...
or ROOT/MODEL/FILE. Without a COMMAND, the ones that could not be registered are listed.

examples:
  studbook drops                              quarantined drops, with the reason and what to fix
  studbook drops --all --json                 every drop and its state, for scripts
  studbook drops retry ~/models/fraud/3       look again once fixed; exits 0 once registered
"""

TOKEN_EPILOG = """\
Tokens let others reach a daemon over TCP, or act with fewer rights than the socket's
owner (an admin). Managing them needs the admin role. Only a hash of each secret is
kept, so `token create` shows it once; a token's name is never reused.

roles (each may do what the ones before it may):
  viewer       read everything; dry-run promotions
  contributor  register versions, create models, edit metadata, log metrics, retry drops
  maintainer   promote and roll back below production, archive and unarchive, remove aliases,
               cancel promotions, ask for production promotions that need approvals
  approver     approve and reject promotions; promote to and roll back production
  admin        manage tokens and webhooks; delete and rename models

examples:
  studbook token create --name ci-runner --role contributor --expires 90d
  studbook token list --all                   revoked ones too; secrets are never shown
  studbook token revoke ci-runner             its next call is refused (exit 8)
  studbook --token "$SECRET" whoami           who the daemon takes that token for
"""

Handler = Callable[[argparse.Namespace, "Context"], int]
# How long `drops retry` waits for the watcher's new verdict: the quiet interval plus hashing.
DROP_WAIT_SECONDS = 30.0
READONLY_HELP = "terminal UI only: hide every action that changes the registry"
# The roles a token may hold, lowest first (the daemon's Role enum, kept here so that
# parsing the command line never loads generated code).
ROLES = ("viewer", "contributor", "maintainer", "approver", "admin")
DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"([0-9]{1,9})([smhd])")
# The daemon refuses a longer lifetime: a token meant to last forever is made without --expires.
MAX_EXPIRES_SECONDS = 3650 * 86400


# ---- argument types: bad values are usage errors (exit 2) ---------------------------


def key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key.strip(), value


def metric_value(text: str) -> tuple[str, float]:
    key, value = key_value(text)
    try:
        return key, float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"metric {key!r} needs a number, got {value!r}") from None


def model_ref(text: str) -> str:
    try:
        ref = names.parse_ref(text)
    except names.InvalidName as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    if ref.is_version:
        raise argparse.ArgumentTypeError(f"expected a model, got the version {text!r}")
    return ref.model


def version_number(text: str) -> str:
    """A version number as `7` or `v7`."""
    digits = text[1:] if text[:1] in ("v", "V") else text
    if not digits.isdigit() or len(digits) > 18 or int(digits) == 0:
        raise argparse.ArgumentTypeError(f"expected a version number such as 7, got {text!r}")
    return str(int(digits))


def any_ref(text: str) -> names.Ref:
    try:
        return names.parse_ref(text)
    except names.InvalidName as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def version_ref(text: str) -> str:
    """A version name; a bare model means its latest version."""
    try:
        return names.version_name(text)
    except names.InvalidName as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def exact_version_ref(text: str) -> str:
    """A version spelled out (fraud@3, fraud@staging): promotions never guess `latest`."""
    ref = any_ref(text)
    if not ref.is_version:
        raise argparse.ArgumentTypeError(f"name the version to promote, e.g. {ref.model}@3 or {ref.model}@staging")
    return ref.name


def promotion_ref(text: str) -> str:
    """`fraud/7` or `models/fraud/promotions/7`."""
    try:
        return names.promotion_name(text)
    except names.InvalidName as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def moment(text: str) -> str:
    """A time (`1h`, `30m ago`, `2026-01-31`, `2026-01-31T09:30Z`), checked here so that a bad one
    is a usage error; kept as typed and read by the command once --utc is known."""
    from studbook.cli import times

    try:
        times.parse_moment(text)
    except times.InvalidTime as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def seconds(text: str) -> float:
    """`--timeout`: seconds (`10`, `2.5`) or a duration (`90s`, `30m`, `2h`)."""
    match = _DURATION.fullmatch(text.strip())
    if match is not None:
        return float(int(match.group(1)) * DURATION_UNITS[match.group(2)])
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds or a duration like 90s, 30m or 2h, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"a timeout must be a positive number of seconds, got {text!r}")
    return value


def duration(text: str) -> int:
    """`90d`, `12h`, `30m` or `3600s` -> seconds, for `token create --expires`.

    Stricter than a time (`times.parse_moment`): a lifetime is written once, in a script,
    so one spelling only."""
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        raise argparse.ArgumentTypeError(
            f"expected a duration like 90d, 12h, 30m or 3600s (a whole number and one of s, m, h, d), got {text!r}"
        )
    seconds = int(match.group(1)) * DURATION_UNITS[match.group(2)]
    if seconds == 0:
        raise argparse.ArgumentTypeError("a token cannot expire at once; leave --expires out for one that never does")
    if seconds > MAX_EXPIRES_SECONDS:
        raise argparse.ArgumentTypeError(
            f"{text.strip()!r} is longer than {MAX_EXPIRES_SECONDS // 86400}d; leave --expires out for no expiry"
        )
    return seconds


def parent_ref(text: str) -> tuple[str, str]:
    """`base@3` (derived from) or `base@3=fine_tuned_from`."""
    ref, _, relation = text.partition("=")
    return version_ref(ref), relation or "derived_from"


# ---- the parser ---------------------------------------------------------------------


def _common_options() -> Parser:
    # Accepted before or after the command (`studbook --json models`, `studbook models --json`);
    # SUPPRESS keeps a value given at one place from being reset at the other.
    common = Parser(add_help=False)
    common.add_argument(
        "--address",
        default=argparse.SUPPRESS,
        help="daemon address: unix:///path/to.sock or host:port (default: $STUDBOOK_ADDRESS or the user socket)",
    )
    common.add_argument(
        "--token",
        default=argparse.SUPPRESS,
        help="bearer token for the daemon (default: $STUDBOOK_TOKEN, which other users cannot see in ps)",
    )
    common.add_argument(
        "--tls-ca",
        default=argparse.SUPPRESS,
        metavar="FILE",
        help="CA certificate (PEM) to trust for a host:port daemon (default: $STUDBOOK_TLS_CA, else the system's)",
    )
    common.add_argument(
        "--json",
        action="store_true",
        default=argparse.SUPPRESS,
        help="print JSON for scripts (numbers as numbers, plain enum words, metrics by key)",
    )
    common.add_argument(
        "--utc",
        action="store_true",
        default=argparse.SUPPRESS,
        help="print times in UTC, and read times typed without a zone as UTC (default: local time)",
    )
    common.add_argument(
        "--timeout",
        type=seconds,
        default=argparse.SUPPRESS,
        metavar="SECONDS",
        help="deadline of each call, in seconds or like 30m (default 10); `promote --wait`: how long to wait (default 30m)",
    )
    return common


class Parser(argparse.ArgumentParser):
    """argparse echoes a bad argument in its error; escaped here, so a name with bytes that
    are not UTF-8 is a usage error, not a UnicodeEncodeError, and no argument drives the
    terminal. Subcommand parsers are of this class too (argparse makes them so)."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {safe(message)}\n")


def build_parser() -> argparse.ArgumentParser:
    common = _common_options()
    parser = Parser(
        prog="studbook",
        description="studbook: a local registry of machine-learning models.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common],
    )
    parser.add_argument("--version", action=_VersionAction)
    # No command opens the terminal UI, like `studbook tui`.
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    parser.set_defaults(handler=cmd_tui)
    parser.add_argument("--readonly", action="store_true", default=argparse.SUPPRESS, help=READONLY_HELP)

    def command(name: str, handler: Handler, help: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help, description=help, parents=[common])
        sub.set_defaults(handler=handler)
        return sub

    serve = command("serve", cmd_serve, "run the daemon in the foreground (other daemon flags pass through)")
    serve.add_argument("--data-dir", help="where the catalog lives (default: $XDG_DATA_HOME/studbook)")
    serve.add_argument("--socket", help="unix socket path (default: from --address, else the user socket)")
    serve.add_argument("--listen", metavar="HOST:PORT", help="also listen on TCP, with --tls-cert FILE --tls-key FILE")

    command("status", cmd_status, "check that the daemon answers, count what it holds, show how folders are watched")
    stop = command(
        "stop",
        cmd_stop,
        "stop the daemon on this machine's socket (e.g. one the UI started): asks it to "
        "finish and waits up to --timeout seconds (default 15); exits 5 when none runs",
    )
    stop.add_argument("--demo", action="store_true", help="stop the daemon `studbook demo` started on its own socket")
    command("whoami", cmd_whoami, "who the daemon takes you for: actor, role, transport and token")

    audit = command("audit", cmd_audit_verify, "check the hash-chained audit trail; `audit export` writes it out")
    audit_commands = audit.add_subparsers(dest="audit_command", metavar="[COMMAND]")
    verify_help = "recompute the chain over every recorded change; exit 4 and name the first broken record"
    audit_commands.add_parser("verify", help=verify_help, description=verify_help, parents=[common]).set_defaults(
        handler=cmd_audit_verify
    )
    export_help = "every recorded change with its chain hash, as JSON Lines (for compliance tooling)"
    export = audit_commands.add_parser("export", help=export_help, description=export_help, parents=[common])
    export.set_defaults(handler=cmd_audit_export)
    export.add_argument("--from", dest="start", type=int, default=0, metavar="REVISION",
                        help="only the changes after this revision")  # fmt: skip

    gc = command("gc", cmd_gc, "archive and purge the versions the policy's retention no longer keeps, then delete "
                 "the files no version uses (admin; --dry-run: maintainer)")  # fmt: skip
    gc.add_argument("--dry-run", action="store_true", help="list what would be archived or purged and the bytes "
                    "freed; change nothing")  # fmt: skip

    token = command("token", cmd_token_list, "create, list and revoke the bearer tokens of a daemon (admin)")
    token.formatter_class = argparse.RawDescriptionHelpFormatter
    token.epilog = TOKEN_EPILOG
    # A COMMAND is required: `token` alone could mean listing or creating, and a guess at
    # either in a script is worse than a usage error.
    token_commands = token.add_subparsers(dest="token_command", metavar="COMMAND", required=True)
    create_help = "create a token and print its secret, once"
    create = token_commands.add_parser("create", help=create_help, description=create_help, parents=[common])
    create.set_defaults(handler=cmd_token_create)
    create.add_argument("--name", required=True,
                        help="a unique label, recorded as the actor of its calls (e.g. ci-runner)")  # fmt: skip
    create.add_argument("--role", required=True, choices=ROLES, metavar="ROLE",
                        help=f"what its holder may do: {', '.join(ROLES)} (see `token --help`)")  # fmt: skip
    create.add_argument("--expires", type=duration, default=0, metavar="DURATION",
                        help="lifetime: 90d, 12h, 30m or 3600s (default: never expires)")  # fmt: skip
    list_help = "list the tokens (never their secrets)"
    listing = token_commands.add_parser("list", help=list_help, description=list_help, parents=[common])
    listing.set_defaults(handler=cmd_token_list)
    listing.add_argument("--all", action="store_true", help="revoked tokens too")
    revoke_help = "revoke a token: its next call is refused"
    revoke = token_commands.add_parser("revoke", help=revoke_help, description=revoke_help, parents=[common])
    revoke.set_defaults(handler=cmd_token_revoke)
    revoke.add_argument("name", metavar="NAME", help="the token's name, or tokens/ID")

    from studbook.cli import hooks_commands, monitor_commands

    hooks_commands.add_parsers(command, common)
    monitor_commands.add_parsers(command)

    from studbook.cli import drift_commands

    drift_commands.add_parsers(command, moment)

    policy = command("policy", cmd_policy_check, "check a promotion policy file offline, as a daemon would load it")
    policy_commands = policy.add_subparsers(dest="policy_command", metavar="COMMAND", required=True)
    check_help = "check FILE as a daemon would load it (no daemon needed): exit 0 valid, 7 invalid with the reason"
    check = policy_commands.add_parser("check", help=check_help, description=check_help, parents=[common])
    check.set_defaults(handler=cmd_policy_check)
    check.add_argument("file", metavar="FILE")

    drops = command("drops", cmd_drops, "list quarantined drop-ins and why; `drops retry PATH` once fixed")
    drops.add_argument("--all", action="store_true", help="every drop the watcher knows, with its state")
    drops.add_argument("--model", default="", help="only the drops of this model folder")
    drops.add_argument("--limit", type=int, default=50, help="at most this many rows (0: all)")
    drops.formatter_class = argparse.RawDescriptionHelpFormatter
    drops.epilog = DROPS_EPILOG
    drop_commands = drops.add_subparsers(dest="drops_command", metavar="[COMMAND]")
    retry_help = "look at a drop again now (after fixing it, registering its parent ...) and wait for the verdict"
    retry = drop_commands.add_parser("retry", help=retry_help, description=retry_help, parents=[common])
    retry.set_defaults(handler=cmd_drops_retry)
    retry.add_argument("drop", metavar="PATH", help="the drop's folder or file (or its name, drops/ID)")
    retry.add_argument(
        "--allow-unsafe",
        action="store_true",
        help="register it although it runs code when loaded (quarantined as UNSAFE_PICKLE, "
        "UNSAFE_OPS or REMOTE_CODE); maintainer role, recorded in the audit trail",
    )
    retry.add_argument("--wait", type=float, default=DROP_WAIT_SECONDS, metavar="SECONDS",
                       help=f"wait this long for the new verdict (default {DROP_WAIT_SECONDS:g}; 0: do not wait); "
                            "exits 4 while the drop stays quarantined")  # fmt: skip

    models = command("models", cmd_models, "list models")
    _list_options(models, "updated")

    versions = command("versions", cmd_versions, "list the versions of a model (`-` for every model)")
    versions.add_argument("model", type=model_ref, help="model, or - for all")
    _list_options(versions, "created")

    show = command("show", cmd_show, "show a model or a version")
    show.add_argument("name", type=any_ref, help="fraud, fraud@production, fraud/3, models/fraud/versions/3")

    rename = command("rename", cmd_rename, "rename a model with its versions, stages, aliases and history (admin)")
    rename.add_argument("model", type=model_ref, help="the model's name now")
    rename.add_argument("new_name", type=model_ref, help="its new name")
    rename.add_argument("--reason", default="", help="why, recorded in the audit trail")
    rename.add_argument("--etag", default="", help="fail if the model changed since this etag")

    metrics_help = "a version's metrics step by step: first, last, min, max and a sparkline of each series"
    metrics = command("metrics", cmd_metrics, metrics_help)
    metrics.add_argument(
        "name", type=version_ref, metavar="MODEL@VERSION", help="fraud@production, fraud/3, fraud (its latest)"
    )
    metrics.add_argument(
        "--key",
        action="append",
        default=[],
        metavar="KEY",
        help="only this metric (repeatable); with one --key, every step's value is listed",
    )
    metrics.add_argument("--split", default="", help="only this split, e.g. validation")

    pull = command("pull", cmd_pull, "write a kept version's files into a folder, each verified by its sha256")
    pull.add_argument("name", type=version_ref, metavar="MODEL@VERSION", help="fraud@production, fraud/3, fraud")
    pull.add_argument("dest", type=Path, metavar="DIR", help="folder to write into (created if missing)")
    pull.add_argument("--file", metavar="PATH", help="only this file of the version")

    export = command(
        "export",
        cmd_export,
        "write a version in another registry's format into a new or empty folder: modelpack (OCI layout), "
        "mlflow (mlflow-export-import folder), sagemaker or vertex (request JSON)",
    )
    export.add_argument("name", type=any_ref, metavar="MODEL[@REF]",
                        help="fraud@production, fraud/3; MODEL alone: its latest version (mlflow: every version)")  # fmt: skip
    export.add_argument("dest", type=Path, metavar="DEST", help="folder to create; must not exist or be empty")
    export.add_argument("--format", required=True, choices=("modelpack", "mlflow", "sagemaker", "vertex"))
    export.add_argument("--upload-url", metavar="URL",
                        help="sagemaker/vertex: the s3:// or gs:// prefix DEST will be copied to; "
                        "the files are then written into DEST/model and the request names them there")  # fmt: skip
    export.add_argument("--image", metavar="URI", help="sagemaker/vertex: the serving container image")
    export.add_argument("--layers", choices=("raw", "tar"), default="raw",
                        help="modelpack: raw layers, each the file itself (default), or one uncompressed tar "
                        "per file, for readers that unpack only tar layers")  # fmt: skip

    verify_files_help = (
        "re-hash the stored files of a version, a model's versions, or every kept version (--all); "
        "versions whose bytes changed or are gone turn corrupt (exit 4)"
    )
    verify = command("verify", cmd_verify, verify_files_help)
    verify.add_argument(
        "name",
        type=any_ref,
        nargs="?",
        metavar="MODEL[@VERSION]",
        help="fraud@production, fraud/3, or fraud for every version of the model",
    )
    verify.add_argument("--all", action="store_true", help="every kept version of every model")

    backup_help = (
        "write a consistent backup while the daemon serves: the catalog as of one revision and every "
        "stored file it refers to (admin)"
    )
    backup = command("backup", cmd_backup, backup_help)
    backup.add_argument(
        "dest",
        metavar="DEST",
        help="a folder on the daemon's host (only already stored files are skipped), or s3://bucket/prefix",
    )

    restore_help = "rebuild a data dir from a backup and check it (offline: no daemon may serve that dir)"
    restore = command("restore", cmd_restore, restore_help)
    restore.add_argument("src", metavar="SRC", help="the backup: a folder, or s3://bucket/prefix")
    restore.add_argument("--data-dir", required=True, metavar="DIR", help="a new or empty folder to restore into")
    restore.add_argument("--artifact-store", default="", metavar="URL",
                         help="put the stored files there instead of DIR/blobs: file:///path or s3://bucket/prefix "
                              "(start the daemon with the same --artifact-store)")  # fmt: skip

    catalog_help = "maintain the catalog itself, offline: `catalog copy` moves it between a data dir and PostgreSQL"
    catalog = command("catalog", cmd_catalog, catalog_help)
    catalog_commands = catalog.add_subparsers(dest="catalog_command", metavar="COMMAND", required=True)
    copy_help = ("copy a whole registry between a data dir's DuckDB file and a postgresql:// URL (either way) "
                 "into an empty destination, and verify it by counting and by the audit chain (offline: no "
                 "daemon may serve a data dir named)")  # fmt: skip
    catalog_copy = catalog_commands.add_parser("copy", help=copy_help, description=copy_help, parents=[common])
    catalog_copy.add_argument("--from", dest="source", required=True, metavar="SRC",
                              help="a data dir, or postgresql://user@host:port/dbname")  # fmt: skip
    catalog_copy.add_argument("--to", dest="destination", required=True, metavar="DST",
                              help="a new or empty data dir, or an empty PostgreSQL database")  # fmt: skip

    import_help = ("bring in models from other systems, through the daemon's API: "
                   "`import mlflow SOURCE`, `import hf PATH`, `import wandb PATH`")  # fmt: skip
    imports = command("import", cmd_import_mlflow, import_help)
    import_commands = imports.add_subparsers(dest="import_command", metavar="SOURCE", required=True)
    for name, module in (("hf", "import_hf"), ("wandb", "import_wandb")):
        source = import_module(f"studbook.cli.{module}")
        sub = import_commands.add_parser(name, help=source.HELP, description=source.HELP, epilog=source.EPILOG,
                                         formatter_class=argparse.RawDescriptionHelpFormatter, parents=[common])  # fmt: skip
        sub.set_defaults(handler=partial(cmd_import, module=module))
        source.add_arguments(sub)
    mlflow_help = ("import MLflow's registered models, versions, tags, aliases, stages, runs and files; "
                   "again later, only what is new")  # fmt: skip
    mlflow = import_commands.add_parser("mlflow", help=mlflow_help, description=mlflow_help, parents=[common])
    mlflow.set_defaults(handler=cmd_import_mlflow)
    mlflow.add_argument("source", metavar="SOURCE", help="a tracking server (http://host:5000), a database "
                        "(sqlite:///mlflow.db, postgresql://user@host/db) or an mlflow-export-import folder")  # fmt: skip
    mlflow.add_argument("--dry-run", action="store_true", help="say what would be imported; change nothing")
    mlflow.add_argument("--model", action="append", default=[], metavar="NAME",
                        help="only this registered model (MLflow's name or the studbook id); repeatable")  # fmt: skip
    mlflow.add_argument("--allow-unsafe", action="store_true", help="import versions whose files run code when "
                        "loaded (pickles); maintainer role, recorded in the audit trail")  # fmt: skip

    register = command("register", cmd_register, "register a version from a file or folder, or a URI")
    register.add_argument("model", type=model_ref)
    register.add_argument("path", nargs="?", help="model file or folder; the daemon hashes, inspects and keeps it")
    register.add_argument(
        "--keep-in-place",
        action="store_true",
        help="leave the files where they are instead of keeping a copy (referenced, not kept)",
    )
    register.add_argument(
        "--allow-unsafe",
        action="store_true",
        help="register content that runs code when loaded (a pickle calling os.system, a graph "
        "writing files, remote code); maintainer role, recorded in the audit trail",
    )
    register.add_argument(
        "--upload",
        action="store_true",
        help="send the files to the daemon even over its unix socket (always done over TCP)",
    )
    register.add_argument("--uri", help="register metadata only, the artifact being at this URI")
    register.add_argument("--metric", type=metric_value, action="append", default=[], metavar="KEY=NUMBER")
    register.add_argument("--param", type=key_value, action="append", default=[], metavar="KEY=VALUE")
    register.add_argument("--tag", type=key_value, action="append", default=[], metavar="KEY=VALUE")
    register.add_argument("--description", default="")
    register.add_argument("--model-card", type=argparse.FileType("r"), metavar="FILE", help="Markdown model card")
    register.add_argument("--semver", default="", help="explicit MAJOR.MINOR.PATCH")
    register.add_argument("--change-kind", choices=("schema", "data", "tuning"), help="decides the semver bump")
    register.add_argument("--seed", type=int)
    register.add_argument("--data-version", type=key_value, action="append", default=[], metavar="DATASET=VERSION")
    register.add_argument("--dataset", action="append", default=[], metavar="NAME[@VERSION]")
    register.add_argument("--parent", type=parent_ref, action="append", default=[], metavar="VERSION[=RELATION]")
    register.add_argument("--run-id", default="")
    register.add_argument("--request-id", help="makes a retried registration return the first result")
    register.add_argument("--no-env", action="store_true", help="do not record this Python environment and git state")
    register.add_argument("--reference-stats", metavar="FILE.json", type=Path,
                          help="statistics of the training data per feature, the reference of input drift: "
                               '{"features": [{"feature": "age", "edges": [...], "counts": [...]}, ...]}')  # fmt: skip
    register.add_argument("--dvc", metavar="FILE",
                          help="a dvc.lock or .dvc file: its data dependencies become datasets and data versions")  # fmt: skip

    promote = command("promote", cmd_promote, "move a version into a stage or point an alias at it")
    promote.add_argument("version", type=exact_version_ref)
    promote.add_argument("stage", help="stage or alias")
    promote.add_argument("--reason", help="why; required unless --dry-run")
    promote.add_argument("--dry-run", action="store_true", help="only check the gates; changes nothing")
    promote.add_argument("--etag", default="", help="fail if the model changed since this etag")
    promote.add_argument("--wait", action="store_true",
                         help="wait for the approvals: exit 0 once applied, 4 if refused, 11 if still pending after "
                              "--timeout (default 30m)")  # fmt: skip

    gate = command("gate", cmd_gate, "check a version against a stage's gates (a dry run), as a report for CI")
    gate.add_argument("version", type=exact_version_ref)
    gate.add_argument("stage", help="stage or alias")
    gate.add_argument("--format", choices=("text", "json", "junit"), default="text",
                      help="junit: JUnit XML, one test case per gate (default text; json as --json)")  # fmt: skip

    promotions_help = "list promotions, newest first; --pending: those waiting for approval"
    promotions = command("promotions", cmd_promotions, promotions_help)
    promotions.add_argument("model", type=model_ref, nargs="?", default="-", help="one model (default: every model)")
    promotions.add_argument("--pending", action="store_true", help="only those waiting for approval")
    promotions.add_argument("--limit", type=int, default=50, help="at most this many rows (0: all)")

    approve = command("approve", cmd_approve, "approve a promotion waiting for approval (not your own)")
    approve.add_argument("promotion", type=promotion_ref, help="MODEL/NUMBER or models/MODEL/promotions/NUMBER")
    approve.add_argument("--comment", default="")

    reject = command("reject", cmd_reject, "refuse a promotion waiting for approval")
    reject.add_argument("promotion", type=promotion_ref, help="MODEL/NUMBER or models/MODEL/promotions/NUMBER")
    reject.add_argument("--reason", required=True)

    cancel = command("cancel", cmd_cancel, "withdraw a promotion waiting for approval")
    cancel.add_argument("promotion", type=promotion_ref, help="MODEL/NUMBER or models/MODEL/promotions/NUMBER")
    cancel.add_argument("--reason", required=True)

    unarchive = command("unarchive", cmd_unarchive, "make an archived version ready again (archived by hand, by "
                        "retention, or deleted through the MLflow API); maintainer")  # fmt: skip
    unarchive.add_argument("version", type=exact_version_ref, help="MODEL@NUMBER")

    rollback = command("rollback", cmd_rollback, "put the previous holder of a stage back")
    rollback.add_argument("model", type=model_ref)
    rollback.add_argument("stage")
    rollback.add_argument("--to", type=version_number, metavar="N",
                          help="put back this earlier holder instead (e.g. the one `studbook candidate` names)")  # fmt: skip
    rollback.add_argument("--reason", help="why; required unless --dry-run")
    rollback.add_argument(
        "--dry-run",
        action="store_true",
        help="say which version a rollback would put back and the gates it would run; change nothing",
    )

    history = command("history", cmd_history, "who held which stage, when and why")
    history.add_argument("model", type=model_ref)
    history.add_argument("--stage", default="", help="one stage or alias only")
    history.add_argument(
        "--at",
        type=moment,
        metavar="TIME",
        help="also show the holders at this time: 1h, 3d ago, 2w, 2026-01-31, 2026-01-31T09:30+01:00",
    )
    history.add_argument(
        "--since", type=moment, metavar="TIME", help="only changes at or after TIME (1h, 3d, 2026-01-31)"
    )
    history.add_argument("--until", type=moment, metavar="TIME", help="only changes at or before TIME")
    history.add_argument("--limit", type=int, default=50, help="at most this many changes (0: all)")

    from studbook.cli import production_commands

    production_commands.add_parsers(command, moment)

    diff = command("diff", cmd_diff, "compare two versions (metrics, params, signature, files, card)")
    diff.add_argument("base", type=version_ref)
    diff.add_argument("target", type=version_ref)

    lineage = command("lineage", cmd_lineage, "walk the lineage graph of a version, dataset or run")
    lineage.add_argument("name", help="a version, datasets/NAME@VERSION or runs/ID")
    way = lineage.add_mutually_exclusive_group()
    way.add_argument("--up", dest="direction", action="store_const", const="upstream", help="what it came from")
    way.add_argument("--down", dest="direction", action="store_const", const="downstream", help="what came from it")
    lineage.add_argument("--depth", type=int, default=0, help="edges to follow (daemon default 3)")

    watch = command("watch", cmd_watch, "print registry events as they happen")
    watch.add_argument(
        "--from", dest="start", type=int, default=-1, metavar="REV", help="replay after this revision (0: all kept)"
    )
    watch.add_argument("--filter", default="", help='e.g. model = "fraud"')

    demo = command("demo", cmd_demo, "open the UI on a demo registry of its own (two weeks of history, a policy, a "
                                     "promotion waiting for approval), starting its daemon and loading it the first "
                                     "time; your registry is left alone unless --address names it")  # fmt: skip
    demo.add_argument("--data-dir", help="the demo daemon's data dir (default: $XDG_DATA_HOME/studbook-demo)")

    web = command("web", cmd_web, "serve the UI to browsers: one UI per browser tab, behind a login token")
    web.add_argument("--listen", metavar="HOST:PORT",
                     help="where browsers connect (default 127.0.0.1:8000, another free port if taken); "
                          "other than loopback needs --web-cert and --web-key")  # fmt: skip
    web.add_argument("--web-cert", metavar="FILE", help="TLS certificate (PEM) of the web server")
    web.add_argument("--web-key", metavar="FILE", help="private key (PEM) of --web-cert")
    web.add_argument("--web-token-file", metavar="FILE",
                     help="file (mode 600) holding the browsers' login token "
                          "(default: $STUDBOOK_WEB_TOKEN, else one made up and printed in the URL)")  # fmt: skip
    web.add_argument("--readonly", action="store_true", default=argparse.SUPPRESS, help=READONLY_HELP)

    tui = command("tui", cmd_tui, "open the terminal UI (what `studbook` alone does); starts a daemon if none runs")
    tui.add_argument("--readonly", action="store_true", default=argparse.SUPPRESS, help=READONLY_HELP)
    return parser


def _list_options(sub: argparse.ArgumentParser, when: str) -> None:
    sub.add_argument("--filter", default="", help='e.g. metrics.auc > 0.9 AND tags.team = "risk"')
    sub.add_argument("--order-by", default="", help="e.g. metrics.auc desc")
    sub.add_argument("--limit", type=int, default=50, help="at most this many rows (0: all)")
    sub.add_argument("--archived", action="store_true", help="include archived ones")
    sub.add_argument(
        "--since", type=moment, metavar="TIME", help=f"only those {when} at or after TIME (1h, 3d, 2026-01-31)"
    )
    sub.add_argument("--until", type=moment, metavar="TIME", help=f"only those {when} at or before TIME")


def _with_times(args: argparse.Namespace, column: str) -> str:
    """--filter with --since/--until added as comparisons of `column`, in UTC for the daemon."""
    from studbook.cli import times

    clauses = [f"({args.filter})"] if args.filter.strip() else []
    for option, check in ((args.since, ">="), (args.until, "<=")):
        if option:
            clauses.append(f'{column} {check} "{times.rfc3339(times.parse_moment(option))}"')
    return " AND ".join(clauses)


class _NotTheUi(Exception):
    pass


class _UiParser(argparse.ArgumentParser):
    """The options the terminal UI takes, and nothing else: it never prints, it gives up."""

    def error(self, message: str) -> NoReturn:
        raise _NotTheUi(message)


def _ui_arguments(argv: Sequence[str] | None) -> argparse.Namespace | None:
    """The arguments of a command line that only opens the terminal UI (`studbook`,
    `studbook --address A --readonly`), else None.

    Building every command's parser takes longer (about 9 ms) than the UI's own use of argparse;
    anything else (a command, --help, --version, a bad option) goes to the full parser, which
    answers it as before.
    """
    parser = _UiParser(prog="studbook", add_help=False, parents=[_common_options()])
    parser.add_argument("--readonly", action="store_true", default=argparse.SUPPRESS)
    parser.set_defaults(handler=cmd_tui, command=None)
    try:
        args, extra = parser.parse_known_args(argv)
    except _NotTheUi:
        return None
    if extra:
        return None
    args.extra = []
    return args


class _VersionAction(argparse.Action):
    """`--version`, read from the package metadata only when asked: every other command,
    the terminal UI's first frame included, would pay for that look-up at start."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS,
                         help="show the program's version number and exit")  # fmt: skip

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:  # fmt: skip
        print(f"studbook {_package_version()}")  # on stdout, as argparse's own version action does
        parser.exit()


def _package_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("studbook")
    except metadata.PackageNotFoundError:
        return "unknown"


# ---- running a command --------------------------------------------------------------


@dataclass
class Context:
    """What every command needs: where the daemon is, and how to print."""

    address: str
    as_json: bool
    # None: the client's default deadline.
    timeout: float | None
    # None: the client reads $STUDBOOK_TOKEN and $STUDBOOK_TLS_CA itself.
    token: str | None = None
    tls_ca: str | None = None
    out: TextIO = field(default_factory=lambda: sys.stdout)
    _client: Client | None = None

    @property
    def paint(self) -> Painter:
        from studbook.cli.output import Painter, wants_colour

        return Painter(not self.as_json and wants_colour(self.out))

    @property
    def client(self) -> Client:
        if self._client is None:
            from studbook.client.clients import Client

            self._client = Client(self.address, timeout=self.timeout, token=self.token, tls_ca=self.tls_ca)
        return self._client

    def emit(self, data: Message | dict[str, Any], human: Callable[[], str]) -> None:
        """JSON of `data` with --json, else the human rendering."""
        from studbook.cli import output

        if self.as_json:
            print(output.json_text(data), file=self.out)
            return
        text = human()
        # Views escape what users wrote; without colour nothing here is ours to keep raw,
        # so the whole text is escaped once more for whatever a command printed itself.
        print(text if self.paint.enabled else safe_lines(text), file=self.out)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


def main(argv: Sequence[str] | None = None) -> int:
    args = _ui_arguments(argv)
    if args is None:
        parser = build_parser()
        try:
            args, extra = parser.parse_known_args(argv)
            if extra and args.command != "serve":
                parser.error(f"unrecognized arguments: {' '.join(extra)}")
        except SystemExit as stop:  # --help, --version and usage errors
            return stop.code if isinstance(stop.code, int) else EXIT_USAGE
        args.extra = extra
    from studbook.cli import times

    times.use_utc(getattr(args, "utc", False))
    context = Context(
        address=getattr(args, "address", None) or locations.default_address(),
        as_json=getattr(args, "json", False),
        timeout=getattr(args, "timeout", None),
        token=getattr(args, "token", None),
        tls_ca=getattr(args, "tls_ca", None),
    )
    try:
        return int(args.handler(args, context))
    except StudbookError as error:
        return _fail(_explain(error), exit_code(error))
    except UnicodeEncodeError as error:  # a name or path with bytes that are not UTF-8
        from studbook.client.clients import not_utf8_error

        refused = not_utf8_error(error)
        return _fail(_explain(refused), exit_code(refused))
    except ValueError as error:  # a value the library refused before sending anything
        return _fail(str(error), EXIT_INVALID)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`studbook versions fraud | head`): not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except Exception as error:  # never a traceback for a user, unless asked for
        if os.environ.get("STUDBOOK_DEBUG"):
            raise
        return _fail(f"unexpected {type(error).__name__}: {error} (STUDBOOK_DEBUG=1 shows where)", EXIT_ERROR)
    finally:
        context.close()


def exit_code(error: StudbookError) -> int:
    return EXIT_REASONS.get(error.reason) or EXIT_CODES.get(error.code, EXIT_ERROR)


def _fail(message: str, code: int) -> int:
    # One line whatever the message holds, so scripts can grep or log it as a unit.
    print(f"error: {safe(' '.join(message.split()))}", file=sys.stderr)
    return code


# Refused credentials -> what to do about them (the daemon's message says what was wrong).
TOKEN_ADVICE = {
    "TOKEN_MISSING": "pass --token TOKEN or set $STUDBOOK_TOKEN",
    "TOKEN_MALFORMED": "check --token or $STUDBOOK_TOKEN",
    "TOKEN_UNKNOWN": "check --token or $STUDBOOK_TOKEN",
    "TOKEN_REVOKED": "ask an admin for a new token (`studbook token create`)",
    "TOKEN_EXPIRED": "ask an admin for a new token (`studbook token create`)",
}


def _explain(error: StudbookError) -> str:
    """The one error line: the daemon's message, a next step where there is an obvious one, the reason."""
    advice = TOKEN_ADVICE.get(error.reason) if error.code == "UNAUTHENTICATED" else None
    if error.code == "UNAVAILABLE" and error.reason == "UNAVAILABLE":
        advice = "start one with `studbook serve` or `studbook demo`, or pass --address"
    if error.reason == "STORE_FULL":
        advice = "free space on the disk of the daemon's data dir; writes resume by themselves"
    if advice:
        return f"{error.message}; {advice} [{error.reason}]"
    return str(error)


# ---- commands -----------------------------------------------------------------------


def cmd_serve(args: argparse.Namespace, ctx: Context) -> int:
    from studbook.cli import launcher

    socket = args.socket
    if socket is None and (getattr(args, "address", None) or os.environ.get(locations.ADDRESS_ENV)):
        # An explicit address says where clients will look, so serve there.
        socket = launcher.socket_path(ctx.address)
    argv = launcher.daemon_argv(data_dir=args.data_dir, socket=socket, listen=args.listen, extra=args.extra)
    launcher.exec_daemon(argv)
    return EXIT_OK  # not reached: exec replaces this process


def cmd_status(args: argparse.Namespace, ctx: Context) -> int:
    from studbook.cli.output import message_dict

    client = ctx.client
    health = client.health()
    models = client.list_models(page_size=1).total_size
    versions = client.list_versions("-", page_size=1, summary_only=True).total_size
    watch = _watch_status(client)
    policy = _policy_status(client)
    catalog = _unless_unimplemented(client.get_catalog_status)
    hooks = _unless_unimplemented(client.get_hook_status)
    monitors = _unless_unimplemented(client.list_monitor_states)
    counts = {"address": ctx.address, "status": health.lower(), "models": models, "versions": versions}
    # `watch` is null when the daemon watches no folder, so scripts can test for it; `policy`
    # and `catalog` are null only from a daemon too old to say.
    data = {**counts, "policy": message_dict(policy) if policy is not None else None,
            "catalog": message_dict(catalog) if catalog is not None else None,
            "watch": message_dict(watch) if watch is not None else None,
            "hooks": message_dict(hooks) if hooks is not None else None,
            "monitors": [message_dict(s) for s in monitors] if monitors is not None else None}  # fmt: skip

    def human() -> str:
        from studbook.cli import views
        from studbook.cli.output import fields, section
        from studbook.cli.policy_text import policy_status

        blocks = [fields(list(counts.items()), paint=ctx.paint)]
        if catalog is not None:
            blocks.append(section("Catalog", views.catalog_status(catalog, ctx.paint), paint=ctx.paint))
        if policy is not None:
            blocks.append(section("Promotion policy", policy_status(policy, ctx.paint, monitors), paint=ctx.paint))
        if watch is not None:
            blocks.append(section("Drop-in folders", views.watch_status(watch, ctx.paint), paint=ctx.paint))
        if hooks is not None and hooks.hooks:
            from studbook.cli.hooks_text import status_lines

            blocks.append(section("Webhooks", status_lines(hooks, ctx.paint), paint=ctx.paint))
        if monitors:
            from studbook.cli import monitor_commands

            blocks.append(section("Monitors", monitor_commands.status_lines(monitors, ctx.paint), paint=ctx.paint))
        return "\n\n".join(blocks)

    ctx.emit(data, human)
    # Degraded watching is shown, not an exit code: drops are still found, only later.
    return EXIT_OK if health == "SERVING" else EXIT_UNAVAILABLE


def cmd_stop(args: argparse.Namespace, ctx: Context) -> int:
    from studbook.cli import demo, launcher, stopping

    if args.demo:
        ctx.address = demo.default_address()
    path = launcher.socket_path(ctx.address)
    if path is None:
        # Only the local socket proves who owns the daemon; over TCP it would be anyone's.
        return _fail(f"studbook stop only stops a daemon on this machine's unix socket, not {ctx.address}; "
                     "stop that one on its host (`studbook stop` there, or Ctrl-C where it runs)", EXIT_INVALID)  # fmt: skip
    try:
        stopped = stopping.stop_daemon(path, ctx.timeout or stopping.DEFAULT_TIMEOUT)
    except StudbookError as error:
        demo_path = launcher.socket_path(demo.default_address())
        if error.reason == "NO_DAEMON" and not args.demo and demo_path and stopping.is_listening(demo_path):
            error.message += "; the demo's daemon is running: stop it with `studbook stop --demo`"
        raise
    data = {"address": ctx.address, "pid": stopped.pid, "stopped": True}
    ctx.emit(data, lambda: f"stopped the studbook daemon (pid {stopped.pid}) on {ctx.address}")
    return EXIT_OK


def _policy_status(client: Client) -> stages_pb2.PolicyStatus | None:
    """The policy in force, or None from a daemon that predates the question."""
    return _unless_unimplemented(client.get_policy_status)


def _unless_unimplemented(ask: Callable[[], T]) -> T | None:
    """The answer, or None from a daemon that predates the question."""
    try:
        return ask()
    except StudbookError as error:
        if error.code == "UNIMPLEMENTED":
            return None
        raise


def _watch_status(client: Client) -> drops_pb2.WatchStatus | None:
    """The watcher's status, or None when the daemon watches no folder (or predates drop-ins)."""
    status = _unless_unimplemented(client.get_watch_status)
    return status if status is not None and status.roots else None


def cmd_drops(args: argparse.Namespace, ctx: Context) -> int:
    from studbook.cli import views
    from studbook.cli.output import message_dict

    listing = ctx.client.list_drops if args.all else ctx.client.list_quarantined_drops
    found: list[Any] = []
    token, total = "", 0
    while True:
        page = listing(model=args.model, page_size=_page_size(args.limit), page_token=token)
        found.extend(page.drops)
        total, token = page.total_size, page.next_page_token
        if not token or 0 < args.limit <= len(found):
            break
    found = found[: args.limit] if args.limit > 0 else found
    data = {"drops": [message_dict(d) for d in found], "total_size": total}

    def human() -> str:
        if not found:
            return "no drops" if args.all else "no quarantined drops"
        rendered = views.drops_table(found, with_state=args.all, paint=ctx.paint)
        if total > len(found):
            rendered += "\n" + ctx.paint(f"({len(found)} of {total} shown; --limit 0 shows all)", "dim")
        return rendered

    ctx.emit(data, human)
    return EXIT_OK


def cmd_drops_retry(args: argparse.Namespace, ctx: Context) -> int:
    from studbook.cli import views
    from studbook.client.clients import drop_settled
    from studbook.v1 import drops_pb2

    text: str = args.drop
    # A drop's name, unless a file of that (relative) name is there to mean a path.
    by_name = text.startswith("drops/") and not os.path.lexists(text)
    allow = args.allow_unsafe
    asked = ctx.client.retry_drop(text, allow_unsafe=allow) if by_name else ctx.client.retry_drop(
        path=text, allow_unsafe=allow)  # fmt: skip
    if args.wait <= 0:
        ctx.emit(asked, lambda: f"the watcher looks at it again; `studbook drops` shows the verdict\n"
                                f"{views.drop_details(asked, ctx.paint)}")  # fmt: skip
        return EXIT_OK
    drop = ctx.client.wait_for_drop(asked, args.wait)
    judged = drop_settled(asked, drop)

    def human() -> str:
        details = views.drop_details(drop, ctx.paint)
        if judged:
            return details
        return f"no new verdict within {args.wait:g} s; `studbook drops --all` shows it when there is one\n{details}"

    ctx.emit(drop, human)
    refused = drop.state in (drops_pb2.DROP_STATE_QUARANTINED, drops_pb2.DROP_STATE_PENDING)
    return EXIT_PRECONDITION if refused or not judged else EXIT_OK


def _take(items: Any, limit: int) -> list[Any]:
    from itertools import islice

    return list(islice(items, limit) if limit > 0 else items)


def _page_size(limit: int) -> int:
    return min(limit, 1000) if limit > 0 else 1000


def cmd_models(args: argparse.Namespace, ctx: Context) -> int:
    from studbook.cli import views

    found = _take(
        ctx.client.iter_models(
            filter=_with_times(args, "update_time"),
            order_by=args.order_by,
            page_size=_page_size(args.limit),
            show_archived=args.archived,
        ),
        args.limit,
    )
    ctx.emit(_listing("models", found), lambda: views.models_table(found, ctx.paint) if found else "no models")
    return EXIT_OK


def cmd_versions(args: argparse.Namespace, ctx: Context) -> int:
    from studbook.cli import views

    found = _take(
        ctx.client.iter_versions(
            args.model,
            filter=_with_times(args, "create_time"),
            order_by=args.order_by,
            page_size=_page_size(args.limit),
            show_archived=args.archived,
            # Tables leave out files, cards and environments; scripts get everything.
            summary_only=not ctx.as_json,
        ),
        args.limit,
    )

    def human() -> str:
        return views.versions_table(found, with_model=args.model == "-", paint=ctx.paint) if found else "no versions"

    ctx.emit(_listing("versions", found), human)
    return EXIT_OK


def _listing(key: str, messages: list[Any]) -> dict[str, Any]:
    from studbook.cli.output import message_dict

    return {key: [message_dict(m) for m in messages]}


def cmd_show(args: argparse.Namespace, ctx: Context) -> int:
    from studbook.cli import views

    ref: names.Ref = args.name
    if ref.is_version:
        version = ctx.client.get_version(ref.name)
        ctx.emit(version, lambda: views.version_details(version, ctx.paint))
        return EXIT_OK
    model = ctx.client.get_model(ref.model)

    def human() -> str:
        recent = ctx.client.list_versions(ref.model, page_size=10, summary_only=True).versions
        table = views.versions_table(recent, with_model=False, paint=ctx.paint) if recent else ""
        from studbook.cli.output import section

        blocks = [views.model_details(model, ctx.paint), section("Latest versions", table, paint=ctx.paint)]
        return "\n\n".join(block for block in blocks if block)

    ctx.emit(model, human)
    return EXIT_OK


def cmd_metrics(args: argparse.Namespace, ctx: Context) -> int:
    from studbook.cli import metrics_view
    from studbook.cli.output import section

    version = ctx.client.get_version(args.name)
    shown = names.short_version(version.name)
    keys = list(dict.fromkeys(args.key))
    if keys:  # one call per key: the daemon reads only those series
        found = [m for key in keys for m in ctx.client.list_metrics(version.name, key=key, split=args.split)]
    else:
        found = ctx.client.list_metrics(version.name, split=args.split)
    all_series = metrics_view.series_of(found)
    on_split = f" on split {args.split!r}" if args.split else ""
    missing = [key for key in keys if not any(s.key == key for s in all_series)]
    if missing:
        known = sorted({m.key for m in ctx.client.list_metrics(version.name, split=args.split)})
        has = f"it has {', '.join(known)}" if known else "it has none"
        return _fail(f"{shown} has no metric {', '.join(missing)}{on_split}; {has}", EXIT_NOT_FOUND)

    def human() -> str:
        if not all_series:
            return f"{shown} has no metrics{on_split}"
        if len(keys) == 1:
            return section(f"{shown} {keys[0]}", metrics_view.steps_table(all_series, ctx.paint), paint=ctx.paint)
        import shutil

        # The section indents the table by two columns.
        columns = shutil.get_terminal_size((100, 24)).columns - 2
        return section(shown, metrics_view.summary_table(all_series, ctx.paint, columns), paint=ctx.paint)

    ctx.emit(metrics_view.as_json(version.name, all_series), human)
    return EXIT_OK


def cmd_register(args: argparse.Namespace, ctx: Context) -> int:
    from studbook.cli import views
    from studbook.client import calls

    if (args.path is None) == (args.uri is None):
        return _fail("give the model file or folder PATH, or --uri URI (one of them)", EXIT_USAGE)
    card = ""
    if args.model_card is not None:
        with args.model_card as handle:
            card = handle.read()
    request = calls.register_request(
        args.model,
        path=args.path,
        uri=args.uri,
        metrics=dict(args.metric),
        params=dict(args.param),
        tags=dict(args.tag),
        description=args.description,
        model_card=card,
        datasets=args.dataset,
        parents=args.parent,
        semver=args.semver,
        change_kind=args.change_kind,
        seed=args.seed,
        data_versions=dict(args.data_version),
        run_id=args.run_id,
        environment=not args.no_env,
        git=not args.no_env,
        request_id=args.request_id,
        created_from="cli",
        entry_point="",  # the script that trained the model is not this command
        keep_in_place=args.keep_in_place,
        allow_unsafe=args.allow_unsafe,
        reference_statistics=_reference_stats(args.reference_stats),
    )
    from studbook.cli.importing import read_dvc_file

    request.dvc_file = read_dvc_file(args.dvc)
    from studbook.cli.output import ProgressLine

    with ProgressLine(f"uploading {args.path}", 0) as progress:
        response = ctx.client.register_version(request, upload=True if args.upload else None,
                                               progress=progress.advance)  # fmt: skip
    ctx.emit(response, lambda: views.registered(response, ctx.paint))
    return EXIT_OK


def _reference_stats(path: Path | None) -> Any:
    """The statistics in a --reference-stats file, as the client takes them; None without one."""
    if path is None:
        return None
    from studbook.client import stats

    try:
        return stats.load(path)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise StudbookError("INVALID_ARGUMENT", "STATISTICS_FILE_INVALID",
                            f"cannot read the statistics in {path}: {getattr(exc, 'strerror', None) or exc}") from None  # fmt: skip


def cmd_import(args: argparse.Namespace, ctx: Context, module: str = "") -> int:
    """`import SOURCE`: each source's module runs it (studbook/cli/import_*.py)."""
    return int(import_module(f"studbook.cli.{module}").run(args, ctx))


def cmd_pull(args: argparse.Namespace, ctx: Context) -> int:
    from studbook.cli.output import ProgressLine

    version = ctx.client.get_version(args.name)
    total = sum(f.size for f in version.files if args.file in (None, f.path))
    with ProgressLine(f"pulling {version.name}", total) as progress:
        pulled = ctx.client.download(version.name, args.dest, file=args.file, progress=progress.advance)
    rows = [{"path": str(p.path), "size": p.size, "sha256": p.sha256, "skipped": p.skipped} for p in pulled]
    ctx.emit({"version": version.name, "files": rows},
             lambda: "\n".join(f"{'kept  ' if p.skipped else 'pulled'} {safe(str(p.path))}" for p in pulled))  # fmt: skip
    return EXIT_OK


def cmd_export(args: argparse.Namespace, ctx: Context) -> int:
    from studbook.cli import export_text
    from studbook.cli.output import ProgressLine
    from studbook.exports import export
    from studbook.exports.options import ExportOptions

    ref = names.text_of(args.name)
    options = ExportOptions(image=args.image, upload_url=args.upload_url, layers=args.layers)
    with ProgressLine(f"exporting {ref}", 0) as progress:

        def planned(size: int) -> None:
            progress.total += size

        summary = export(ctx.client, ref, args.dest, args.format, options=options, progress=progress.advance,
                         planned=planned)  # fmt: skip
    ctx.emit(summary, lambda: "\n".join(export_text.summary_lines(ref, summary)))
    return EXIT_OK


def cmd_verify(args: argparse.Namespace, ctx: Context) -> int:
    from studbook.cli import views
    from studbook.cli.output import ProgressLine

    ref: names.Ref | None = args.name
    if (ref is None) != args.all:
        return _fail("name a model or a version to verify, or --all for every kept version (not both)", EXIT_USAGE)
    with ProgressLine("verifying", 0) as line:

        def progress(step: Any) -> None:
            line.total = step.total_bytes
            line.advance(step.checked_bytes - line.done)

        summary = ctx.client.verify_artifacts(ref.name if ref is not None else "", progress=progress)
    ctx.emit(summary, lambda: views.verify_summary(summary, ctx.paint))
    return EXIT_PRECONDITION if summary.corrupt_count else EXIT_OK


def cmd_backup(args: argparse.Namespace, ctx: Context) -> int:
    from studbook.cli import views
    from studbook.cli.output import ProgressLine

    with ProgressLine("backing up", 0) as line:

        def progress(step: Any) -> None:
            line.total = step.total_bytes
            line.advance(step.done_bytes - line.done)

        summary = ctx.client.backup(args.dest, progress=progress)
    ctx.emit(summary, lambda: views.backup_summary(summary, ctx.paint))
    return EXIT_OK


def cmd_restore(args: argparse.Namespace, ctx: Context) -> int:
    from studbook.cli import launcher

    # Offline work on the daemon's own files: it runs as the daemon's code, in its own process.
    argv = launcher.restore_argv(args.src, args.data_dir, artifact_store=args.artifact_store, as_json=ctx.as_json)
    launcher.exec_daemon(argv)
    return EXIT_OK  # not reached: exec replaces this process


def cmd_policy_check(args: argparse.Namespace, ctx: Context) -> int:
    from studbook.cli import launcher

    # The daemon's own policy loading, so the errors are the daemon's; no daemon is asked.
    launcher.exec_daemon(launcher.policy_check_argv(args.file, as_json=ctx.as_json))
    return EXIT_OK  # not reached: exec replaces this process


def cmd_catalog(args: argparse.Namespace, ctx: Context) -> int:
    from studbook.cli import launcher

    # Offline work on catalogs a daemon would open: it runs as the daemon's code, in its own process.
    argv = launcher.catalog_copy_argv(args.source, args.destination, as_json=ctx.as_json)
    launcher.exec_daemon(argv)
    return EXIT_OK  # not reached: exec replaces this process


def cmd_import_mlflow(args: argparse.Namespace, ctx: Context) -> int:
    from studbook.cli.importers import command

    return command.run_mlflow_import(args.source, ctx.client, as_json=ctx.as_json, dry_run=args.dry_run,
                                     allow_unsafe=args.allow_unsafe, only=args.model, out=ctx.out)  # fmt: skip


def _promotion_exit(promotion: Any) -> int:
    from studbook.v1 import stages_pb2

    refused = promotion.state in (stages_pb2.PROMOTION_STATE_FAILED, stages_pb2.PROMOTION_STATE_REJECTED)
    if refused or any(not gate.passed for gate in promotion.gate_results):
        return EXIT_PRECONDITION
    return EXIT_OK


def cmd_rename(args: argparse.Namespace, ctx: Context) -> int:
    from studbook.cli import views

    model = ctx.client.rename_model(args.model, args.new_name, expected_etag=args.etag, reason=args.reason)
    ctx.emit(model, lambda: f"renamed {args.model} to {args.new_name}\n\n" + views.model_details(model, ctx.paint))
    return EXIT_OK


def cmd_promote(args: argparse.Namespace, ctx: Context) -> int:
    from studbook.cli import views
    from studbook.v1 import stages_pb2

    if not args.dry_run and not args.reason:
        return _fail("say why with --reason (or check the gates first with --dry-run)", EXIT_USAGE)
    promotion = ctx.client.promote(
        args.version, args.stage, reason=args.reason or "", validate_only=args.dry_run, expected_etag=args.etag
    )
    if args.wait and promotion.state == stages_pb2.PROMOTION_STATE_PENDING_APPROVAL:
        if not ctx.as_json:
            print(f"{promotion.name} waits for approval; waiting (Ctrl-C stops waiting, not the promotion)",
                  file=sys.stderr, flush=True)  # fmt: skip
        promotion = ctx.client.wait_for_promotion(promotion, ctx.timeout or PROMOTION_WAIT_SECONDS)
    ctx.emit(promotion, lambda: views.promotion(promotion, ctx.paint))
    if promotion.state in (stages_pb2.PROMOTION_STATE_PENDING_APPROVAL, stages_pb2.PROMOTION_STATE_APPROVED):
        return EXIT_PENDING_APPROVAL  # asked for, not applied: the stage has not changed yet
    if promotion.state == stages_pb2.PROMOTION_STATE_CANCELLED:
        return EXIT_PRECONDITION
    return _promotion_exit(promotion)


def cmd_gate(args: argparse.Namespace, ctx: Context) -> int:
    from studbook.cli import gate_report, views

    promotion = ctx.client.promote(args.version, args.stage, validate_only=True)
    if args.format == "junit":
        sys.stdout.write(gate_report.junit(promotion))
    elif args.format == "json":
        ctx.as_json = True
    if args.format != "junit":
        ctx.emit(promotion, lambda: views.promotion(promotion, ctx.paint))
    return _promotion_exit(promotion)


def cmd_promotions(args: argparse.Namespace, ctx: Context) -> int:
    from studbook.cli.promotion_text import promotions_table
    from studbook.client import calls

    found: list[Any] = []
    token = ""
    while True:
        page = ctx.client.list_promotions(args.model, filter=calls.PENDING_FILTER if args.pending else "",
                                          page_size=_page_size(args.limit), page_token=token)  # fmt: skip
        found.extend(page.promotions)
        token = page.next_page_token
        if not token or 0 < args.limit <= len(found):
            break
    found = found[: args.limit] if args.limit > 0 else found

    def human() -> str:
        if found:
            return promotions_table(found, ctx.paint)
        return "no promotions waiting for approval" if args.pending else "no promotions"

    ctx.emit(_listing("promotions", found), human)
    return EXIT_OK


def cmd_approve(args: argparse.Namespace, ctx: Context) -> int:
    from studbook.cli import views

    promotion = ctx.client.approve_promotion(args.promotion, comment=args.comment)
    ctx.emit(promotion, lambda: views.promotion(promotion, ctx.paint))
    return _promotion_exit(promotion)


def cmd_reject(args: argparse.Namespace, ctx: Context) -> int:
    from studbook.cli import views

    promotion = ctx.client.reject_promotion(args.promotion, reason=args.reason)
    ctx.emit(promotion, lambda: views.promotion(promotion, ctx.paint))
    return EXIT_OK  # the rejection is what was asked for


def cmd_cancel(args: argparse.Namespace, ctx: Context) -> int:
    from studbook.cli import views

    promotion = ctx.client.cancel_promotion(args.promotion, reason=args.reason)
    ctx.emit(promotion, lambda: views.promotion(promotion, ctx.paint))
    return EXIT_OK


def cmd_unarchive(args: argparse.Namespace, ctx: Context) -> int:
    from studbook.cli import views

    version = ctx.client.restore_version(args.version)
    ctx.emit(version, lambda: views.version_details(version, ctx.paint))
    return EXIT_OK


def cmd_rollback(args: argparse.Namespace, ctx: Context) -> int:
    from studbook.cli import views

    if not args.dry_run and not args.reason:
        return _fail("say why with --reason (or check first with --dry-run)", EXIT_USAGE)
    promotion = ctx.client.rollback(args.model, args.stage, reason=args.reason or "", validate_only=args.dry_run,
                                    to=args.to or "")  # fmt: skip
    ctx.emit(promotion, lambda: views.promotion(promotion, ctx.paint))
    return _promotion_exit(promotion)


def cmd_history(args: argparse.Namespace, ctx: Context) -> int:
    from studbook.cli import times, views

    at, since, until = (times.parse_moment(text) if text else None for text in (args.at, args.since, args.until))
    if since is None and until is None:
        response = ctx.client.stage_history(args.model, stage=args.stage, at=at, page_size=_page_size(args.limit))
    else:
        response = _history_between(ctx.client, args, at, since, until)
    ctx.emit(response, lambda: views.history(response, ctx.paint))
    return EXIT_OK


def _history_between(
    client: Client, args: argparse.Namespace, at: datetime | None, since: datetime | None, until: datetime | None
) -> Any:
    """The changes made between `since` and `until` (either open), newest first, at most --limit.

    The daemon pages history by revision, not time, so every page is read: a model's
    history is short, and a change recorded with an earlier time must not be missed.
    """
    from studbook.v1 import stages_pb2

    kept: list[Any] = []
    holders: dict[str, str] = {}
    token = ""
    while True:
        page = client.stage_history(args.model, stage=args.stage, at=at, page_size=1000, page_token=token)
        holders = holders or dict(page.holders_at)
        for change in page.changes:
            when = change.time.ToDatetime(tzinfo=UTC)
            if (since is None or when >= since) and (until is None or when <= until):
                kept.append(change)
        token = page.next_page_token
        if not token or 0 < args.limit <= len(kept):
            break
    kept = kept[: args.limit] if args.limit > 0 else kept
    return stages_pb2.GetStageHistoryResponse(changes=kept, holders_at=holders)


def cmd_diff(args: argparse.Namespace, ctx: Context) -> int:
    from studbook.cli import views

    result = ctx.client.diff(args.base, args.target)
    ctx.emit(result, lambda: views.diff(result, ctx.paint))
    return EXIT_OK


def cmd_lineage(args: argparse.Namespace, ctx: Context) -> int:
    from studbook.cli import views

    response = ctx.client.get_lineage(args.name, direction=args.direction or "both", depth=args.depth)
    ctx.emit(response, lambda: views.lineage(response, ctx.paint))
    return EXIT_OK


def cmd_audit_verify(args: argparse.Namespace, ctx: Context) -> int:
    verdict = ctx.client.verify_audit_trail()

    def human() -> str:
        if verdict.intact:
            return f"audit trail intact: {verdict.checked} records, head {verdict.head}"
        return (f"audit trail BROKEN at revision {verdict.broken_revision}: {safe(verdict.problem)}\n"
                f"{verdict.checked} records before it are intact (head {verdict.head})")  # fmt: skip

    ctx.emit(verdict, human)
    return EXIT_OK if verdict.intact else EXIT_PRECONDITION


def cmd_gc(args: argparse.Namespace, ctx: Context) -> int:
    from studbook.cli import views

    report = ctx.client.plan_garbage_collection() if args.dry_run else ctx.client.collect_garbage()
    ctx.emit(report, lambda: views.garbage_collection(report, ctx.paint))
    return EXIT_OK


def cmd_audit_export(args: argparse.Namespace, ctx: Context) -> int:
    from studbook.cli import output

    for record in ctx.client.export_audit_trail(args.start):
        print(output.json_line(record), file=ctx.out)
    return EXIT_OK


def cmd_whoami(args: argparse.Namespace, ctx: Context) -> int:
    from studbook.cli import views

    caller = ctx.client.get_caller()
    ctx.emit(caller, lambda: views.caller_details(caller, ctx.paint))
    return EXIT_OK


def cmd_token_create(args: argparse.Namespace, ctx: Context) -> int:
    from studbook.cli import views
    from studbook.cli.output import format_time

    created = ctx.client.create_token(args.name, args.role, ttl_seconds=args.expires)
    # For people the secret goes alone on stdout, so `SECRET=$(studbook token create ...)`
    # captures just it; the rest is for whoever is at the terminal, on stderr, without it.
    ctx.emit(created, lambda: created.secret)
    if not ctx.as_json:
        token = created.token
        expires = f"expires {format_time(token.expire_time)}" if token.HasField("expire_time") else "never expires"
        print(f"created token {safe(token.display_name)} ({token.name}, {views.role_label(token.role)}, {expires}).\n"
              "Its secret, printed on stdout, is shown only this once: only its hash is kept. Use it with\n"
              "  export STUDBOOK_TOKEN=<the secret>    (or --token for a single command)",
              file=sys.stderr)  # fmt: skip
    return EXIT_OK


def cmd_token_list(args: argparse.Namespace, ctx: Context) -> int:
    from studbook.cli import views

    show_revoked: bool = args.all
    found = ctx.client.list_tokens(show_revoked=show_revoked)
    now = datetime.now(UTC)

    def human() -> str:
        if found:
            return views.tokens_table(found, now=now, paint=ctx.paint)
        return "no tokens" if show_revoked else "no tokens (--all shows revoked ones)"

    ctx.emit(_listing("tokens", found), human)
    return EXIT_OK


def cmd_token_revoke(args: argparse.Namespace, ctx: Context) -> int:
    from studbook.cli import views

    token = ctx.client.revoke_token(args.name)

    def human() -> str:
        head = f"revoked token {safe(token.display_name)} ({token.name}); its next call is refused"
        return f"{head}\n{views.token_details(token, paint=ctx.paint)}"

    ctx.emit(token, human)
    return EXIT_OK


def cmd_watch(args: argparse.Namespace, ctx: Context) -> int:
    from studbook.cli import output, views

    paint = ctx.paint
    try:
        for response in ctx.client.watch(args.start, filter=args.filter):
            if not response.HasField("event"):
                continue  # bookmarks only say that nothing happened
            line = output.json_line(response.event) if ctx.as_json else views.event_line(response.event, paint)
            print(line, file=ctx.out, flush=True)
    except KeyboardInterrupt:
        pass  # Ctrl-C is how a watch ends
    return EXIT_OK


def cmd_demo(args: argparse.Namespace, ctx: Context) -> int:
    from studbook.cli import demo, launcher

    # The demo has a registry of its own: it writes into another only when --address names it.
    if not getattr(args, "address", None):
        ctx.address = demo.default_address()
    data_dir = Path(args.data_dir) if args.data_dir else demo.default_data_dir()
    pid = None
    if not launcher.is_serving(ctx.address, token=ctx.token, tls_ca=ctx.tls_ca):
        # A new catalog gets two weeks of history; one that holds the demo keeps its real times.
        fresh = not (data_dir / "catalog.duckdb").exists()
        extra = demo.daemon_args(data_dir, policy=demo.write_policy(data_dir), history=fresh)
        pid = launcher.start_daemon(ctx.address, data_dir=str(data_dir), extra=extra)
    loaded = not demo.is_loaded(ctx.client)
    if loaded:
        people = [demo.client_as(actor, ctx.address, token=ctx.token, tls_ca=ctx.tls_ca, timeout=ctx.timeout)
                  for actor in (demo.REQUESTER, demo.APPROVER)]  # fmt: skip
        try:
            demo.load_demo(*people)
        finally:
            for client in people:
                client.close()
    if pid is not None:
        demo.make_drops(data_dir)
    stop = "studbook stop --demo" if ctx.address == demo.default_address() else f"studbook stop --address {ctx.address}"
    data = {"address": ctx.address, "daemon_pid": pid, "loaded": loaded, "data_dir": str(data_dir), "stop": stop}

    def human() -> str:
        started = (
            f"started the demo daemon (pid {pid}) on {ctx.address}" if pid else f"a daemon answers on {ctx.address}"
        )
        did = ("loaded the demo: two weeks of history, one promotion waiting for your approval, a production "
               "monitor in breach") if loaded \
            else "the demo was already loaded"  # fmt: skip
        return (f"{started}; {did}.\n"
                f"its data: {data_dir} (your own registry is left alone)\n"
                f"stop it: {stop}\n"
                f"try: studbook --address {ctx.address} models")  # fmt: skip

    if ctx.as_json or not (sys.stdin.isatty() and ctx.out.isatty()):
        ctx.emit(data, human)
        return EXIT_OK
    # `studbook demo` is what `make run` runs: it ends in the terminal UI, and says on the way
    # out that the daemon it started goes on running.
    started, where, how_to_stop, _ = human().splitlines()
    code = _run_tui(ctx, readonly=False, notices=(started, f"{where}; {how_to_stop}"))
    if pid is not None or ctx.address == demo.default_address():
        print(f"the demo daemon is still running on {ctx.address}; stop it with `{stop}`", file=ctx.out)
    return code


def cmd_tui(args: argparse.Namespace, ctx: Context) -> int:
    from studbook.cli import launcher

    notices: tuple[str, ...] = ()
    # A socket that takes connections is enough to open the UI (it shows what it then finds);
    # the full health check would load grpc before the first frame.
    if not launcher.accepts_connections(ctx.address) and not launcher.is_serving(
        ctx.address, token=ctx.token, tls_ca=ctx.tls_ca
    ):
        # Only a unix socket can be started here; a TCP address that does not answer is an error.
        pid = launcher.start_daemon(ctx.address)
        notices = (f"no daemon answered, so one was started in the background (pid {pid}) on {ctx.address}; "
                   "it keeps running after the UI: `studbook stop` ends it",)  # fmt: skip
    return _run_tui(ctx, readonly=getattr(args, "readonly", False), notices=notices)


def cmd_web(args: argparse.Namespace, ctx: Context) -> int:
    from studbook.cli import launcher, web

    # Checked before a daemon is started: a refused --listen changes nothing.
    settings = web.settings(args.listen, token_file=args.web_token_file, cert=args.web_cert, key=args.web_key,
                            readonly=getattr(args, "readonly", False))  # fmt: skip
    if not launcher.is_serving(ctx.address, token=ctx.token, tls_ca=ctx.tls_ca):
        pid = launcher.start_daemon(ctx.address)
        print(f"studbook web: no daemon answered, so one was started in the background (pid {pid}) on {ctx.address}",
              file=sys.stderr)  # fmt: skip
    web.serve(settings, address=ctx.address, token=ctx.token, tls_ca=ctx.tls_ca)
    return EXIT_OK


def _run_tui(ctx: Context, *, readonly: bool, notices: tuple[str, ...] = ()) -> int:
    from studbook.tui import collector

    # Before Textual is imported: the app resumes collecting once its first rows are shown.
    collector.pause()
    from studbook.tui.app import StudbookApp
    from studbook.tui.config import load_settings

    settings, problems = load_settings()
    app = StudbookApp(ctx.address, readonly=readonly, settings=settings, problems=tuple(problems), notices=notices,
                      token=ctx.token, tls_ca=ctx.tls_ca)  # fmt: skip
    app.run()
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
