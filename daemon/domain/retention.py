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
from datetime import datetime, timedelta
from typing import NamedTuple

from studbook.daemon.domain.names import version_name

# An unreferenced blob written less than this long ago stays: a registration on another daemon
# sharing the store may not have committed the version that refers to it yet (this daemon's own
# registrations claim their blobs, whatever their age: see blobs.claims). The same hour after
# which a stale staging file goes.
BLOB_GRACE = timedelta(hours=1)


class Fate(str, enum.Enum):
    KEEP = "keep"  # protected: stays as it is
    ARCHIVE = "archive"  # expired: archived now, purged by a later run
    WAIT = "wait"  # archived already, not purged yet
    PURGE = "purge"  # removed from the catalog now


class Expiry(NamedTuple):
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


class Why(enum.Enum):
    """Which part of the rule decided a fate; `Decision.why` words it."""

    HELD = "held"
    PENDING = "pending"
    PARENT_OF_KEPT = "parent_of_kept"
    PARENT_OF_REMAINING = "parent_of_remaining"
    PURGE_AT_ONCE = "purge_at_once"
    ARCHIVED_LONG_ENOUGH = "archived_long_enough"
    ARCHIVED = "archived"
    EXPIRED = "expired"
    CHANGED = "changed"


class Decision(NamedTuple):
    """What a run does with one version beyond keep_last, and why. A catalog of a million versions
    has as many: the words are only made for the decisions someone reads."""

    expiry: Expiry
    fate: Fate
    reason: Why
    purge_after: timedelta
    size: int = 0

    @property
    def model(self) -> str:
        return self.expiry.model

    @property
    def number(self) -> int:
        return self.expiry.number

    @property
    def name(self) -> str:
        return version_name(self.expiry.model, self.expiry.number)

    @property
    def purge_time(self) -> datetime | None:
        """WAIT: when a run may purge it; None while a lineage child holds it back."""
        if self.reason == Why.ARCHIVED:
            return self.expiry.update_time + self.purge_after
        return None

    @property
    def why(self) -> str:
        e = self.expiry
        beyond = f"older than the {e.keep_last} newest version{'s' if e.keep_last != 1 else ''}"
        match self.reason:
            case Why.HELD:
                return f"{beyond}, but holds or held {', '.join(e.held)}"
            case Why.PENDING:
                return f"{beyond}, but promotion {', '.join(str(i) for i in e.pending)} waits for approval"
            case Why.PARENT_OF_KEPT:
                return f"{beyond}, but is a lineage parent of {e.parent_of_kept}, which stays"
            case Why.PARENT_OF_REMAINING:
                return f"due, but {e.parent_of_remaining} descends from it and stays for now"
            case Why.PURGE_AT_ONCE:
                return f"{beyond}; purge_after is 0"
            case Why.ARCHIVED_LONG_ENOUGH:
                return f"{beyond}, archived since {_when(e.update_time)} (purge_after {_span(self.purge_after)})"
            case Why.ARCHIVED:
                return f"{beyond}, archived; purged from {_when(self.purge_time)}"
            case Why.EXPIRED:
                return f"{beyond}; purged {_span(self.purge_after)} after archiving"
            case Why.CHANGED:
                return (
                    "changed while garbage was being collected (promoted, a new lineage child, edited); "
                    "the next collection decides"
                )
        return ""  # pragma: no cover - every reason is worded above

    def kept_instead(self) -> Decision:
        """This decision overruled by what changed in the catalog since it was made."""
        return self._replace(fate=Fate.KEEP, reason=Why.CHANGED)


def decide(expiry: Expiry, purge_after: timedelta, size: int = 0) -> Decision:
    """The fate of a version beyond keep_last under the rule in the module docstring."""
    if expiry.held:
        return Decision(expiry, Fate.KEEP, Why.HELD, purge_after, size)
    if expiry.pending:
        return Decision(expiry, Fate.KEEP, Why.PENDING, purge_after, size)
    if expiry.parent_of_kept:
        return Decision(expiry, Fate.KEEP, Why.PARENT_OF_KEPT, purge_after, size)
    if expiry.due:
        if expiry.parent_of_remaining:
            fate = Fate.WAIT if expiry.archived else Fate.ARCHIVE
            return Decision(expiry, fate, Why.PARENT_OF_REMAINING, purge_after, size)
        reason = Why.ARCHIVED_LONG_ENOUGH if purge_after else Why.PURGE_AT_ONCE
        return Decision(expiry, Fate.PURGE, reason, purge_after, size)
    if expiry.archived:
        return Decision(expiry, Fate.WAIT, Why.ARCHIVED, purge_after, size)
    return Decision(expiry, Fate.ARCHIVE, Why.EXPIRED, purge_after, size)


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment is not None else "?"


def _span(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
