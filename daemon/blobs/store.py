"""What every artifact store offers, and choosing one by URL.

Blobs are named by the lower-case hex sha256 of their bytes and laid out as
`sha256/ab/cd/<sha256>` below the store's root or prefix, so identical content is kept once
across versions and models, and a folder never grows past 65,536 entries. A blob is written
whole or not at all and never changes after; `put` never overwrites, so two daemons storing
the same bytes at once cannot clash.

Methods are blocking: call them from worker threads, never from the event loop.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple, Protocol

from studbook.daemon.domain.errors import FailedPrecondition, InvalidArgument, Unavailable

SHA256_HEX = re.compile("[0-9a-f]{64}")
# A catalog's id, as recorded in a store under `catalogs/<id>`.
CATALOG_ID = re.compile("[0-9a-f]{32}")
# Files in staging untouched for this long belong to no running ingest: a kill -9 left them.
STALE_STAGING_SECONDS = 3600.0
# Reads hand out chunks of this size: big enough to amortise a call, small enough for a gRPC message.
READ_CHUNK = 1 << 20


class BlobMissing(FailedPrecondition):
    """A blob the catalog refers to is not in the store."""

    reason = "BLOB_MISSING"


class ArtifactStoreUnavailable(Unavailable):
    """The artifact store cannot be used: unreachable, credentials refused, bucket missing.

    The reason says which: ARTIFACT_STORE_UNREACHABLE, ARTIFACT_STORE_DENIED,
    ARTIFACT_STORE_NO_CREDENTIALS, ARTIFACT_STORE_BUCKET_MISSING, or ARTIFACT_STORE_UNAVAILABLE
    for anything else. The message names the store and what to check, never a secret.
    """

    reason = "ARTIFACT_STORE_UNAVAILABLE"


class StoredBlob(NamedTuple):
    """A blob as the store lists it."""

    sha256: str
    size: int
    # When the store wrote it, in seconds since the epoch (the file's mtime, the object's Last-Modified).
    modified: float


class BlobStore(Protocol):
    url: str
    """Where the blobs live, for people: file:///..., s3://bucket/prefix."""
    staging: Path
    """A local folder for files being written; `put` takes them from here."""

    def check(self) -> None:
        """Proves the store can be written and read now; ArtifactStoreUnavailable says why not.

        Meant for start-up, so a misconfigured daemon refuses to start instead of failing
        its first registration.
        """
        ...

    def has(self, sha256: str) -> bool:
        """Whether the blob is stored."""
        ...

    def size(self, sha256: str) -> int | None:
        """The stored blob's size in bytes, None when it is not stored."""
        ...

    def put(self, sha256: str, staged: Path, *, durable: bool = True) -> bool:
        """Stores the verified file `staged` (in `staging`) as blob `sha256` and removes it.

        True when the blob is new, False when it was stored already (its bytes are kept as
        they are). Returns once the blob is durable, or with `durable=False` once it is in
        place: then `sync()` must make it durable before anything refers to it (many small
        blobs then cost one flush instead of one each).
        """
        ...

    def sync(self) -> None:
        """Makes every blob put with `durable=False` durable."""
        ...

    def read(self, sha256: str, offset: int = 0, length: int | None = None) -> Iterator[bytes]:
        """The blob's bytes from `offset`, at most `length` of them, in chunks. BlobMissing if absent."""
        ...

    def delete(self, sha256: str) -> None:
        """Removes the blob; removing one that is not there is no error."""
        ...

    def list(self) -> Iterator[tuple[str, int]]:
        """Every stored blob as (sha256, size), in no particular order."""
        ...

    def list_entries(self) -> Iterator[StoredBlob]:
        """Every stored blob with its size and when it was written, in no particular order."""
        ...

    def add_catalog(self, catalog_id: str) -> None:
        """Records that the catalog `catalog_id` keeps its files here; recording it again is no error."""
        ...

    def catalogs(self) -> set[str]:
        """Every catalog recorded with `add_catalog`: whose versions may refer to these blobs."""
        ...


def clear_stale_staging(staging: Path, older_than: float = STALE_STAGING_SECONDS) -> int:
    """Removes files a killed ingest left in `staging`; returns how many."""
    cutoff = time.time() - older_than
    removed = 0
    with os.scandir(staging) as entries:
        for entry in entries:
            if entry.is_file(follow_symlinks=False) and entry.stat(follow_symlinks=False).st_mtime < cutoff:
                os.unlink(entry.path)
                removed += 1
    return removed


def local_path(store: BlobStore, sha256: str) -> Path | None:
    """Where blob `sha256` lies on this machine, for a store kept in a local folder; else None."""
    path_of = getattr(store, "path_of", None)
    return None if path_of is None else Path(path_of(sha256))


def materialize(store: BlobStore, sha256: str, target: Path) -> None:
    """Lays blob `sha256` out as the file `target`: a link into a local store, else a copy."""
    local = local_path(store, sha256)
    if local is not None:
        try:
            os.link(local, target)
            return
        except OSError:
            pass  # another file system, or links not allowed: copy instead
    with open(target, "wb") as out:
        for chunk in store.read(sha256):
            out.write(chunk)


def blob_matches(store: BlobStore, sha256: str, progress: Callable[[int], None] | None = None) -> bool:
    """Blocking: whether the stored bytes of blob `sha256` still hash to it. BlobMissing if absent.

    `progress` is told how many bytes each chunk held, as they are read.
    """
    hasher = hashlib.sha256()
    for chunk in store.read(sha256):
        hasher.update(chunk)
        if progress is not None:
            progress(len(chunk))
    return hasher.hexdigest() == sha256


def copy_blob(source: BlobStore, target: BlobStore, sha256: str, progress: Callable[[int], None] | None = None) -> bool:
    """Blocking: copies blob `sha256` from `source` into `target`, hashing it on the way; True once
    it is durable there. False, storing nothing, when the bytes read do not hash to `sha256`;
    BlobMissing when `source` does not hold it. `progress` is told of every chunk read."""
    staged = target.staging / f"{os.getpid()}-{uuid.uuid4().hex}.part"
    hasher = hashlib.sha256()
    try:
        with open(staged, "xb") as out:
            for chunk in source.read(sha256):
                hasher.update(chunk)
                out.write(chunk)
                if progress is not None:
                    progress(len(chunk))
            out.flush()
            os.fsync(out.fileno())
        if hasher.hexdigest() != sha256:
            return False
        target.put(sha256, staged)
        return True
    finally:
        staged.unlink(missing_ok=True)


def sha256_of_file(path: Path) -> tuple[str, int]:
    """Blocking: (sha256, size) of a local file, read once."""
    hasher = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(READ_CHUNK):
            hasher.update(chunk)
            size += len(chunk)
    return hasher.hexdigest(), size


def catalog_key(catalog_id: str) -> str:
    """`catalogs/<id>`: where a store records a catalog that keeps files in it."""
    if not CATALOG_ID.fullmatch(catalog_id):
        raise InvalidArgument(f"not a catalog id: {catalog_id[:80]!r}", reason="INVALID_CATALOG_ID")
    return f"catalogs/{catalog_id}"


def blob_key(sha256: str) -> str:
    """`sha256/ab/cd/<sha256>`: the blob's path below the store's root or prefix."""
    if not SHA256_HEX.fullmatch(sha256):
        raise InvalidArgument(f"not a sha256: {sha256[:80]!r}", reason="INVALID_SHA256", sha256=sha256[:80])
    return f"sha256/{sha256[:2]}/{sha256[2:4]}/{sha256}"


def open_store(url: str, data_dir: Path) -> BlobStore:
    """The store a `--artifact-store` URL names, checked (see `BlobStore.check`); empty means
    `<data_dir>/blobs`. An s3:// store reads its settings from the AWS_* environment."""
    store = _store_for(url, data_dir)
    store.check()
    return store


def _store_for(url: str, data_dir: Path) -> BlobStore:
    from studbook.daemon.blobs.local import LocalBlobStore

    if not url:
        return LocalBlobStore(data_dir / "blobs")
    if url.startswith("file://"):
        path = Path(url.removeprefix("file://"))
        if not path.is_absolute():
            raise InvalidArgument(f"the artifact store {url!r} must name an absolute path: file:///path",
                                  reason="INVALID_ARTIFACT_STORE")  # fmt: skip
        return LocalBlobStore(path)
    if url.startswith("s3://"):
        # Imported here: obstore loads only when an s3:// store is configured.
        from studbook.daemon.blobs.s3 import S3BlobStore

        return S3BlobStore(url, staging=data_dir / "staging")
    raise InvalidArgument(f"unknown artifact store {url!r}: use file:///path or s3://bucket/prefix",
                          reason="INVALID_ARTIFACT_STORE")  # fmt: skip
