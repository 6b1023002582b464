"""Blobs in S3-compatible object storage: `s3://bucket/prefix` holds `<prefix>/sha256/ab/cd/<sha256>`.

Settings come from the standard AWS environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
AWS_SESSION_TOKEN, AWS_REGION (or AWS_DEFAULT_REGION) and AWS_ENDPOINT_URL (or
AWS_ENDPOINT_URL_S3) for S3-compatible servers, addressed path-style. Without keys in the
environment, obstore falls back to the container, web-identity or instance credentials.

Only the daemon's blob store imports this module, and only when an s3:// store is configured:
obstore costs start-up time the local store does not need.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn
from urllib.parse import urlsplit

import obstore
from obstore.exceptions import AlreadyExistsError, PermissionDeniedError, PreconditionError, UnauthenticatedError
from obstore.store import S3Store
from studbook.daemon.blobs.store import (
    CATALOG_ID,
    READ_CHUNK,
    SHA256_HEX,
    ArtifactStoreUnavailable,
    BlobMissing,
    StoredBlob,
    blob_key,
    catalog_key,
)
from studbook.daemon.domain.errors import InvalidArgument, RegistryError

if TYPE_CHECKING:
    from obstore.store import ClientConfig, RetryConfig, S3Config

MiB = 1 << 20
# Up to this size a blob goes up in one conditional PUT (If-None-Match: *), which obstore holds
# in memory whole; bigger ones go up in parts.
SINGLE_PUT_MAX = 8 * MiB
# Conditional PUTs of one key that S3 answers with a conflict before this store gives up.
CONFLICT_ATTEMPTS = 5
# S3 allows 10,000 parts per upload; parts grow with the blob so that a 5 TiB blob still fits.
PART_SIZE_MIN = 8 * MiB
MAX_PARTS = 9_000
# Parts in flight at once are held in memory: this bounds it per upload.
UPLOAD_MEMORY = 64 * MiB
# A read streams its range in windows of this size, one ranged GET each, so that a reader as slow
# as READ_WINDOW per READ_TIMEOUT still finishes every request inside it.
READ_WINDOW = 64 * MiB
# obstore ends a request, body included, after 30 s by default: too short for a window that a
# slow client drains. A stalled connection is still caught by the idle timeout between reads.
READ_TIMEOUT = "10m"
READ_IDLE_TIMEOUT = "60s"
# Written once at the prefix by `check`; it proves the store writable without deleting anything.
MARKER_KEY = "studbook-artifact-store"
MARKER_TEXT = b"studbook artifact store: blobs below sha256/ab/cd/<sha256>, never modified\n"
# The start-up check gives up quickly rather than retrying for minutes like a registration would.
CHECK_RETRIES: RetryConfig = {"max_retries": 2, "retry_timeout": timedelta(seconds=20)}

BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]")
_STATUS = re.compile(r"status code: (\d{3})|status: (\d{3})")
_S3_CODE = re.compile(r"<Code>(\w+)</Code>")
_DENIED_CODES = {"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken",
                 "ExpiredToken", "TokenRefreshRequired", "AllAccessDisabled", "InvalidSecurity"}  # fmt: skip
_UNREACHABLE = ("error sending request", "connect", "timed out", "timeout", "dns error", "connection")
# Without keys in the environment obstore asks the instance metadata service or the container
# and web-identity providers; a failure there means no credentials were found at all.
_CREDENTIAL_LOOKUP = re.compile(r"/latest/api/token|/latest/meta-data/|169\.254\.170\.2|AssumeRoleWithWebIdentity")


class S3BlobStore:
    """A bucket (and prefix) of blobs; files are staged in a local folder before they go up."""

    def __init__(self, url: str, *, staging: Path, environ: Mapping[str, str] | None = None,
                 read_window: int = READ_WINDOW) -> None:  # fmt: skip
        """`environ` defaults to the process environment; obstore also reads AWS_* settings it
        does not override from there (container and web-identity credentials)."""
        self.bucket, self.prefix = parse_url(url)
        self.url = f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"
        self.staging = staging
        staging.mkdir(mode=0o700, parents=True, exist_ok=True)
        env = os.environ if environ is None else environ
        config, client = _settings(env)
        self.endpoint = _public_endpoint(config)
        prefix = self.prefix or None
        self._store = S3Store(self.bucket, prefix=prefix, config=config, client_options=client)
        self._reader = S3Store(self.bucket, prefix=prefix, config=config,
                               client_options={**client, "timeout": READ_TIMEOUT, "read_timeout": READ_IDLE_TIMEOUT})  # fmt: skip
        self._checker = S3Store(self.bucket, prefix=prefix, config=config, client_options=client,
                                retry_config=CHECK_RETRIES)  # fmt: skip
        self.read_window = read_window

    def check(self) -> None:
        try:
            try:
                obstore.put(self._checker, MARKER_KEY, MARKER_TEXT, mode="create")
            except (AlreadyExistsError, PreconditionError):
                pass  # written by an earlier start: the store accepted the request, so it is writable
            obstore.head(self._checker, MARKER_KEY)
        except Exception as exc:  # noqa: BLE001 - every failure here means the store is unusable
            self._fail(exc)

    def has(self, sha256: str) -> bool:
        return self.size(sha256) is not None

    def size(self, sha256: str) -> int | None:
        key = blob_key(sha256)
        try:
            return int(obstore.head(self._store, key)["size"])
        except FileNotFoundError:
            return None  # a missing bucket looks the same to a HEAD: `check` and `put` tell them apart
        except Exception as exc:  # noqa: BLE001
            self._fail(exc)

    def sync(self) -> None:
        """Nothing to do: an object S3 acknowledged is durable."""

    def put(self, sha256: str, staged: Path, *, durable: bool = True) -> bool:
        try:
            key = blob_key(sha256)
            size = staged.stat().st_size  # a missing staged file fails here, not as a missing object
            try:
                if size <= SINGLE_PUT_MAX:
                    return self._put_once(key, staged)
                # obstore cannot yet make a multipart completion conditional (object_store issue
                # 289), so a blob too big for one PUT is looked for first, then written in parts.
                # Two daemons racing on one blob both write it; S3 keeps one of the identical copies.
                if self._exists(key):
                    return False
                part = _part_size(size)
                obstore.put(self._store, key, staged, use_multipart=True, chunk_size=part,
                            max_concurrency=max(2, UPLOAD_MEMORY // part))  # fmt: skip
                return True
            except Exception as exc:  # noqa: BLE001 - obstore's errors, all mapped in one place
                self._fail(exc)
        finally:
            staged.unlink(missing_ok=True)

    def read(self, sha256: str, offset: int = 0, length: int | None = None) -> Iterator[bytes]:
        stop = None if length is None else offset + max(0, length)
        if stop is not None and stop <= offset:
            if not self.has(sha256):
                raise self._missing(sha256)
            return iter(())
        # The first request is made here, not in the generator, so a missing blob fails the call.
        first = self._window(sha256, offset, stop)
        if first is None:
            return iter(())
        size = int(first.meta["size"])
        return self._stream(sha256, first, offset, size if stop is None else min(stop, size))

    def _window(self, sha256: str, start: int, stop: int | None) -> obstore.GetResult | None:
        """The GET of the next window from `start`; None when `start` is at or past the end."""
        end = start + self.read_window if stop is None else min(stop, start + self.read_window)
        try:
            return obstore.get(self._reader, blob_key(sha256), options={"range": (start, end)})
        except FileNotFoundError as exc:
            if "NoSuchBucket" in str(exc):
                self._fail(exc)
            raise self._missing(sha256) from None
        except Exception as exc:  # noqa: BLE001
            if _status(exc) != 416:
                self._fail(exc)
        if not self.has(sha256):  # S3 answers a range past the end before looking for the key
            raise self._missing(sha256)
        return None

    def _stream(self, sha256: str, window: obstore.GetResult, position: int, stop: int) -> Iterator[bytes]:
        while True:
            try:
                # Chunks of at least half a READ_CHUNK come as the network delivers them; the rare
                # bigger one is cut, so no chunk exceeds READ_CHUNK.
                for chunk in window.stream(min_chunk_size=READ_CHUNK // 2):
                    for start in range(0, len(chunk), READ_CHUNK):
                        piece = chunk[start : start + READ_CHUNK] if len(chunk) > READ_CHUNK else chunk
                        position += len(piece)
                        yield piece
            except Exception as exc:  # noqa: BLE001
                self._fail(exc)
            if position >= stop:
                return
            following = self._window(sha256, position, stop)
            if following is None:
                return
            window = following

    def delete(self, sha256: str) -> None:
        try:
            obstore.delete(self._store, blob_key(sha256))  # S3 answers a missing key with success
        except FileNotFoundError:
            pass
        except Exception as exc:  # noqa: BLE001
            self._fail(exc)

    def list(self) -> Iterator[tuple[str, int]]:
        for blob in self.list_entries():
            yield blob.sha256, blob.size

    def add_catalog(self, catalog_id: str) -> None:
        try:
            obstore.put(self._store, catalog_key(catalog_id), b"", mode="create")
        except (AlreadyExistsError, PreconditionError):
            pass  # recorded by an earlier start
        except Exception as exc:  # noqa: BLE001
            self._fail(exc)

    def catalogs(self) -> set[str]:
        found = set()
        try:
            for batch in obstore.list(self._store, prefix="catalogs/", chunk_size=1000):
                for meta in batch:
                    name = meta["path"].rsplit("/", 1)[-1]
                    if CATALOG_ID.fullmatch(name) and meta["path"] == catalog_key(name):
                        found.add(name)
        except Exception as exc:  # noqa: BLE001
            self._fail(exc)
        return found

    def list_entries(self) -> Iterator[StoredBlob]:
        try:
            for batch in obstore.list(self._store, prefix="sha256/", chunk_size=1000):
                for meta in batch:
                    path = meta["path"]
                    name = path.rsplit("/", 1)[-1]
                    if SHA256_HEX.fullmatch(name) and path == blob_key(name):
                        yield StoredBlob(name, int(meta["size"]), meta["last_modified"].timestamp())
        except Exception as exc:  # noqa: BLE001
            self._fail(exc)

    def _put_once(self, key: str, staged: Path) -> bool:
        for attempt in range(CONFLICT_ATTEMPTS):
            try:
                obstore.put(self._store, key, staged, mode="create")
                return True
            except (AlreadyExistsError, PreconditionError):
                # S3 answers 409 when another conditional write of the key is in flight, and
                # obstore reports that as "already exists" too: only a stored object means done.
                if self._exists(key):
                    return False
                time.sleep(0.05 * 2**attempt)
        raise ArtifactStoreUnavailable(
            f"another writer kept the blob {key} of the artifact store {self.url} busy; try again",
            reason="ARTIFACT_STORE_UNAVAILABLE", store=self.url, endpoint=self.endpoint)  # fmt: skip

    def _exists(self, key: str) -> bool:
        try:
            obstore.head(self._store, key)
            return True
        except FileNotFoundError:
            return False

    def _missing(self, sha256: str) -> BlobMissing:
        return BlobMissing(f"blob {sha256} is not in the artifact store {self.url}", sha256=sha256)

    def _fail(self, exc: BaseException) -> NoReturn:
        """Raises what a user can act on in place of obstore's error.

        obstore's own text is never passed on: an S3 error body may echo the signed request,
        session token included.
        """
        if isinstance(exc, RegistryError):
            raise exc  # ours already
        raise self.failure(exc) from None

    def failure(self, exc: BaseException) -> ArtifactStoreUnavailable:
        text = str(exc)
        status = _status(exc)
        code_match = _S3_CODE.search(text)
        code = code_match.group(1) if code_match else ""
        where = f"the artifact store {self.url} at {self.endpoint}"
        facts = {"store": self.url, "endpoint": self.endpoint}
        if _CREDENTIAL_LOOKUP.search(text):
            return ArtifactStoreUnavailable(
                f"found no credentials for {where}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
                "or run where an instance or container role provides them",
                reason="ARTIFACT_STORE_NO_CREDENTIALS", **facts)  # fmt: skip
        if code == "NoSuchBucket":
            return ArtifactStoreUnavailable(
                f"the bucket {self.bucket!r} of {where} does not exist: create it, or correct the URL, "
                "AWS_ENDPOINT_URL or AWS_REGION", reason="ARTIFACT_STORE_BUCKET_MISSING", **facts)  # fmt: skip
        if (isinstance(exc, (PermissionDeniedError, UnauthenticatedError)) or status in (401, 403)
                or code in _DENIED_CODES):  # fmt: skip
            answer = f" ({code})" if code else f" (HTTP {status})" if status else ""
            return ArtifactStoreUnavailable(
                f"{where} refused the credentials{answer}: check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY "
                "and AWS_SESSION_TOKEN, and that they may read and write the bucket",
                reason="ARTIFACT_STORE_DENIED", **facts, **({"s3_code": code} if code else {}))  # fmt: skip
        if status is None and any(word in text.lower() for word in _UNREACHABLE):
            return ArtifactStoreUnavailable(
                f"cannot reach {where}: check AWS_ENDPOINT_URL, AWS_REGION and the network",
                reason="ARTIFACT_STORE_UNREACHABLE", **facts)  # fmt: skip
        answer = f"HTTP {status}" + (f" {code}" if code else "") if status else type(exc).__name__
        return ArtifactStoreUnavailable(f"{where} failed a request ({answer}); try again later",
                                        reason="ARTIFACT_STORE_UNAVAILABLE", **facts)  # fmt: skip


class S3Folder:
    """A backup under an S3 prefix: named objects (catalog, manifest) beside a blob store under `blobs/`.

    A named object is replaced by one PUT (in parts when big, completed at once), so readers
    see the old object or the new one.
    """

    def __init__(self, url: str, *, staging: Path, environ: Mapping[str, str] | None = None) -> None:
        self._root = S3BlobStore(url, staging=staging, environ=environ)
        self.url = self._root.url
        self.blobs = S3BlobStore(f"{self.url}/blobs", staging=staging, environ=environ)

    def check(self) -> None:
        self.blobs.check()

    def entries(self) -> list[str] | None:
        return None  # a prefix may hold anything beside a backup; listing it proves nothing

    def read_bytes(self, name: str) -> bytes | None:
        try:
            return bytes(obstore.get(self._root._reader, name).bytes())
        except FileNotFoundError as exc:
            if "NoSuchBucket" in str(exc):
                self._root._fail(exc)
            return None
        except Exception as exc:  # noqa: BLE001
            self._root._fail(exc)

    def fetch_file(self, name: str, dest: Path) -> bool:
        try:
            result = obstore.get(self._root._reader, name)
            with open(dest, "wb") as out:
                for chunk in result.stream(min_chunk_size=READ_CHUNK):
                    out.write(chunk)
        except FileNotFoundError as exc:
            if "NoSuchBucket" in str(exc):
                self._root._fail(exc)
            return False
        except Exception as exc:  # noqa: BLE001
            self._root._fail(exc)
        return True

    def put_file(self, name: str, path: Path) -> None:
        size = path.stat().st_size
        try:
            if size <= SINGLE_PUT_MAX:
                obstore.put(self._root._store, name, path)
            else:
                part = _part_size(size)
                obstore.put(self._root._store, name, path, use_multipart=True, chunk_size=part,
                            max_concurrency=max(2, UPLOAD_MEMORY // part))  # fmt: skip
        except Exception as exc:  # noqa: BLE001
            self._root._fail(exc)

    def put_bytes(self, name: str, data: bytes) -> None:
        try:
            obstore.put(self._root._store, name, data)
        except Exception as exc:  # noqa: BLE001
            self._root._fail(exc)

    def delete_file(self, name: str) -> None:
        try:
            obstore.delete(self._root._store, name)
        except FileNotFoundError:
            pass
        except Exception as exc:  # noqa: BLE001
            self._root._fail(exc)


def parse_url(url: str) -> tuple[str, str]:
    """(bucket, prefix) of `s3://bucket/prefix`; the prefix has no leading or trailing slash."""
    parts = urlsplit(url)
    bucket = parts.netloc
    if parts.scheme != "s3" or parts.query or parts.fragment or not BUCKET_NAME.fullmatch(bucket):
        raise InvalidArgument(f"not an S3 artifact store URL: {url[:200]!r}; use s3://bucket or s3://bucket/prefix",
                              reason="INVALID_ARTIFACT_STORE", url=url[:200])  # fmt: skip
    prefix = parts.path.strip("/")
    if "//" in prefix or any(segment in (".", "..") for segment in prefix.split("/")):
        raise InvalidArgument(f"the prefix of {url[:200]!r} must be plain path segments",
                              reason="INVALID_ARTIFACT_STORE", url=url[:200])  # fmt: skip
    return bucket, prefix


def _settings(env: Mapping[str, str]) -> tuple[S3Config, ClientConfig]:
    config: S3Config = {}
    client: ClientConfig = {}
    if env.get("AWS_ACCESS_KEY_ID"):
        config["access_key_id"] = env["AWS_ACCESS_KEY_ID"]
    if env.get("AWS_SECRET_ACCESS_KEY"):
        config["secret_access_key"] = env["AWS_SECRET_ACCESS_KEY"]
    if env.get("AWS_SESSION_TOKEN"):
        config["session_token"] = env["AWS_SESSION_TOKEN"]
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
    if region:
        config["region"] = region
    endpoint = env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL")
    if endpoint:
        # S3-compatible servers (MinIO, moto, Ceph) serve buckets as paths below one host.
        config["endpoint"] = endpoint
        config["virtual_hosted_style_request"] = False
        if endpoint.startswith("http://"):
            client["allow_http"] = True
    return config, client


def _public_endpoint(config: S3Config) -> str:
    """The endpoint for messages: no user or password that someone wrote into the URL."""
    endpoint = config.get("endpoint")
    if not endpoint:
        return f"AWS S3 ({config.get('region') or 'default region'})"
    parts = urlsplit(endpoint)
    return f"{parts.scheme}://{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}{parts.path}"


def _part_size(size: int) -> int:
    parts_of_min = -(-size // MAX_PARTS)
    return max(PART_SIZE_MIN, -(-parts_of_min // MiB) * MiB)


def _status(exc: BaseException) -> int | None:
    match = _STATUS.search(str(exc))
    if not match:
        return None
    return int(match.group(1) or match.group(2))
