"""Wiring: the data-dir lock, the socket, the gRPC server with health and reflection, shutdown."""

from __future__ import annotations

import asyncio
import fcntl
import functools
import gc
import ipaddress
import logging
import os
import signal
import socket
import ssl
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import grpc
import uvloop
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection, reflection_pb2_grpc
from studbook.daemon.app.access import AccessUseCases
from studbook.daemon.app.clock import SimulatedClock, utcnow
from studbook.daemon.app.policy import PolicyStore
from studbook.daemon.app.registry import Registry
from studbook.daemon.blobs import open_store
from studbook.daemon.blobs.store import clear_stale_staging
from studbook.daemon.config import MAX_MESSAGE_BYTES, MAX_REMOTE_MESSAGE_BYTES, Settings
from studbook.daemon.domain.errors import InvalidArgument, RegistryError
from studbook.daemon.service.access import AccessInterceptor, AccessServicer
from studbook.daemon.service.artifacts import ArtifactServicer
from studbook.daemon.service.audit import AuditServicer
from studbook.daemon.service.convert import change_basis_of_payload, encode_payload
from studbook.daemon.service.drops import DropServicer
from studbook.daemon.service.events import EventServicer
from studbook.daemon.service.hook_convert import resource_json
from studbook.daemon.service.hooks import HookServicer
from studbook.daemon.service.maintenance import MaintenanceServicer
from studbook.daemon.service.methods import MethodTable
from studbook.daemon.service.production import ProductionServicer
from studbook.daemon.service.retention import RetentionServicer
from studbook.daemon.service.servicers import LineageServicer, ModelServicer, StageServicer, VersionServicer
from studbook.daemon.store.pandas_probes import make_pandas_probes_cheap
from studbook.v1 import (
    access_pb2,
    access_pb2_grpc,
    artifacts_pb2,
    artifacts_pb2_grpc,
    audit_pb2,
    audit_pb2_grpc,
    drops_pb2,
    drops_pb2_grpc,
    events_pb2,
    events_pb2_grpc,
    hooks_pb2,
    hooks_pb2_grpc,
    lineage_pb2,
    lineage_pb2_grpc,
    maintenance_pb2,
    maintenance_pb2_grpc,
    production_pb2,
    production_pb2_grpc,
    registry_pb2,
    registry_pb2_grpc,
    retention_pb2,
    retention_pb2_grpc,
    stages_pb2,
    stages_pb2_grpc,
)

if TYPE_CHECKING:  # imported by build_watcher: a daemon without --watch never loads watchdog
    from studbook.daemon.watch.watcher import DropWatcher

log = logging.getLogger("studbook.daemon")

SERVICE_NAMES = (
    registry_pb2.DESCRIPTOR.services_by_name["ModelService"].full_name,
    registry_pb2.DESCRIPTOR.services_by_name["VersionService"].full_name,
    lineage_pb2.DESCRIPTOR.services_by_name["LineageService"].full_name,
    stages_pb2.DESCRIPTOR.services_by_name["StageService"].full_name,
    events_pb2.DESCRIPTOR.services_by_name["EventService"].full_name,
    drops_pb2.DESCRIPTOR.services_by_name["DropService"].full_name,
    audit_pb2.DESCRIPTOR.services_by_name["AuditService"].full_name,
    access_pb2.DESCRIPTOR.services_by_name["AccessService"].full_name,
    artifacts_pb2.DESCRIPTOR.services_by_name["ArtifactService"].full_name,
    maintenance_pb2.DESCRIPTOR.services_by_name["MaintenanceService"].full_name,
    retention_pb2.DESCRIPTOR.services_by_name["RetentionService"].full_name,
    hooks_pb2.DESCRIPTOR.services_by_name["HookService"].full_name,
    production_pb2.DESCRIPTOR.services_by_name["ProductionService"].full_name,
)
# Its health entry turns NOT_SERVING while drop-in watching is degraded.
DROP_SERVICE = drops_pb2.DESCRIPTOR.services_by_name["DropService"].full_name
SHUTDOWN_GRACE_SECONDS = 5.0


class StartupError(Exception):
    """The daemon cannot start; the message says why and what to do."""


# The files of a data dir studbook names; others, and sub-folders, it leaves as they are.
DATA_FILES = (
    "daemon.lock",
    "catalog.duckdb",
    "catalog.duckdb.wal",
    "catalog.duckdb.journal",
    "catalog.hwm",
    "postgres.hwm",
)


@contextmanager
def data_dir_lock(data_dir: Path) -> Iterator[None]:
    """Holds an exclusive lock on the data dir: one daemon per catalog."""
    lock_path = data_dir / "daemon.lock"
    try:
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        handle = open(lock_path, "a+")  # noqa: SIM115 - held for the daemon's lifetime
    except OSError as exc:
        raise StartupError(
            f"cannot use the data dir {data_dir}: {exc.strerror or exc}; choose another --data-dir"
        ) from None
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "unknown"
        handle.close()
        raise StartupError(
            f"another studbook daemon (pid {holder}) is already serving {data_dir}; "
            "stop it first or choose another --data-dir"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    try:
        yield
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


def make_private(data_dir: Path) -> None:
    """The data dir 0700 and the daemon's files in it 0600, whoever made them looser.

    Tightened with a warning rather than refused: daemons before this one created these files
    0644 in a 0755 folder under the usual umask, so refusing would stop every existing install
    for something the daemon can put right itself, and nobody but the daemon's user is meant to
    open them.
    """
    for path, mode in ((data_dir, 0o700), *((data_dir / name, 0o600) for name in DATA_FILES)):
        try:
            current = path.stat().st_mode & 0o777
        except FileNotFoundError:
            continue
        if current & 0o077:
            os.chmod(path, mode)
            log.warning("%s was open to group or others (mode %04o); made it %04o", path, current, mode)


def prepare_socket(path: Path) -> None:
    """Creates the socket's folder (0700) and clears a stale socket left by a crash."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path.parent, 0o700)
    if len(str(path).encode()) > 100:
        raise StartupError(f"socket path {path} is too long for a unix socket (at most ~100 bytes)")
    if path.exists() or path.is_symlink():
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(str(path))
        except OSError:
            path.unlink()  # nobody listens: a leftover of a daemon that died
        else:
            raise StartupError(f"a daemon is already listening on {path}")
        finally:
            probe.close()


def listen_credentials(settings: Settings) -> grpc.ServerCredentials:
    """TLS for the TCP port, checked now so a bad file stops the start, not the first handshake.

    The unix socket is guarded by its file mode; TCP reaches beyond this user, so it is
    never served without TLS (and the bearer tokens that TLS keeps secret).
    """
    key_pem, cert_pem = check_tls_files(settings, settings.listen)
    return grpc.ssl_server_credentials([(key_pem, cert_pem)])


def check_tls_files(settings: Settings, address: str) -> tuple[bytes, bytes]:
    """The TLS key and certificate (PEM) for listening on `address`, checked; StartupError otherwise."""
    if settings.tls_cert is None or settings.tls_key is None:
        raise StartupError(
            f"refusing to listen on {address} without TLS: pass --tls-cert FILE and --tls-key FILE "
            "(PEM certificate and its unencrypted key), or set tls_cert and tls_key in the [daemon] "
            "table of config.toml"
        )
    cert, key = settings.tls_cert, settings.tls_key
    key_pem = _read_tls_file(key, "key")
    _check_key_mode(key)
    cert_pem = _read_tls_file(cert, "certificate")
    if b"-----BEGIN CERTIFICATE-----" not in cert_pem:
        raise StartupError(f"the TLS certificate {cert} holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
    if b"PRIVATE KEY-----" not in key_pem:
        raise StartupError(f"the TLS key {key} holds no PEM private key (-----BEGIN PRIVATE KEY-----)")
    _check_pair(cert, key)
    return key_pem, cert_pem


def _read_tls_file(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise StartupError(f"the TLS {what} {path} does not exist") from None
    except OSError as exc:
        raise StartupError(f"cannot read the TLS {what} {path}: {exc.strerror or exc}") from None


def _check_key_mode(path: Path) -> None:
    # As ssh does with its keys: a secret others can read is no longer one.
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise StartupError(
            f"the TLS key {path} is accessible to group or others (mode {mode:04o}); "
            f"restrict it with `chmod 600 {path}`"
        )


def _check_pair(cert: Path, key: Path) -> None:
    """Loads the pair the way a TLS server does; grpc would only say "failed to bind"."""

    def encrypted() -> str:
        # Asked only for an encrypted key; grpc cannot take a passphrase, so refuse, never prompt.
        raise StartupError(f"the TLS key {key} is encrypted; give the daemon an unencrypted key (mode 0600)")

    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(cert, key, password=encrypted)
    except ssl.SSLError as exc:
        if exc.reason == "KEY_VALUES_MISMATCH":
            raise StartupError(f"the TLS key {key} does not belong to the certificate {cert}") from None
        raise StartupError(f"cannot load the TLS certificate {cert} with the key {key}: {exc.reason or exc}") from None


def add_tcp_port(server: grpc.aio.Server, address: str, credentials: grpc.ServerCredentials) -> str:
    """Serves TLS on `address`; returns it as bound (port 0 becomes the port chosen)."""
    try:
        port = server.add_secure_port(address, credentials)
    except RuntimeError:  # grpc's "Failed to bind", whatever the cause
        port = 0
    if not port:
        raise StartupError(f"cannot listen on {address}: the port is taken or the host is no address of this machine")
    return f"{address.rsplit(':', 1)[0]}:{port}"


@dataclass(frozen=True)
class HttpListen:
    """Where the MLflow endpoint listens, and with which TLS (None: plain HTTP, loopback only)."""

    host: str
    port: int
    tls: ssl.SSLContext | None


def mlflow_listen_plan(settings: Settings) -> HttpListen | None:
    """The MLflow endpoint's address, checked before anything starts; None when not asked for.

    Tokens travel in every request, so only loopback may go without TLS (as the gRPC port never
    does without it). With a certificate configured, loopback is served over TLS too.
    """
    address = settings.mlflow_listen
    if not address:
        return None
    host, _, port_text = address.rpartition(":")
    host = host.strip("[]")
    if not host or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise StartupError(f"--mlflow-listen takes HOST:PORT (e.g. 127.0.0.1:5000), got {address[:100]!r}")
    tls = None
    if not _is_loopback(host) or settings.tls_cert is not None or settings.tls_key is not None:
        check_tls_files(settings, address)
        assert settings.tls_cert is not None and settings.tls_key is not None
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(settings.tls_cert, settings.tls_key)
    return HttpListen(host, int(port_text), tls)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve anywhere


async def start_mlflow(plan: HttpListen, registry: Registry, settings: Settings) -> tuple[Any, str]:
    """Starts the MLflow endpoint on this loop; (the endpoint, the URL it serves)."""
    # Imported only now: aiohttp stays out of a daemon that serves gRPC alone.
    from studbook.daemon.mlflow.app import MlflowEndpoint  # noqa: PLC0415

    endpoint = MlflowEndpoint(registry, settings.data_dir / "mlflow-uploads")
    try:
        url = await endpoint.start(plan.host, plan.port, plan.tls)
    except OSError as exc:
        await endpoint.stop()
        raise StartupError(f"cannot listen on {settings.mlflow_listen} for MLflow clients: {exc.strerror or exc}; "
                           "the port is taken or the host is no address of this machine") from None  # fmt: skip
    return endpoint, url


def open_registry(settings: Settings, policy: PolicyStore) -> Registry:
    """The registry over the catalog and the artifact store, or a one-line refusal when either
    cannot be used as it is."""
    try:
        # A store named by URL is checked first (an S3 bucket answers, or says why not).
        blobs = open_store(settings.artifact_store, settings.data_dir) if settings.artifact_store else None
        registry = Registry(settings.catalog_path, encode_payload, basis_of=change_basis_of_payload,
                            cache_versions=settings.cache_versions, cache_models=settings.cache_models,
                            cluster_min_rows=settings.cluster_min_rows,
                            cluster_check_seconds=settings.cluster_check_seconds,
                            scan_limits=settings.scan_limits, format_limits=settings.format_limits,
                            allowed_roots=settings.allowed_roots or None,
                            policy=policy, blobs=blobs, gc_grace=timedelta(seconds=settings.gc_grace_seconds),
                            clock=_clock(settings), catalog_url=settings.catalog,
                            hook_settings=settings.hooks, hook_resource=resource_json)  # fmt: skip
    except RegistryError as exc:
        raise StartupError(exc.message) from None
    if cleared := clear_stale_staging(registry.blobs.staging):
        log.info("removed %d unfinished copies a stopped daemon left in %s", cleared, registry.blobs.staging)
    try:
        make_private(settings.data_dir)  # only now: a start that is refused changes nothing
    except OSError as exc:
        registry.close()
        raise StartupError(
            f"cannot make the data dir {settings.data_dir} private: {exc.strerror or exc}; "
            f"run `chmod 700 {settings.data_dir}` as its owner"
        ) from None
    return registry


def _clock(settings: Settings) -> Callable[[], datetime]:
    if not settings.simulated_days:
        return utcnow
    log.warning("simulated clock: the first %d writes are spread over the last %g days (demos and tests only)",
                settings.simulated_writes, settings.simulated_days)  # fmt: skip
    return SimulatedClock(timedelta(days=settings.simulated_days), settings.simulated_writes)


@dataclass(frozen=True)
class Services:
    """Every servicer, made once: the unix socket's server and the TCP port's serve the same
    objects (one version cache, one health status)."""

    access: AccessUseCases
    adders: tuple[Callable[[MethodTable], None], ...]
    health: health.aio.HealthServicer


def build_services(registry: Registry, watcher: DropWatcher | None = None) -> Services:
    adders = (
        functools.partial(registry_pb2_grpc.add_ModelServiceServicer_to_server, ModelServicer(registry)),
        functools.partial(registry_pb2_grpc.add_VersionServiceServicer_to_server, VersionServicer(registry)),
        functools.partial(lineage_pb2_grpc.add_LineageServiceServicer_to_server, LineageServicer(registry)),
        functools.partial(stages_pb2_grpc.add_StageServiceServicer_to_server, StageServicer(registry)),
        functools.partial(events_pb2_grpc.add_EventServiceServicer_to_server, EventServicer(registry)),
        functools.partial(audit_pb2_grpc.add_AuditServiceServicer_to_server, AuditServicer(registry)),
        functools.partial(drops_pb2_grpc.add_DropServiceServicer_to_server, DropServicer(registry, watcher)),
        functools.partial(access_pb2_grpc.add_AccessServiceServicer_to_server, AccessServicer(registry)),
        functools.partial(artifacts_pb2_grpc.add_ArtifactServiceServicer_to_server, ArtifactServicer(registry)),
        functools.partial(
            maintenance_pb2_grpc.add_MaintenanceServiceServicer_to_server, MaintenanceServicer(registry)
        ),  # fmt: skip
        functools.partial(retention_pb2_grpc.add_RetentionServiceServicer_to_server, RetentionServicer(registry)),
        functools.partial(hooks_pb2_grpc.add_HookServiceServicer_to_server, HookServicer(registry)),
        functools.partial(
            production_pb2_grpc.add_ProductionServiceServicer_to_server, ProductionServicer(registry)
        ),  # fmt: skip
    )
    return Services(registry.access, adders, health.aio.HealthServicer())


def build_server(services: Services, max_receive: int = MAX_MESSAGE_BYTES) -> grpc.aio.Server:
    """A server of every service that reads no message longer than `max_receive` bytes.

    The TCP port gets a server of its own (MAX_REMOTE_MESSAGE_BYTES) because grpc has one
    receive limit per server and the port needs a small one. Guarded calls are admitted before
    their message is read (AccessInterceptor), but the open health methods are read for
    anybody, so their limit is what a caller without a token can make the daemon hold; and
    large payloads travel as streams of small messages anyway (uploads). The unix socket keeps
    the generous limit: only its owner reaches it.
    """
    server = grpc.aio.server(
        interceptors=[AccessInterceptor(services.access)],
        options=[
            ("grpc.max_receive_message_length", max_receive),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            ("grpc.so_reuseport", 0),
        ],
    )
    # Health and reflection join the same table: each method registered with the server on its
    # own costs the event loop a wait on its pending call for every call that arrives (methods.py).
    # Measured on the bare server of `make bench` (tests/bench/grpc_floor.py), their four methods
    # registered apart cost 4 µs of its 410 a call and 3% of its calls a second.
    served = (*SERVICE_NAMES, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME)
    server.add_generic_rpc_handlers((MethodTable((
        *services.adders,
        functools.partial(health_pb2_grpc.add_HealthServicer_to_server, services.health),
        functools.partial(reflection_pb2_grpc.add_ServerReflectionServicer_to_server,
                          reflection.aio.ReflectionServicer(served)),
    )),))  # fmt: skip
    return server


def build_watcher(settings: Settings, registry: Registry) -> DropWatcher | None:
    """The drop-in watcher for `--watch` roots, or None when none are given."""
    if not settings.watch_roots:
        return None
    from studbook.daemon.watch.watcher import DropWatcher, WatchSettings

    watch = WatchSettings(settings.watch_roots, poll=settings.watch_poll, quiet_seconds=settings.quiet_seconds,
                          reconcile_seconds=settings.reconcile_seconds, scan_limits=settings.scan_limits,
                          in_place_roots=settings.in_place_roots)  # fmt: skip
    try:
        return DropWatcher(registry, watch)
    except InvalidArgument as exc:
        raise StartupError(exc.message) from None


async def set_drop_health(health_servicer: health.aio.HealthServicer, healthy: bool) -> None:
    serving = health_pb2.HealthCheckResponse.SERVING if healthy else health_pb2.HealthCheckResponse.NOT_SERVING
    await health_servicer.set(DROP_SERVICE, serving)


async def serve(settings: Settings) -> None:
    credentials = listen_credentials(settings) if settings.listen else None
    mlflow_plan = mlflow_listen_plan(settings)
    try:
        policy = PolicyStore(settings.policy_path, default_location=settings.policy_default_location)
    except InvalidArgument as exc:
        raise StartupError(exc.message) from None
    with data_dir_lock(settings.data_dir):
        prepare_socket(settings.socket)
        registry = open_registry(settings, policy)
        registry.start()
        watcher = build_watcher(settings, registry)
        services = build_services(registry, watcher)
        health_servicer = services.health
        servers = [build_server(services)]
        servers[0].add_insecure_port(f"unix://{settings.socket}")
        served = f"unix://{settings.socket}"
        if credentials is not None:
            servers.append(build_server(services, MAX_REMOTE_MESSAGE_BYTES))
            try:
                served += f" and {add_tcp_port(servers[1], settings.listen, credentials)} (TLS)"
            except StartupError:
                await close_registry(registry)
                raise
        mlflow_endpoint = None
        if mlflow_plan is not None:
            try:
                mlflow_endpoint, url = await start_mlflow(mlflow_plan, registry, settings)
            except StartupError:
                await close_registry(registry)
                raise
            served += f" and MLflow REST on {url}"
        for server in servers:
            await server.start()
        os.chmod(settings.socket, 0o600)
        serving, starting = health_pb2.HealthCheckResponse.SERVING, health_pb2.HealthCheckResponse.UNKNOWN
        for name in ("", *SERVICE_NAMES):
            # Drop-in watching says SERVING once its roots are watched (its first report, at the
            # end of `start`), not before: a folder made meanwhile would be met by the first
            # watch rather than by the observer, and a client could not tell.
            await health_servicer.set(name, starting if watcher is not None and name == DROP_SERVICE else serving)
        if watcher is not None:
            watcher.on_health = functools.partial(set_drop_health, health_servicer)
            await watcher.start()
        log.info("studbook daemon serving %s (data in %s, catalog %s)", served, settings.data_dir,
                 registry.catalog.location)  # fmt: skip
        if (credentials or mlflow_plan) is not None and not registry.access.list_tokens(show_revoked=False):
            # Every TCP or HTTP call needs a token, so until one exists the ports refuse everyone.
            log.warning("no token exists yet, so every call over TCP is refused; create one with "
                        "`studbook token create --name NAME --role ROLE` on this machine")  # fmt: skip
        # What start-up built (modules, messages, the catalog's state) lives as long as the daemon:
        # frozen, the collector no longer walks it on every full collection. Single registrations
        # from 16 clients, 6 and 8 alternating runs: 931 -> 967/s and 871 -> 893/s, 2.5-5% less
        # CPU a version.
        gc.freeze()
        print(f"studbook daemon ready on {served}", file=sys.stderr, flush=True)
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stopping.set)
        try:
            await stopping.wait()
        finally:
            log.info("shutting down")
            await health_servicer.enter_graceful_shutdown()
            await asyncio.gather(*(server.stop(SHUTDOWN_GRACE_SECONDS) for server in servers))
            if watcher is not None:
                await watcher.stop()
            if mlflow_endpoint is not None:
                await mlflow_endpoint.stop()
            await close_registry(registry)
            try:
                settings.socket.unlink()
            except FileNotFoundError:
                pass


async def close_registry(registry: Registry) -> None:
    """Stops what `registry.start()` started, then closes the catalog: also when a start is
    refused after it. Closed under a hook's leadership task that was still reading, the catalog
    made that task fail, and its error was printed with a traceback as the daemon exited."""
    await registry.hooks.stop()
    registry.close()


def main(settings: Settings) -> int:
    # Everything the daemon creates is its own: DuckDB makes its files 0666 minus the umask
    # and takes no mode, and the catalog holds the whole record and the token hashes.
    os.umask(0o077)
    make_pandas_probes_cheap()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        # uvloop: the same asyncio, its loop in C. Every call's callbacks, futures and tasks pass
        # through the loop; on a bare grpc server it took a tenth to a quarter less CPU a call
        # (measured here), and the daemon's event loop is the thread every call waits for.
        uvloop.run(serve(settings))
    except StartupError as exc:
        print(f"studbook: {exc}", file=sys.stderr)
        return 1
    return 0
