"""The policy file on disk: loaded at start-up, reloaded when it changes; and file re-verification."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlparse

from studbook.daemon.artifacts import scan_artifact
from studbook.daemon.blobs import BlobMissing, BlobStore, blob_matches
from studbook.daemon.domain.errors import InvalidArgument, RegistryError
from studbook.daemon.domain.model import ModelVersion
from studbook.daemon.domain.policy import EMPTY_POLICY, Policy, parse_policy

log = logging.getLogger("studbook.daemon.policy")


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class PolicyState:
    """Which policy is in force and why a newer file is not: what `studbook status` shows."""

    # The file read: named by --policy or config.toml, or the default location; None: none.
    path: Path | None
    # The path is the default location: a file created there later is loaded then.
    default_location: bool
    # A policy read from the file is in force; False: no file policy (the built-in defaults).
    in_force: bool
    load_time: datetime | None
    # sha256 of the text in force, and how many [[models]] entries and stage gate tables it holds.
    sha256: str
    model_rules: int
    stage_gates: int
    # Why the file on disk now is not in force (invalid, unreadable, gone); '' when it is.
    # Whatever was in force before stays in force.
    error: str
    error_time: datetime | None
    # How many [models.monitors.<stage>] tables it holds.
    monitors: int = 0


class PolicyStore:
    """The current policy. `current()` re-reads the file when its mtime or size changed.

    Checking the mtime at each promotion is cheap and needs no watcher thread. A file that
    became invalid (or vanished) keeps the last good policy in force and is logged, so a
    half-saved edit never drops every gate. That holds for a removed file too: an editor
    that saves by rename removes it for a moment, and gates must not lapse then; an empty
    file is how a policy is dropped while the daemon runs.

    With `default_location`, the path is where a policy is looked for when none was named
    (`$XDG_CONFIG_HOME/studbook/policy.toml`): no file there is no policy and no error, and
    a file created there after start-up is loaded at the next check, like an edited one.
    """

    def __init__(self, path: Path | None, *, default_location: bool = False,
                 clock: Callable[[], datetime] = _utcnow) -> None:  # fmt: skip
        self.path = path
        self.default_location = default_location
        self._clock = clock
        self._policy = EMPTY_POLICY
        self._stamp: tuple[int, int] | None = None
        self._digest = ""
        self._load_time: datetime | None = None
        self._error = ""
        self._error_time: datetime | None = None
        if path is not None and not (default_location and not path.exists()):
            # At start-up a broken policy is an error the operator must see, not a log line.
            self._load(path)

    def current(self) -> Policy:
        if self.path is None:
            return self._policy
        try:
            stamp = self._stat(self.path)
        except OSError as exc:
            if self._load_time is None and isinstance(exc, FileNotFoundError):
                return self._policy  # nothing was ever there: no policy, nothing wrong
            if self._stamp is not None:
                log.error("policy %s is unreadable (%s); keeping the last good policy", self.path, exc)
                self._stamp = None
                self._fail(f"cannot read {self.path}: {exc.strerror or exc}")
            return self._policy
        if stamp != self._stamp:
            try:
                self._load(self.path)
                log.info("policy %s loaded", self.path)
            except (InvalidArgument, OSError) as exc:
                log.error("policy %s not reloaded, keeping the last good one: %s", self.path, exc)
                self._stamp = stamp
                self._fail(exc.message if isinstance(exc, InvalidArgument) else str(exc))
        return self._policy

    def state(self) -> PolicyState:
        """What is in force now, after looking at the file once more."""
        policy = self.current()
        return PolicyState(
            path=self.path, default_location=self.default_location, in_force=self._load_time is not None,
            load_time=self._load_time, sha256=self._digest, model_rules=len(policy.models),
            stage_gates=sum(len(entry.gates) for entry in policy.models), error=self._error,
            monitors=sum(len(entry.monitors) for entry in policy.models),
            error_time=self._error_time,
        )  # fmt: skip

    def _load(self, path: Path) -> None:
        try:
            stamp = self._stat(path)
            raw = path.read_bytes()
            text = raw.decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidArgument(f"cannot read policy {path}: {exc}", reason="INVALID_POLICY", path=path) from None
        self._policy = parse_policy(text)
        self._stamp = stamp
        self._digest = hashlib.sha256(raw).hexdigest()
        self._load_time = self._clock()
        self._error, self._error_time = "", None

    def _fail(self, message: str) -> None:
        self._error, self._error_time = message, self._clock()

    @staticmethod
    def _stat(path: Path) -> tuple[int, int]:
        st = path.stat()
        return st.st_mtime_ns, st.st_size


def verify_files(version: ModelVersion, blobs: BlobStore) -> tuple[bool | None, str]:
    """Blocking: re-hash a version's files against the registered sha256: the kept copies in the
    artifact store, or for a referenced version the files under its file:// storage URI.

    Returns (True, detail) when all match, (False, what differs) when not, and (None, why)
    when the files are not somewhere the daemon can read.
    """
    if version.kept:
        return _verify_kept(version, blobs)
    uri = urlparse(version.storage_uri)
    if uri.scheme != "file":
        return None, f"storage_uri {version.storage_uri[:200]!r} is not a local file:// location"
    if not version.files:
        return None, "no files are registered for this version"
    try:
        scanned = scan_artifact(Path(unquote(uri.path)))
    except RegistryError as exc:
        return False, f"cannot re-hash {unquote(uri.path)}: {exc.message}"
    found = {f.path: f.sha256 for f in scanned}
    registered = {f.path: f.sha256 for f in version.files}
    missing = sorted(registered.keys() - found.keys())
    changed = sorted(p for p in registered.keys() & found.keys() if registered[p] != found[p])
    added = sorted(found.keys() - registered.keys())
    problems = [f"{label}: {', '.join(paths[:5])}{' …' if len(paths) > 5 else ''}"
                for label, paths in (("changed", changed), ("missing", missing), ("added", added)) if paths]  # fmt: skip
    if problems:
        return False, "files differ from their registered sha256 — " + "; ".join(problems)
    return True, f"all {len(registered)} file(s) match their registered sha256"


def _verify_kept(version: ModelVersion, blobs: BlobStore) -> tuple[bool, str]:
    bad: list[str] = []
    for sha256 in sorted({f.sha256 for f in version.files}):
        try:
            intact = blob_matches(blobs, sha256)
        except BlobMissing:
            intact = False
        if not intact:
            bad.extend(f.path for f in version.files if f.sha256 == sha256)
    if bad:
        return False, f"kept copies differ from their registered sha256 in {blobs.url}: {', '.join(sorted(bad)[:5])}"
    return True, f"all {len(version.files)} kept file(s) match their registered sha256"
