"""What a daemon can say about its catalog: which backend, where, and whether it follows the
commits other daemons make to it (a shared PostgreSQL catalog), for `studbook status`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from studbook.daemon.app.core import Core
from studbook.daemon.domain.access import Caller, Role


@dataclass(frozen=True)
class CatalogStatus:
    backend: str  # "duckdb" or "postgresql"
    # The file, or the server and database without a password; empty for a caller below
    # maintainer, since it names the registry's own infrastructure.
    location: str
    shared: bool  # other daemons may write to it
    revision: int  # the newest revision this daemon's reads and Watch have taken
    # For a shared catalog: whether this daemon hears the others' commits, why not, since when.
    following: bool
    problem: str
    since: datetime | None
    caught_up_time: datetime | None  # when this daemon last had taken every commit it knew of


def catalog_status(core: Core, caller: Caller) -> CatalogStatus:
    listener = core.listener_state()
    return CatalogStatus(
        backend="postgresql" if core.catalog.dialect.is_postgres else "duckdb",
        location=core.catalog.location if caller.role >= Role.MAINTAINER else "",
        shared=listener is not None,
        revision=core.followed if listener is not None else core.state.revision,
        following=listener.connected if listener is not None else False,
        problem=listener.problem if listener is not None else "",
        since=_time(listener.since) if listener is not None else None,
        caught_up_time=_time(core.caught_up_at),
    )


def _time(epoch: float | None) -> datetime | None:
    return datetime.fromtimestamp(epoch, UTC) if epoch is not None else None
