"""The retention rule: what garbage collection does with a version beyond its model's keep_last. No I/O.

A version beyond `keep_last` is *expired* unless something protects it:

- it holds, or ever held, a stage or an alias (the stage history says so);
- a promotion of it waits for approval;
- it is a lineage parent (fine-tuned from, distilled from, ...) of a version that stays, or of
  such a parent in turn.

An expired version is archived first; once it has stayed archived for the rule's `purge_after`
(at once when that is zero) it is *due*, and purged: its catalog rows go, its event log stays,
and the blobs no remaining version refers to are deleted. A due version that a version left in
place by the same run descends from waits for that one to go first, so a purge never leaves a
remaining version with a missing parent.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from studbook.daemon.domain.names import version_name

# An unreferenced blob written or used less than this long ago stays: an ingest that has not
# committed its version yet may rely on it (the same hour after which a stale staging file goes).
BLOB_GRACE = timedelta(hours=1)


class Fate(str, enum.Enum):
    KEEP = "keep"  # protected: stays as it is
    ARCHIVE = "archive"  # expired: archived now, purged by a later run
    WAIT = "wait"  # archived already, not purged yet
    PURGE = "purge"  # removed from the catalog now


@dataclass(frozen=True)
class Expiry:
    """What the catalog says of one version beyond keep_last (see store.retention.RetentionFacts)."""

    model: str
    number: int
    archived: bool
    update_time: datetime
    keep_last: int
    due: bool
    held: tuple[str, ...] = ()
    pending: tuple[int, ...] = ()
    parent_of_kept: str = ""
    parent_of_remaining: str = ""


@dataclass(frozen=True)
class Decision:
    """What a run does with one version beyond keep_last, and why, in words for people."""

    model: str
    number: int
    fate: Fate
    why: str
    size: int = 0
    # WAIT: when a run may purge it (None while a lineage child holds it back).
    purge_time: datetime | None = None

    @property
    def name(self) -> str:
        return version_name(self.model, self.number)


def decide(expiry: Expiry, purge_after: timedelta, size: int = 0) -> Decision:
    """The fate of a version beyond keep_last under the rule in the module docstring."""

    def decision(fate: Fate, why: str, purge_time: datetime | None = None) -> Decision:
        return Decision(expiry.model, expiry.number, fate, why, size, purge_time)

    beyond = f"older than the {expiry.keep_last} newest version{'s' if expiry.keep_last != 1 else ''}"
    if expiry.held:
        return decision(Fate.KEEP, f"{beyond}, but holds or held {', '.join(expiry.held)}")
    if expiry.pending:
        ids = ", ".join(str(i) for i in expiry.pending)
        return decision(Fate.KEEP, f"{beyond}, but promotion {ids} waits for approval")
    if expiry.parent_of_kept:
        return decision(Fate.KEEP, f"{beyond}, but is a lineage parent of {expiry.parent_of_kept}, which stays")
    if expiry.due and expiry.parent_of_remaining:
        why = f"due, but {expiry.parent_of_remaining} descends from it and stays for now"
        return decision(Fate.WAIT if expiry.archived else Fate.ARCHIVE, why)
    if expiry.due:
        if not purge_after:
            return decision(Fate.PURGE, f"{beyond}; purge_after is 0")
        return decision(Fate.PURGE, f"{beyond}, archived since {_when(expiry.update_time)} "
                        f"(purge_after {_span(purge_after)})")  # fmt: skip
    due_at = expiry.update_time + purge_after if expiry.archived else None
    if expiry.archived:
        return decision(Fate.WAIT, f"{beyond}, archived; purged from {_when(due_at)}", due_at)
    return decision(Fate.ARCHIVE, f"{beyond}; purged {_span(purge_after)} after archiving")


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment is not None else "?"


def _span(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
