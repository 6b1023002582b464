"""Containment checks for paths a model folder names: links must not lead out of it."""

from __future__ import annotations

from pathlib import Path


def inside(path: Path, root: Path) -> bool:
    """True when `path` resolves (following links) to a place within `root`.

    A link loop or an unreadable component counts as outside: it cannot be shown safe.
    """
    try:
        return path.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError, ValueError):
        # RuntimeError is how Python 3.11 reports a symlink loop.
        return False
