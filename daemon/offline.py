"""What the offline commands (`studbook restore`, `studbook catalog copy`) share: they run one
job against files or a database with no daemon, say how it goes on stderr, and print its report
as text or JSON; a refusal is one line and the `studbook` command's exit code for its kind."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import TypeVar

from studbook.daemon.domain import errors
from studbook.daemon.store.catalog import make_pandas_probes_cheap

Report = TypeVar("Report")
Say = Callable[[str], None]

# The exit codes of the `studbook` command, for the errors an offline job meets.
EXIT_CODES: list[tuple[type[errors.RegistryError], int]] = [
    (errors.NotFound, 3),
    (errors.FailedPrecondition, 4),
    (errors.Unavailable, 5),
    (errors.InvalidArgument, 7),
    (errors.Unauthenticated, 8),
    (errors.PermissionDenied, 9),
]


def run_offline(job: Callable[[Say], Report], *, as_json: bool, data: Callable[[Report], dict[str, object]],
                text: Callable[[Report], str]) -> int:  # fmt: skip
    """Runs `job` (given where to say how it goes) and prints its report; the exit code."""
    make_pandas_probes_cheap()
    say: Say = (lambda _: None) if as_json else (lambda line: print(line, file=sys.stderr, flush=True))
    try:
        report = job(say)
    except errors.RegistryError as error:
        print(f"error: {' '.join(error.message.split())} [{error.reason}]", file=sys.stderr)
        return next((code for kind, code in EXIT_CODES if isinstance(error, kind)), 1)
    except OSError as error:
        print(f"error: {error.strerror or error}{f': {error.filename}' if error.filename else ''}", file=sys.stderr)
        return 1
    print(json.dumps(data(report), indent=2) if as_json else text(report))
    return 0
