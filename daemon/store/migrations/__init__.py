"""The catalog's numbered migrations, one folder of SQL files per backend.

`duckdb/0001_schema.sql`, `duckdb/0002_audit_chain.sql`, ... Migration N takes a catalog from
schema version N-1 to N; the first creates it. Both backends carry the same numbers, so a schema
version means the same tables and columns whichever backend holds the catalog (a test compares
them). Each backend's runner records the version it reached in `meta`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Literal

Backend = Literal["duckdb", "postgres"]

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    number: int
    name: str
    sql: str


def load(backend: Backend) -> tuple[Migration, ...]:
    """The backend's migrations in order, from the files shipped in this package."""
    return read(resources.files(__package__).joinpath(backend))


def read(folder: Traversable) -> tuple[Migration, ...]:
    """The migrations in `folder`, in order. Their numbers must run 1, 2, 3 ... without a gap or a
    repeat: a gap would silently skip a schema change on every catalog that upgrades across it."""
    found: list[Migration] = []
    for entry in folder.iterdir():
        if not entry.name.endswith(".sql"):
            continue
        matched = _NAME.match(entry.name)
        if matched is None:
            raise ValueError(f"migration file {entry.name} in {folder} is not named NNNN_name.sql")
        found.append(Migration(int(matched.group(1)), matched.group(2), entry.read_text(encoding="utf-8")))
    found.sort(key=lambda migration: migration.number)
    numbers = [migration.number for migration in found]
    if numbers != list(range(1, len(found) + 1)):
        raise ValueError(f"the migrations in {folder} must be numbered 1..{len(found)} without gaps, found {numbers}")
    return tuple(found)
