"""The policy file on disk: loaded at start-up, reloaded when it changes; and file re-verification."""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import unquote, urlparse

from studbook.daemon.blobs import BlobMissing, BlobStore, blob_matches
from studbook.daemon.artifacts import scan_artifact
from studbook.daemon.domain.errors import InvalidArgument, RegistryError
from studbook.daemon.domain.model import ModelVersion
from studbook.daemon.domain.policy import EMPTY_POLICY, Policy, parse_policy

log = logging.getLogger("studbook.daemon.policy")


class PolicyStore:
    """The current policy. `current()` re-reads the file when its mtime or size changed.

    Checking the mtime at each promotion is cheap and needs no watcher thread. A file that
    became invalid (or vanished) keeps the last good policy in force and is logged, so a
    half-saved edit never drops every gate.
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._policy = EMPTY_POLICY
        self._stamp: tuple[int, int] | None = None
        if path is not None:
            # At start-up a broken policy is an error the operator must see, not a log line.
            self._policy = self._read(path)

    def current(self) -> Policy:
        if self.path is None:
            return self._policy
        try:
            stamp = self._stat(self.path)
        except OSError as exc:
            if self._stamp is not None:
                log.error("policy %s is unreadable (%s); keeping the last good policy", self.path, exc)
                self._stamp = None
            return self._policy
        if stamp != self._stamp:
            try:
                self._policy = self._read(self.path)
                log.info("policy %s reloaded", self.path)
            except (InvalidArgument, OSError) as exc:
                log.error("policy %s not reloaded, keeping the last good one: %s", self.path, exc)
                self._stamp = stamp
        return self._policy

    def _read(self, path: Path) -> Policy:
        try:
            stamp = self._stat(path)
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidArgument(f"cannot read policy {path}: {exc}", reason="INVALID_POLICY", path=path) from None
        policy = parse_policy(text)
        self._stamp = stamp
        return policy

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
