"""A folder written by mlflow-export-import: not read yet; the error says what to use instead."""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

from studbook.cli.importers.mlflow_source import SourceError


class ExportSource:
    label = ""

    def __init__(self, folder: Path) -> NoReturn:
        self.label = str(folder)
        raise SourceError(
            f"reading mlflow-export-import folders ({folder}) is not supported yet; import from the tracking "
            "server (http://host:port) or its database (sqlite:///mlflow.db, postgresql://...) instead"
        )
