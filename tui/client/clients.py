"""gRPC clients of the registry: `AsyncClient` (grpc.aio, for the TUI) and `Client` (sync, for scripts).

Both send the requests built in `calls`, put a deadline on every unary call, resend
idempotent calls a few times when the daemon is unavailable, and turn every gRPC error
into a `StudbookError` carrying the daemon's ErrorInfo reason and metadata. A unix socket
is plain; a TCP address is always TLS, and a bearer token goes with every call when set.

Every unary RPC is written once, in the table of `methods`; each client says only how one
call is sent (`_bind`). What differs in kind between them (streams, uploads, downloads,
iterating pages) is written here, per client.
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import os
import random
import re
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, Unpack

import grpc
import grpc.aio
from google.protobuf.message import Message
from studbook import locations
from studbook.client import calls
from studbook.client.errors import StudbookError
from studbook.client.methods import M, Methods, P, R, Rpc
from studbook.client.safe_text import safe
from studbook.v1 import (
    artifacts_pb2,
    audit_pb2,
    drops_pb2,
    events_pb2,
    maintenance_pb2,
    registry_pb2,
    resources_pb2,
    stages_pb2,
)

# Uploads and downloads are loaded by the calls that make them: a program that only reads the
# registry (the terminal UI, before its first rows) need not wait for them.
if TYPE_CHECKING:
    from studbook.client import pull
    from studbook.client import upload as upload_

# StudbookError lives in `errors` (no grpc import) and is re-exported here for users.
__all__ = ["AsyncClient", "Client", "StudbookError", "error_from_rpc"]

T = TypeVar("T", bound=Message)

DEFAULT_TIMEOUT = 10.0
# The daemon accepts messages up to this size; matching it lets big versions through.
MAX_MESSAGE_BYTES = 64 * 1024 * 1024
# Pauses before each resend of an idempotent call that met UNAVAILABLE (jittered).
RETRY_DELAYS = (0.1, 0.25, 0.5)
CHANNEL_OPTIONS = [
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    # gRPC waits up to 1 s before reconnecting after a failure by default; a restarting
    # daemon is back sooner, and the resends above should find it.
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 1000),
]


ACTOR_HEADER = "x-studbook-actor"
AUTHORIZATION_HEADER = "authorization"
# Defaults of the `token` and `tls_ca` arguments of both clients.
TOKEN_ENV = "STUDBOOK_TOKEN"
TLS_CA_ENV = "STUDBOOK_TLS_CA"


# What gRPC's text says about a failed TLS handshake -> our reason, and what to do about it.
TLS_FAILURES = (
    ("CERTIFICATE_VERIFY_FAILED", "TLS_UNTRUSTED_CERTIFICATE",
     "the studbook daemon at {address} presented a certificate this client does not trust; "
     "pass the CA that signed it with --tls-ca FILE (or $STUDBOOK_TLS_CA)"),
    ("WRONG_VERSION_NUMBER", "TLS_NOT_SERVED",
     "{address} does not answer with TLS; a studbook daemon serves TCP only with --tls-cert and --tls-key"),
    ("HANDSHAKE", "TLS_HANDSHAKE_FAILED", "the TLS handshake with the studbook daemon at {address} failed"),
)  # fmt: skip


def not_utf8_error(error: UnicodeEncodeError) -> StudbookError:
    """A name or path the contract cannot carry (it holds bytes that are not UTF-8, which
    Python reads as lone surrogates), refused here as the daemon refuses a bad name."""
    shown = safe(str(error.object))
    shown = shown if len(shown) <= 200 else f"{shown[:200]}… ({len(shown)} chars)"
    return StudbookError("INVALID_ARGUMENT", "INVALID_NAME",
                         f"'{shown}' is not valid UTF-8 (its undecodable bytes are shown as \\xNN); "
                         "names and paths sent to the registry must be UTF-8: rename it", {"value": shown})  # fmt: skip


# gRPC's own words when a message passes the receiver's limit (the daemon's over TCP is small).
TOO_LARGE = re.compile(r"larger than max \((\d+) vs\. (\d+)\)")


def error_from_rpc(error: grpc.RpcError, address: str = "") -> StudbookError:
    """Decode the google.rpc.Status (and its ErrorInfo) in the trailers of a failed call."""
    # Loaded with the first failure: a program whose calls all succeed (the terminal UI before
    # its first rows, a training script) never pays for grpc_status and the error-detail protos.
    from google.rpc import error_details_pb2
    from grpc_status import rpc_status

    code = _status_code(error)
    if code is None:
        return StudbookError("UNKNOWN", "UNKNOWN", str(error) or "unknown error")
    message = error.details() or code.name.lower()
    reason, metadata = code.name, {}
    try:
        status = rpc_status.from_call(error)
    except ValueError:  # trailers that disagree with the status: trust the status
        status = None
    if status is not None:
        message = status.message or message
        for detail in status.details:
            info = error_details_pb2.ErrorInfo()
            if detail.Unpack(info):
                reason, metadata = info.reason or reason, dict(info.metadata)
                break
    # Transport failures carry no Status; gRPC's own text goes to metadata, as it is long.
    elif code is grpc.StatusCode.UNAVAILABLE:
        reason, message, metadata = *_unavailable(message, address), {"detail": message}
    elif code is grpc.StatusCode.DEADLINE_EXCEEDED:
        message, metadata = f"the studbook daemon at {address} did not answer in time", {"detail": message}
    elif code is grpc.StatusCode.RESOURCE_EXHAUSTED and (sizes := TOO_LARGE.search(message)):
        reason, metadata = "MESSAGE_TOO_LARGE", {"detail": message}
        size, limit = (int(n) / 2**20 for n in sizes.groups())
        # Over TCP the daemon reads less than over its socket (see the daemon's config).
        elsewhere = "" if is_local(address) else ", or run it on the daemon's machine, over its unix socket"
        message = (f"the request is {size:.1f} MiB, more than the {limit:g} MiB the studbook daemon at {address} "
                   f"reads of one message; make it smaller (fewer params or files, a shorter model card){elsewhere}")  # fmt: skip
    return StudbookError(code.name, reason, message, metadata)


def _unavailable(detail: str, address: str) -> tuple[str, str]:
    """Reason and message of a transport failure: a refused handshake is no missing daemon."""
    for marker, reason, message in TLS_FAILURES:
        if marker in detail.upper():
            return reason, message.format(address=address)
    return "UNAVAILABLE", f"no studbook daemon answers at {address}"


def _status_code(error: grpc.RpcError) -> grpc.StatusCode | None:
    # Sync errors are grpc.Call objects; grpc.aio's AioRpcError only has the same methods.
    code = getattr(error, "code", None)
    return code() if callable(code) else None


def channel_target(address: str) -> str:
    """A gRPC target: `unix:///path`, `host:port`, or a bare socket path (made `unix://`)."""
    return f"unix://{address}" if address.startswith("/") else address


def is_local(address: str) -> bool:
    """A unix socket address: private by its file mode, so served without TLS."""
    return address.startswith(("unix:", "unix-abstract:", "/"))


def channel_credentials(address: str, tls_ca: str | Path | None) -> grpc.ChannelCredentials | None:
    """None (a plain channel) for a unix socket; TLS trusting `tls_ca` (else the system roots) for TCP."""
    if is_local(address):
        return None
    return grpc.ssl_channel_credentials(root_certificates=_read_ca(tls_ca) if tls_ca else None)


def _read_ca(path: str | Path) -> bytes:
    # Read now: gRPC would only fail the first handshake, with words about "security handshakers".
    try:
        pem = Path(path).expanduser().read_bytes()
    except OSError as exc:
        message = f"cannot read the CA certificate {path}: {exc.strerror or exc}; pass a PEM file with --tls-ca FILE"
        raise StudbookError("INVALID_ARGUMENT", "TLS_CA_UNREADABLE", message, {"path": str(path)}) from None
    if b"-----BEGIN CERTIFICATE-----" not in pem:
        message = f"the CA file {path} holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
        raise StudbookError("INVALID_ARGUMENT", "TLS_CA_INVALID", message, {"path": str(path)})
    return pem


def call_metadata(actor: str, token: str | None) -> tuple[tuple[str, str], ...]:
    """The metadata of every call, unary or streaming: who acts and, when set, the bearer token."""
    metadata = ((ACTOR_HEADER, actor),)
    if not token:
        return metadata
    if not (token.isascii() and token.isprintable()):
        # Never echo the token: error lines end up in logs.
        message = "the token holds characters a gRPC header cannot carry; check --token or $STUDBOOK_TOKEN"
        raise StudbookError("INVALID_ARGUMENT", "INVALID_TOKEN", message)
    return (*metadata, (AUTHORIZATION_HEADER, f"Bearer {token}"))


# Where each service's generated stub lives, keyed like `calls.Call.service`.
STUB_CLASSES = {
    "ModelService": ("studbook.v1.registry_pb2_grpc", "ModelServiceStub"),
    "VersionService": ("studbook.v1.registry_pb2_grpc", "VersionServiceStub"),
    "LineageService": ("studbook.v1.lineage_pb2_grpc", "LineageServiceStub"),
    "StageService": ("studbook.v1.stages_pb2_grpc", "StageServiceStub"),
    "EventService": ("studbook.v1.events_pb2_grpc", "EventServiceStub"),
    "DropService": ("studbook.v1.drops_pb2_grpc", "DropServiceStub"),
    "AuditService": ("studbook.v1.audit_pb2_grpc", "AuditServiceStub"),
    "AccessService": ("studbook.v1.access_pb2_grpc", "AccessServiceStub"),
    "ArtifactService": ("studbook.v1.artifacts_pb2_grpc", "ArtifactServiceStub"),
    "MaintenanceService": ("studbook.v1.maintenance_pb2_grpc", "MaintenanceServiceStub"),
    "RetentionService": ("studbook.v1.retention_pb2_grpc", "RetentionServiceStub"),
    "HookService": ("studbook.v1.hooks_pb2_grpc", "HookServiceStub"),
    "ProductionService": ("studbook.v1.production_pb2_grpc", "ProductionServiceStub"),
    "Health": ("grpc_health.v1.health_pb2_grpc", "HealthStub"),
}


class _Stubs(dict[str, Any]):
    """One generated stub per service, made on first use: a stub binds every method of its
    service to the channel, and a screen that lists models needs two services, not twelve."""

    def __init__(self, channel: grpc.Channel | grpc.aio.Channel) -> None:
        super().__init__()
        self._channel = channel

    def __missing__(self, service: str) -> Any:
        module, name = STUB_CLASSES[service]
        stub = self[service] = getattr(importlib.import_module(module), name)(self._channel)
        return stub


# An upload is tried again this often when the daemon's copy moved or another call holds it.
UPLOAD_ATTEMPTS = 5
RESUMABLE_UPLOAD = frozenset({"UPLOAD_IN_PROGRESS", "UPLOAD_OFFSET_MISMATCH"})
# One file's upload call may take long; the data itself keeps it alive.
UPLOAD_TIMEOUT = 24 * 3600.0

# How often `Client.wait_for_drop` asks for a drop's state again.
DROP_POLL_SECONDS = 0.1
# A promotion waited for: how often the stream says it is alive (and the deadline is looked at),
# and the pause before opening it again when the daemon went away.
PROMOTION_WAIT_BOOKMARK_SECONDS = 1
PROMOTION_WAIT_RETRY_SECONDS = 1.0


def drop_settled(before: drops_pb2.Drop, now: drops_pb2.Drop) -> bool:
    """Whether `now` is a verdict given after `before` (what `retry_drop` answered).

    A drop being looked at keeps its last verdict, so a quarantined drop counts as judged
    again only once its verdict is newer; a pending one once it has any verdict.
    """
    if now.state == drops_pb2.DROP_STATE_PENDING:
        return False
    if now.state == drops_pb2.DROP_STATE_QUARANTINED and before.state == drops_pb2.DROP_STATE_QUARANTINED:
        return bool(now.update_time != before.update_time)
    return True


def _may_resume_upload(failure: StudbookError, attempt: int) -> bool:
    """The daemon's copy moved on, another call holds it, or the daemon blinked: ask again."""
    return (failure.reason in RESUMABLE_UPLOAD or failure.code == "UNAVAILABLE") and attempt + 1 < UPLOAD_ATTEMPTS


def _retry_delay(attempt: int) -> float:
    # Jitter keeps many clients of a restarting daemon from reconnecting in lockstep.
    return RETRY_DELAYS[attempt] * random.uniform(0.75, 1.25)


class _Settings:
    """What both clients share: where the daemon is and how patiently to call it."""

    def __init__(
        self, address: str | None, timeout: float | None, retries: bool, token: str | None, tls_ca: str | Path | None
    ) -> None:
        self.address = address or locations.default_address()
        self.timeout = timeout or DEFAULT_TIMEOUT
        self.retries = retries
        # None means "from the environment"; an empty string means none at all.
        token = os.environ.get(TOKEN_ENV, "") if token is None else token
        tls_ca = os.environ.get(TLS_CA_ENV, "") if tls_ca is None else tls_ca
        # Who is calling (recorded by the daemon on every change) and, over TCP, what proves it.
        self.metadata = call_metadata(calls.actor(), token.strip())
        self.has_token = bool(token.strip())
        self._credentials = channel_credentials(self.address, tls_ca)

    def _deadline(self, call: calls.Call[Any]) -> float:
        return max(call.timeout or 0.0, self.timeout)

    def _uploads(self, request: registry_pb2.RegisterModelVersionRequest, upload: bool | None) -> bool:
        """Whether a registration's source_path is uploaded: when asked, or by default when the
        daemon is not on a unix socket (over TCP it cannot read this machine's files)."""
        if not request.source_path or not (upload if upload is not None else not self.address.startswith("unix:")):
            return False
        if request.keep_in_place:
            raise StudbookError("INVALID_ARGUMENT", "CONFLICTING_SOURCES",
                                "keep_in_place names files on the daemon's machine; they cannot be uploaded")  # fmt: skip
        return True

    def _can_retry(self, error: grpc.RpcError, call: calls.Call[Any], attempt: int) -> bool:
        """Resend only what is safe to resend, only while the daemon is briefly away."""
        return (
            self.retries
            and call.idempotent
            and attempt < len(RETRY_DELAYS)
            and _status_code(error) is grpc.StatusCode.UNAVAILABLE
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(address={self.address!r})"


class Client(_Settings, Methods):
    """The synchronous client, for training scripts, notebooks and the CLI.

        sb = Client()
        v = sb.register("fraud", path="out/model.onnx", metrics={"auc": 0.93})

    `address` is `unix:///path/to.sock` or `host:port`; by default `$STUDBOOK_ADDRESS`
    or the daemon's default socket. `timeout` is the deadline in seconds of each call
    (registering a path waits longer, while the daemon hashes it). With `retries`,
    reads and calls carrying a request_id are resent when the daemon is briefly away.
    A `host:port` address is reached over TLS, trusting the CA certificate (PEM) in
    `tls_ca` (default `$STUDBOOK_TLS_CA`, else the system's roots); `token` (default
    `$STUDBOOK_TOKEN`) is sent as `authorization: Bearer <token>` on every call.
    Every failure raises `StudbookError`.
    """

    def __init__(
        self,
        address: str | None = None,
        *,
        timeout: float | None = DEFAULT_TIMEOUT,
        retries: bool = True,
        token: str | None = None,
        tls_ca: str | Path | None = None,
    ) -> None:
        super().__init__(address, timeout, retries, token, tls_ca)
        target = channel_target(self.address)
        self._channel = (
            grpc.insecure_channel(target, options=CHANNEL_OPTIONS)
            if self._credentials is None
            else grpc.secure_channel(target, self._credentials, options=CHANNEL_OPTIONS)
        )
        self._stubs = _Stubs(self._channel)

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _bind(self, rpc: Rpc[P, M, R]) -> Callable[P, R]:
        """`rpc` as a method of this client: build the request, send it, unwrap the answer."""

        def method(*args: P.args, **kwargs: P.kwargs) -> R:
            return rpc.unwrap(self._unary(rpc.build(*args, **kwargs)))

        return method

    def _unary(self, call: calls.Call[T]) -> T:
        method = getattr(self._stubs[call.service], call.method)
        attempt = 0
        while True:
            try:
                response: T = method(call.request, timeout=self._deadline(call), metadata=self.metadata)
                return response
            except grpc.RpcError as error:
                if not self._can_retry(error, call, attempt):
                    raise error_from_rpc(error, self.address) from None
            time.sleep(_retry_delay(attempt))
            attempt += 1

    # ---- models ----

    def iter_models(
        self, *, filter: str = "", order_by: str = "", page_size: int = 0, show_archived: bool = False
    ) -> Iterator[resources_pb2.Model]:
        """Every matching model, fetched page by page."""
        token = ""
        while True:
            page = self.list_models(
                filter=filter, order_by=order_by, page_size=page_size, page_token=token, show_archived=show_archived
            )
            yield from page.models
            token = page.next_page_token
            if not token:
                return

    # ---- versions ----

    def register(
        self, model: str, *, upload: bool | None = None, progress: upload_.Progress | None = None,
        **options: Unpack[calls.RegisterOptions],
    ) -> resources_pb2.ModelVersion:  # fmt: skip
        """Register a version of `model` (created if new) and return it.

        Give `path` (a local file or folder; the daemon hashes, inspects and keeps it) or
        `uri` (metadata only). A daemon reached over TCP cannot read this machine's files,
        so `path` is uploaded to it (resumably; `upload=True` uploads over the unix socket
        too, `progress` is told of every chunk sent). The Python and ML package versions,
        the platform and the git commit of the working directory are recorded unless
        `environment`/`git` are False. See `calls.register_request` for the accepted shapes
        of each argument.
        """
        request = calls.register_request(model, **options)
        return self.register_version(request, upload=upload, progress=progress).version

    def register_version(
        self, request: registry_pb2.RegisterModelVersionRequest, *, upload: bool | None = None,
        progress: upload_.Progress | None = None,
    ) -> registry_pb2.RegisterModelVersionResponse:  # fmt: skip
        """The RegisterModelVersion call; `created` is False when an existing version came back.

        A `source_path` is uploaded first when `upload` says so (None: when the daemon is not
        on a unix socket), and the request then names the uploaded files instead.
        """
        from studbook.client import upload as upload_

        if self._uploads(request, upload):
            files = upload_.local_files(Path(request.source_path))
            self.upload_files(files, progress)
            request = calls.with_uploaded_files(request, [f.declared() for f in files])
        return self._unary(calls.register_version(request))

    def upload_files(self, files: Iterable[upload_.LocalFile], progress: upload_.Progress | None = None) -> None:
        """Sends each file the daemon does not hold yet into its artifact store, continuing an
        interrupted upload from the daemon's offset and waiting out a concurrent one."""
        from studbook.client import upload as upload_

        stub = self._stubs["ArtifactService"]
        for file in files:
            for attempt in range(UPLOAD_ATTEMPTS):
                where = self._unary(calls.get_upload_offset(file.sha256, file.size))
                if where.stored:
                    break
                try:
                    done = stub.UploadArtifactFile(upload_.upload_messages(file, where.offset, progress),
                                                   metadata=self.metadata, timeout=UPLOAD_TIMEOUT)  # fmt: skip
                except grpc.RpcError as error:
                    failure = error_from_rpc(error, self.address)
                    if not _may_resume_upload(failure, attempt):
                        raise failure from None
                    time.sleep(_retry_delay(min(attempt, len(RETRY_DELAYS) - 1)))
                    continue
                if done.stored:
                    break

    def download(
        self, model: str, dest: str | os.PathLike[str], version: str | int | None = None, *,
        file: str | None = None, progress: pull.Progress | None = None,
    ) -> list[pull.Pulled]:  # fmt: skip
        """Write the files of a kept version (`download("fraud@production", "out/")`) into `dest`.

        Each file is verified against its sha256 and renamed into place only then; an
        interrupted download resumes where it stopped. `file` picks one file; `progress` is
        told of every chunk written. FAILED_PRECONDITION (VERSION_NOT_KEPT) for a version
        the registry only references.
        """
        from studbook.client import pull

        found = self.get_version(model, version)
        local = self.address.startswith("unix:")
        read = functools.partial(self.read_file, found.name)
        with ThreadPoolExecutor(pull.PARALLEL_FILES, thread_name_prefix="studbook-pull") as files:
            return list(files.map(lambda f: pull.pull_file(read, f, Path(dest), progress, local=local),
                                  pull.chosen_files(found, file)))  # fmt: skip

    def read_file(self, name: str, path: str, offset: int = 0,
                  local: bool = False) -> Iterator[artifacts_pb2.ReadArtifactFileResponse]:  # fmt: skip
        """The stored bytes of one file of a kept version (`models/m/versions/3`, `train/config.json`)
        from `offset`, as the daemon streams them: chunks of at most 1 MiB, the first one with the
        file's size and sha256; `local` over the unix socket lets the daemon name its stored copy
        instead. `download` verifies and writes whole files; this is for callers that place the
        bytes themselves, and must check the sha256."""
        return self._stream(calls.read_artifact_file(name, path, offset, local_copy=local))

    def iter_versions(
        self,
        model: str = "-",
        *,
        filter: str = "",
        order_by: str = "",
        page_size: int = 0,
        show_archived: bool = False,
        summary_only: bool = False,
    ) -> Iterator[resources_pb2.ModelVersion]:
        """Every matching version, fetched page by page."""
        token = ""
        while True:
            page = self.list_versions(
                model,
                filter=filter,
                order_by=order_by,
                page_size=page_size,
                page_token=token,
                show_archived=show_archived,
                summary_only=summary_only,
            )
            yield from page.versions
            token = page.next_page_token
            if not token:
                return

    # ---- drop-ins ----

    def iter_drops(
        self, *, model: str = "", quarantined_only: bool = False, page_size: int = 0
    ) -> Iterator[drops_pb2.Drop]:
        """Every drop (or every quarantined one), fetched page by page."""
        listing = self.list_quarantined_drops if quarantined_only else self.list_drops
        token = ""
        while True:
            page = listing(model=model, page_size=page_size, page_token=token)
            yield from page.drops
            token = page.next_page_token
            if not token:
                return

    def wait_for_drop(self, drop: drops_pb2.Drop, timeout: float) -> drops_pb2.Drop:
        """The watcher's next verdict on `drop` (as `retry_drop` returned it), or the drop as it
        stands when `timeout` seconds pass first.

        Polls: a new verdict that repeats the old one is no registry event to wait for.
        NOT_FOUND when the drop left the watched root meanwhile.
        """
        deadline = time.monotonic() + timeout
        current = drop
        while not drop_settled(drop, current) and time.monotonic() < deadline:
            time.sleep(DROP_POLL_SECONDS)
            current = self._find_drop(drop)
        return current

    def _find_drop(self, drop: drops_pb2.Drop) -> drops_pb2.Drop:
        for candidate in self.iter_drops(model=drop.model, page_size=1000):
            if candidate.name == drop.name:
                return candidate
        raise StudbookError("NOT_FOUND", "DROP_NOT_FOUND", f"{drop.path} is no longer known to the watcher",
                            {"drop": drop.name})  # fmt: skip

    # ---- audit ----

    def export_audit_trail(self, start_revision: int = 0) -> Iterator[audit_pb2.AuditRecord]:
        """Every recorded change after `start_revision` with its chain hash, oldest first."""
        return self._stream(calls.export_audit_trail(start_revision))

    # ---- maintenance ----

    def verify_artifacts(
        self, target: str = "", *, progress: Callable[[maintenance_pb2.VerifyProgress], None] | None = None
    ) -> maintenance_pb2.VerifySummary:
        """Re-hash the stored files of `target` (`"fraud@3"`, `"fraud"`, or `""` for every kept version).

        Versions whose bytes no longer match turn corrupt; the summary names them. `progress`
        is told how far the daemon got, a few times a second. Needs the maintainer role.
        """
        call = calls.verify_artifacts(target)
        for response in self._stream(call):
            if response.HasField("summary"):
                return response.summary
            if progress is not None:
                progress(response.progress)
        raise StudbookError("UNKNOWN", "NO_SUMMARY", "the daemon ended the check without a summary")

    def backup(
        self, destination: str | os.PathLike[str], *,
        progress: Callable[[maintenance_pb2.BackupProgress], None] | None = None,
    ) -> maintenance_pb2.BackupSummary:  # fmt: skip
        """Have the daemon write a consistent backup of the registry to `destination` while it keeps
        serving: a folder on the daemon's host (made absolute here) or `"s3://bucket/prefix"`.

        Blobs the destination holds already are not copied again. `progress` is told how far
        the daemon got. Needs the admin role; over TCP only a folder under the daemon's
        allowed_roots is accepted.
        """
        call = calls.backup_registry(os.fspath(destination))
        for response in self._stream(call):
            if response.HasField("summary"):
                return response.summary
            if progress is not None:
                progress(response.progress)
        raise StudbookError("UNKNOWN", "NO_SUMMARY", "the daemon ended the backup without a summary")

    def _stream(self, call: calls.Call[T]) -> Iterator[T]:
        """A server stream without a deadline: it lasts as long as the daemon works."""
        stream = getattr(self._stubs[call.service], call.method)(call.request, metadata=self.metadata)
        try:
            yield from stream
        except grpc.RpcError as error:
            raise error_from_rpc(error, self.address) from None
        finally:
            stream.cancel()

    # ---- promotions ----

    def wait_for_promotion(self, promotion: stages_pb2.Promotion, timeout: float) -> stages_pb2.Promotion:
        """The promotion once it no longer waits for approval (applied, rejected, cancelled), or
        as it stands when `timeout` seconds pass first.

        Follows the promotion's own events through Watch and reads it again after each, so it
        answers as soon as an approver acts; a stream the daemon ends (a restart, another
        daemon behind a balancer) is opened again from the last revision it delivered.
        """
        deadline = time.monotonic() + timeout
        current, after = promotion, -1
        mine = f'subject = "{promotion.name}"'
        while _waiting(current) and time.monotonic() < deadline:
            try:
                for response in self.watch(after, filter=mine, bookmark_interval=PROMOTION_WAIT_BOOKMARK_SECONDS):
                    moved = response.event.revision if response.HasField("event") else response.bookmark
                    if response.HasField("event") or after == -1:
                        current = self.get_promotion(promotion.name)  # after the first bookmark: nothing missed
                    after = moved
                    if not _waiting(current) or time.monotonic() >= deadline:
                        break
            except StudbookError as error:
                if error.code != "UNAVAILABLE":
                    raise
                time.sleep(PROMOTION_WAIT_RETRY_SECONDS)
        return current

    # ---- events ----

    def watch(
        self, start_revision: int = -1, *, filter: str = "", bookmark_interval: int | None = None
    ) -> Iterator[events_pb2.WatchResponse]:
        """Events after `start_revision` (0: all kept, -1: live only), then live; no deadline.

        Leaving the loop cancels the stream.
        """
        return self._stream(calls.watch(start_revision, filter=filter, bookmark_interval=bookmark_interval))


class AsyncClient(_Settings, Methods):
    """The asyncio client, for the TUI and async code.

    The channel is created on first use inside the running event loop (grpc.aio binds a
    channel to its loop), so the client can be built before the loop starts. The
    arguments are those of `Client`.
    """

    def __init__(
        self,
        address: str | None = None,
        *,
        timeout: float | None = DEFAULT_TIMEOUT,
        retries: bool = True,
        token: str | None = None,
        tls_ca: str | Path | None = None,
    ) -> None:
        super().__init__(address, timeout, retries, token, tls_ca)
        self._channel: grpc.aio.Channel | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stubs: dict[str, Any] = {}

    def _stub(self, service: str) -> Any:
        loop = asyncio.get_running_loop()
        # A channel of another (finished) loop cannot be used or closed from this one: replace it.
        if self._channel is None or self._loop is not loop:
            target = channel_target(self.address)
            self._channel = (
                grpc.aio.insecure_channel(target, options=CHANNEL_OPTIONS)
                if self._credentials is None
                else grpc.aio.secure_channel(target, self._credentials, options=CHANNEL_OPTIONS)
            )
            self._loop = loop
            self._stubs = _Stubs(self._channel)
        return self._stubs[service]

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close()
            self._channel = None

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def _bind(self, rpc: Rpc[P, M, R]) -> Callable[P, Coroutine[Any, Any, R]]:
        """`rpc` as a coroutine method of this client (the request is built when it is called)."""

        async def method(*args: P.args, **kwargs: P.kwargs) -> R:
            return rpc.unwrap(await self._unary(rpc.build(*args, **kwargs)))

        return method

    async def _unary(self, call: calls.Call[T]) -> T:
        attempt = 0
        while True:
            method = getattr(self._stub(call.service), call.method)
            try:
                response: T = await method(call.request, timeout=self._deadline(call), metadata=self.metadata)
                return response
            except grpc.RpcError as error:
                if not self._can_retry(error, call, attempt):
                    raise error_from_rpc(error, self.address) from None
            await asyncio.sleep(_retry_delay(attempt))
            attempt += 1

    # ---- versions ----

    async def register(
        self, model: str, *, upload: bool | None = None, progress: upload_.Progress | None = None,
        **options: Unpack[calls.RegisterOptions],
    ) -> resources_pb2.ModelVersion:  # fmt: skip
        """Like `Client.register`, uploads included."""
        request = calls.register_request(model, **options)
        return (await self.register_version(request, upload=upload, progress=progress)).version

    async def register_version(
        self, request: registry_pb2.RegisterModelVersionRequest, *, upload: bool | None = None,
        progress: upload_.Progress | None = None,
    ) -> registry_pb2.RegisterModelVersionResponse:  # fmt: skip
        """Like `Client.register_version`; hashing the local files runs in a thread."""
        from studbook.client import upload as upload_

        if self._uploads(request, upload):
            files = await asyncio.to_thread(upload_.local_files, Path(request.source_path))
            await self.upload_files(files, progress)
            request = calls.with_uploaded_files(request, [f.declared() for f in files])
        return await self._unary(calls.register_version(request))

    async def upload_files(self, files: Iterable[upload_.LocalFile], progress: upload_.Progress | None = None) -> None:
        """Like `Client.upload_files`."""
        from studbook.client import upload as upload_

        for file in files:
            for attempt in range(UPLOAD_ATTEMPTS):
                where = await self._unary(calls.get_upload_offset(file.sha256, file.size))
                if where.stored:
                    break
                try:
                    done = await self._stub("ArtifactService").UploadArtifactFile(
                        upload_.upload_messages(file, where.offset, progress), metadata=self.metadata,
                        timeout=UPLOAD_TIMEOUT)  # fmt: skip
                except grpc.RpcError as error:
                    if not _may_resume_upload(error_from_rpc(error, self.address), attempt):
                        raise error_from_rpc(error, self.address) from None
                    await asyncio.sleep(_retry_delay(min(attempt, len(RETRY_DELAYS) - 1)))
                    continue
                if done.stored:
                    break

    async def download(
        self, model: str, dest: str | os.PathLike[str], version: str | int | None = None, *,
        file: str | None = None, progress: pull.Progress | None = None,
    ) -> list[pull.Pulled]:  # fmt: skip
        """Like `Client.download`; the file work runs in threads, off the event loop."""
        from studbook.client import pull

        found = await self.get_version(model, version)
        done = []
        for item in pull.chosen_files(found, file):
            landing = pull.Landing(Path(dest), item)
            offset = await asyncio.to_thread(landing.start)
            if offset is None:
                done.append(landing.pulled(skipped=True))
                continue
            call = calls.read_artifact_file(found.name, item.path, offset)
            try:
                async for message in self._stub(call.service).ReadArtifactFile(call.request, metadata=self.metadata):
                    await asyncio.to_thread(landing.write, message.data)
                    if progress is not None:
                        progress(len(message.data))
            except BaseException as error:
                landing.abandon()
                if isinstance(error, grpc.RpcError):
                    raise error_from_rpc(error, self.address) from None
                raise
            done.append(await asyncio.to_thread(landing.finish))
        return done

    # ---- events ----

    async def watch(
        self, start_revision: int = -1, *, filter: str = "", bookmark_interval: int | None = None
    ) -> AsyncIterator[events_pb2.WatchResponse]:
        """Like `Client.watch`, as an async iterator; closing it cancels the stream."""
        call = calls.watch(start_revision, filter=filter, bookmark_interval=bookmark_interval)
        stream = self._stub(call.service).Watch(call.request, metadata=self.metadata)
        try:
            async for response in stream:
                yield response
        except grpc.RpcError as error:
            raise error_from_rpc(error, self.address) from None
        finally:
            stream.cancel()


def _waiting(promotion: stages_pb2.Promotion) -> bool:
    return promotion.state in (stages_pb2.PROMOTION_STATE_PENDING_APPROVAL, stages_pb2.PROMOTION_STATE_APPROVED)
