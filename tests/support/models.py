"""The committed model fixtures (tests/fixtures/models), written by tests/fixtures/make_models.py
with the real libraries, so the tests that read them need none of those libraries."""

from __future__ import annotations

import functools
import json
import shutil
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "models"


def fixture(name: str) -> Path:
    """The committed file or folder `name` (relative to tests/fixtures/models); read only."""
    path = FIXTURES / name
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run tests/fixtures/make_models.py and commit its output")
    return path


def copy_fixture(name: str, destination: Path) -> Path:
    """A private copy of fixture `name` inside the folder `destination`, for a test that
    changes it or drops it somewhere; returns the copy's path."""
    source = fixture(name)
    destination.mkdir(parents=True, exist_ok=True)
    target = destination / source.name
    if source.is_dir():
        shutil.copytree(source, target)
    else:
        shutil.copyfile(source, target)
    return target


@functools.cache
def expected() -> dict[str, Any]:
    """What the libraries said about the fixtures when they wrote them (expected.json)."""
    loaded: dict[str, Any] = json.loads(fixture("expected.json").read_text())
    return loaded


def facts(name: str) -> dict[str, Any]:
    """expected.json's entry for one fixture file: its parameter count and the like."""
    found: dict[str, Any] = expected()["files"][name]
    return found
