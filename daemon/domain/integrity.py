"""What a re-hash of the artifact store means for versions: which turn corrupt, why, and which recover."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from studbook.daemon.domain.model import VersionStatus

# Paths named in a reason; the rest are counted.
NAMED_PATHS = 5


@dataclass(frozen=True)
class Outcome:
    """What a check did to one version: its status now, and why."""

    model: str
    number: int
    status: VersionStatus
    reason: str = ""


def corrupt_reasons(
    bad: Mapping[str, bool], files: Iterable[tuple[str, int, str, str]], store: str
) -> dict[tuple[str, int], str]:
    """The reason of every version that refers to a bad blob.

    `bad` maps each bad blob's sha256 to True when it is gone from the store, False when its
    bytes no longer hash to it; `files` are (model, number, path, sha256) of kept versions.
    """
    changed: dict[tuple[str, int], list[str]] = {}
    gone: dict[tuple[str, int], list[str]] = {}
    for model, number, path, sha256 in files:
        if sha256 in bad:
            (gone if bad[sha256] else changed).setdefault((model, number), []).append(path)
    reasons: dict[tuple[str, int], str] = {}
    for key in sorted(changed.keys() | gone.keys()):
        parts = []
        if key in changed:
            verb = "no longer matches its" if len(changed[key]) == 1 else "no longer match their"
            parts.append(f"{_paths(changed[key])} {verb} sha256 in the artifact store {store}")
        if key in gone:
            verb = "is" if len(gone[key]) == 1 else "are"
            parts.append(f"{_paths(gone[key])} {verb} missing from the artifact store {store}")
        reasons[key] = "; ".join(parts)
    return reasons


def status_after_check(current: VersionStatus, reason: str | None) -> VersionStatus:
    """The status a version takes after a check: `reason` None means all its blobs match.

    Archived versions stay archived: archiving is final and takes them out of every stage.
    A corrupt version whose blobs all match again is ready; others keep their status.
    """
    if current == VersionStatus.ARCHIVED:
        return current
    if reason is not None:
        return VersionStatus.CORRUPT
    return VersionStatus.READY if current == VersionStatus.CORRUPT else current


def _paths(paths: list[str]) -> str:
    named = ", ".join(sorted(paths)[:NAMED_PATHS])
    more = len(paths) - NAMED_PATHS
    return f"{named} and {more} more" if more > 0 else named
