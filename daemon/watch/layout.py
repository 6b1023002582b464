"""Drop-in layout: which names are ignored and which drop unit a path belongs to.

    <root>/<model>/<version>/...   a version folder (canonical integer: that number)
    <root>/<model>/<other>/...     any other folder: the next version number
    <root>/<model>/<file>          a single-file model: the next version number

A unit is the second path component under the root. Everything here is pure string
work, so the observer thread may use it to key its hints.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from studbook.daemon.domain.errors import InvalidArgument
from studbook.daemon.formats import dvc

MANIFEST = "studbook.json"

# Names writers use while a file is not finished: temporary copies, partial downloads,
# editor swap and backup files. Dot-names cover rsync (`.name.XXXXXX`), vim (`.name.swp`),
# emacs locks (`.#name`), `.staging/` and every hidden folder.
_TEMPORARY_SUFFIXES = (
    ".tmp", ".temp", "~", ".swp", ".swo", ".swx", ".part", ".partial", ".crdownload", ".download",
)  # fmt: skip
# vim writes and deletes a file named 4913 to probe whether a folder is writable.
_PROBE_NAMES = frozenset({"4913"})
# Names that cannot be shown or stored as text: control characters, and lone surrogates
# (how Python spells bytes that are not UTF-8).
_UNSPEAKABLE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
# Canonical version numbers only: "007" is refused rather than silently read as 7.
_VERSION_NUMBER = re.compile(r"[1-9][0-9]{0,18}")


def is_ignored_name(name: str) -> bool:
    """A name the watcher never registers: hidden, temporary or an editor's scratch file."""
    return (
        name.startswith(".")
        or name.endswith(_TEMPORARY_SUFFIXES)
        or (name.startswith("#") and name.endswith("#"))
        or name.startswith("~$")
        or name in _PROBE_NAMES
    )


def is_sidecar_name(name: str) -> bool:
    """A DVC file in a model folder (`model.pkl.dvc`, `dvc.lock`): read with the single-file
    model beside it (see `sidecars`), never registered as a model version of its own."""
    return dvc.is_dvc_name(name)


def sidecars(unit_path: str) -> list[str]:
    """The DVC files that may describe the single-file unit at `unit_path`: its own
    `NAME.dvc`, then the model folder's `dvc.lock`."""
    return [unit_path + dvc.SUFFIX, os.path.join(os.path.dirname(unit_path), dvc.LOCK_NAME)]


def is_speakable_name(name: str) -> bool:
    """A model or unit name the registry can record and show; others are quarantined by
    name alone (in memory: the catalog stores text, and such a name is not text)."""
    return _UNSPEAKABLE.search(name) is None


def is_speakable(rel: str) -> bool:
    """True when every component of the '/'-separated relative path is speakable."""
    return all(is_speakable_name(part) for part in rel.split("/"))


def is_ignored(rel: str) -> bool:
    """True when any component of the '/'-separated relative path is ignored."""
    return any(is_ignored_name(part) for part in rel.split("/"))


def is_artifact_path(rel: str) -> bool:
    """A file of a version folder that becomes part of the registered artifact."""
    return rel != MANIFEST and not is_ignored(rel)


@dataclass(frozen=True, order=True)
class UnitKey:
    """One drop: a root and the unit's path below it (`model/entry`, or `entry` when a
    file lies directly in the root, where it cannot be registered)."""

    root: str
    rel: str

    @property
    def model(self) -> str:
        return self.rel.split("/", 1)[0]

    @property
    def entry(self) -> str:
        return self.rel.split("/", 1)[1] if "/" in self.rel else ""

    @property
    def is_model_level(self) -> bool:
        """The key names a model folder (or a stray file in the root), not a unit."""
        return "/" not in self.rel

    @property
    def path(self) -> str:
        return os.path.join(self.root, *self.rel.split("/"))


def key_for(root: str, path: str) -> UnitKey | None:
    """The unit (or model-level key) a changed path belongs to; None for the root itself,
    paths outside it and anything under an ignored model or unit name. Everything below a
    model folder whose name is not speakable belongs to that folder's key."""
    if path == root or not path.startswith(root.rstrip("/") + "/"):
        return None
    parts = path[len(root.rstrip("/")) + 1 :].split("/")
    parts = [p for p in parts if p]
    if not parts or is_ignored_name(parts[0]):
        return None
    if len(parts) == 1 or not is_speakable_name(parts[0]):
        return UnitKey(root, parts[0])  # a model folder that cannot be named is one drop, whole
    if is_ignored_name(parts[1]) or (len(parts) == 2 and is_sidecar_name(parts[1])):
        return None
    return UnitKey(root, f"{parts[0]}/{parts[1]}")


def version_number(entry: str, is_folder: bool) -> int | None:
    """The explicit version number of a unit, or None for "the next number".

    Only folders named by an integer carry a number; `0` and leading zeros are refused,
    so one version has exactly one folder name.
    """
    if not is_folder or not entry.isascii() or not entry.isdigit():
        return None
    if not _VERSION_NUMBER.fullmatch(entry) or int(entry) > 2**62:
        raise InvalidArgument(
            f"version folder {entry[:40]!r} is not a version number: use 1, 2, 3 ... without "
            "leading zeros, or any non-numeric name for the next number",
            reason="INVALID_VERSION_FOLDER",
            folder=entry[:40],
        )
    return int(entry)
