"""The `studbook import mlflow` command: open the source, run the import, print the summary."""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from studbook.cli.importers.import_report import report_text
from studbook.cli.importers.mlflow_import import MlflowImport
from studbook.cli.importers.mlflow_source import SourceError, open_source
from studbook.cli.importers.progress import Progress
from studbook.client.clients import Client
from studbook.client.safe_text import safe

EXIT_OK = 0
EXIT_ERROR = 1
# The source cannot be read at all: the `studbook` command's "unavailable".
EXIT_SOURCE = 5


def run_mlflow_import(spec: str, client: Client, *, as_json: bool, dry_run: bool, allow_unsafe: bool,
                      only: Sequence[str] = (), out: TextIO = sys.stdout) -> int:  # fmt: skip
    """The exit code: 0 when everything was imported or skipped for a stated reason, 1 when
    something failed (files that do not match, a role that may not register), 5 when the source
    cannot be read."""
    progress = Progress(0, enabled=not as_json)
    try:
        source = open_source(spec)
    except SourceError as error:
        print(f"error: {safe(' '.join(str(error).split()))}", file=sys.stderr)
        return EXIT_SOURCE
    try:
        with tempfile.TemporaryDirectory(prefix="studbook-import-") as scratch:
            run = MlflowImport(source, client, scratch=Path(scratch), dry_run=dry_run, allow_unsafe=allow_unsafe,
                               progress=progress, only=only)  # fmt: skip
            report = run.run()
    except SourceError as error:
        progress.finish()
        print(f"error: {safe(' '.join(str(error).split()))}", file=sys.stderr)
        return EXIT_SOURCE
    finally:
        source.close()
    print(json.dumps(report.data(), indent=2) if as_json else report_text(report), file=out)
    return EXIT_ERROR if report.failed else EXIT_OK
