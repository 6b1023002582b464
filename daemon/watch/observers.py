"""The watchdog observers behind the roots: native by default, polling when asked or when
the native one cannot watch (watch limits, a dead thread, an exception while watching)."""

from __future__ import annotations

import errno
import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass

from studbook.daemon.watch import deaths
from studbook.daemon.watch.deaths import Death
from studbook.daemon.watch.hints import EVENT_TYPES
from studbook.daemon.watch.polling import StackPollingObserver
from watchdog.events import FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver, ObservedWatch

log = logging.getLogger(__name__)

NATIVE = "native"
POLLING = "polling"
# Errors that mean "the kernel will not give us more watches"; polling needs none.
LIMIT_ERRNOS = (errno.ENOSPC, errno.EMFILE, errno.ENFILE, errno.ENOMEM)
RENAME_PAIRING_SECONDS = 0.02


@dataclass(frozen=True)
class Fallback:
    """Why a root is polled although a native observer was wanted."""

    reason: str
    message: str


def native_observer() -> BaseObserver:
    """The platform observer; on Linux with renames from outside the root reported as
    renames (not creations), since a rename into place is what makes a drop complete."""
    _shorten_rename_pairing()
    try:
        return Observer(generate_full_events=True)  # type: ignore[call-arg]
    except TypeError:
        return Observer()


def _shorten_rename_pairing() -> None:
    """watchdog holds the first half of every rename for up to `delay` (0.5 s) to pair it
    with the second, and everything queued behind it waits too. The kernel reports both
    halves together, and with full events an unpaired half still reads as a rename
    (from outside, or to outside), so a short window loses nothing and saves up to 0.5 s
    of drop-to-visible latency."""
    try:
        from watchdog.observers.inotify_move_event_grouper import InotifyMoveEventGrouper
    except ImportError:  # not Linux: no inotify
        return
    InotifyMoveEventGrouper.delay = RENAME_PAIRING_SECONDS
    # An unpaired rename of a watched folder makes watchdog watch the same inode under its
    # new path, which it handles and warns about; the warning is noise in the daemon log.
    warnings.filterwarnings("ignore", message="Callback with id .* already exists", category=RuntimeWarning)


def native_kind() -> str:
    """The platform observer's name as users know it: inotify, fsevents, kqueue ..."""
    name = str(getattr(Observer, "__name__", NATIVE)).lower()
    return name.removesuffix("observer") or NATIVE


class ObserverPool:
    """Schedules each root on one of two observers and tells when a watch stopped working.

    Blocking methods (`watch`, `stop`) walk folders or join threads: call them off the loop.
    """

    def __init__(
        self,
        handler_for: Callable[[str], FileSystemEventHandler],
        *,
        polling: bool,
        poll_interval: float,
        native_factory: Callable[[], BaseObserver] = native_observer,
    ) -> None:
        self._handler_for = handler_for
        self._prefer_polling = polling
        self._poll_interval = poll_interval
        self._native_factory = native_factory
        self._native: BaseObserver | None = None
        self._polling: BaseObserver | None = None
        self._native_broken = False
        self._native_death: Death | None = None
        # Whether `native_died` has said so (it does once, however the death was found).
        self._death_told = False
        # Deaths before this pool existed belong to someone else's observers.
        deaths.install()
        self._deaths_seen = len(deaths.deaths_since(0))
        self._watches: dict[str, tuple[BaseObserver, ObservedWatch]] = {}

    def kind(self, root: str) -> str:
        """`native_kind()` or "polling" for a watched root, "" when it is not watched."""
        found = self._watches.get(root)
        if found is None:
            return ""
        return POLLING if found[0] is self._polling else native_kind()

    def watch(self, root: str, same_folder: bool = False) -> Fallback | None:
        """Starts watching `root`; returns why it fell back to polling, if it did.

        `same_folder`: `root` is still the folder watched before. If the native observer was
        watching it and stopped on its own, and watching it natively again fails too, the
        observer has died of it and is given up for every root, although none of its threads
        has died yet: watchdog's inotify reader drops its watches when its dispatcher dies (of
        a RecursionError walking a very deep folder) and raises that error up to a second later.

        OSError from polling itself (the root vanished meanwhile) propagates.
        """
        lost = same_folder and self.kind(root) == native_kind() and not self.is_watching(root)
        self.unwatch(root)
        fallback = None
        if self._native_broken and not self._prefer_polling:
            why = f" ({self._native_death.describe()})" if self._native_death else ""
            fallback = Fallback("OBSERVER_DIED",
                                f"the {native_kind()} observer stopped{why}; polling {root} instead")  # fmt: skip
        elif not self._prefer_polling:
            try:
                self._schedule(self._native_observer(), root)
                return None
            except OSError as exc:
                if exc.errno in LIMIT_ERRNOS:
                    fallback = Fallback("WATCH_LIMIT", f"the kernel refused more watches for {root} ({exc.strerror}); "
                                        "polling it instead - raise fs.inotify.max_user_watches to fix")  # fmt: skip
                else:
                    raise
            except Exception as exc:  # noqa: BLE001 - e.g. RecursionError walking a very deep folder
                self.unwatch(root)
                death = Death(type(exc).__name__, deaths.short(str(exc)))
                if lost:
                    self._give_up_native(death)
                    fallback = Fallback("OBSERVER_DIED", f"the {native_kind()} observer stopped "
                                        f"({death.describe()}); polling {root} instead")  # fmt: skip
                else:
                    fallback = Fallback("OBSERVER_FAILED", f"the {native_kind()} observer could not watch {root} "
                                        f"({death.describe()}); polling it instead")  # fmt: skip
        self._schedule(self._polling_observer(), root)
        return fallback

    def unwatch(self, root: str) -> None:
        found = self._watches.pop(root, None)
        if found is None:
            return
        observer, watch = found
        try:
            observer.unschedule(watch)
        except (KeyError, RuntimeError, OSError):
            pass  # its emitter already stopped (the root was deleted)

    def is_watching(self, root: str) -> bool:
        """False when the root's observer thread or its emitter has stopped."""
        found = self._watches.get(root)
        if found is None:
            return False
        observer, watch = found
        if not observer.is_alive() or (observer is self._native and self._native_broken):
            return False
        return any(emitter.watch == watch and emitter.is_alive() for emitter in observer.emitters)

    def native_died(self) -> Death | bool:
        """Truthy once, when the native observer has stopped on its own: its thread ended, one
        of its threads (an emitter, the shared inotify reader) died of an exception, which
        leaves the observer looking alive while no event arrives any more, or `watch` found it
        unable to take back a root it lost. The `Death` says why when an exception did it.
        Later watches poll, and `is_watching` is False for the roots it watched, so they are
        watched again by polling."""
        if self._native is None or self._death_told:
            return False
        if not self._native_broken:
            death = self._native_thread_death()
            if death is None and self._native.is_alive():
                return False
            self._give_up_native(death)
        self._death_told = True
        death = self._native_death
        log.warning("the %s observer stopped%s; polling instead", native_kind(),
                    f" ({death.describe()})" if death else "")  # fmt: skip
        return death or True

    def _give_up_native(self, death: Death | None) -> None:
        self._native_broken = True
        self._native_death = death

    def _native_thread_death(self) -> Death | None:
        """The first new death of a watchdog thread that is not one of the polling observer's."""
        fresh = deaths.deaths_since(self._deaths_seen)
        self._deaths_seen += len(fresh)
        polling = {self._polling, *self._polling.emitters} if self._polling is not None else set()
        return next((death for thread, death in fresh if thread not in polling), None)

    def stop(self) -> None:
        for observer in (self._native, self._polling):
            if observer is not None and observer.is_alive():
                observer.stop()
                observer.join(timeout=5)
        self._watches.clear()

    def _schedule(self, observer: BaseObserver, root: str) -> None:
        watch = observer.schedule(self._handler_for(root), root, recursive=True, event_filter=EVENT_TYPES)
        self._watches[root] = (observer, watch)

    def _native_observer(self) -> BaseObserver:
        if self._native is None:
            self._native = self._native_factory()
            self._native.daemon = True
            self._native.start()
        return self._native

    def _polling_observer(self) -> BaseObserver:
        if self._polling is None:
            self._polling = StackPollingObserver(timeout=self._poll_interval)
            self._polling.daemon = True
            self._polling.start()
        return self._polling
