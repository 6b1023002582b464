"""Wiring: the data-dir lock, the socket, the gRPC server with health and reflection, shutdown."""

from __future__ import annotations

import asyncio
import fcntl
import functools
import ipaddress
import logging
import os
import signal
import socket
import sys
from contextlib import contextmanager
from collections.abc import Iterator
from pathlib import Path

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from studbook.daemon.app.policy import PolicyStore
from studbook.daemon.app.registry import Registry
from studbook.daemon.config import MAX_MESSAGE_BYTES, Settings
from studbook.daemon.domain.errors import InvalidArgument
from studbook.daemon.service.audit import AuditServicer
from studbook.daemon.service.convert import encode_payload
from studbook.daemon.store.catalog import make_pandas_probes_cheap
from studbook.daemon.service.drops import DropServicer
from studbook.daemon.service.events import EventServicer
from studbook.daemon.service.servicers import LineageServicer, ModelServicer, StageServicer, VersionServicer
from studbook.daemon.watch.watcher import DropWatcher, WatchSettings
from studbook.v1 import (
    audit_pb2,
    audit_pb2_grpc,
    drops_pb2,
    drops_pb2_grpc,
    events_pb2,
    events_pb2_grpc,
    lineage_pb2,
    lineage_pb2_grpc,
    registry_pb2,
    registry_pb2_grpc,
    stages_pb2,
    stages_pb2_grpc,
)

log = logging.getLogger("studbook.daemon")

SERVICE_NAMES = (
    registry_pb2.DESCRIPTOR.services_by_name["ModelService"].full_name,
    registry_pb2.DESCRIPTOR.services_by_name["VersionService"].full_name,
    lineage_pb2.DESCRIPTOR.services_by_name["LineageService"].full_name,
    stages_pb2.DESCRIPTOR.services_by_name["StageService"].full_name,
    events_pb2.DESCRIPTOR.services_by_name["EventService"].full_name,
    drops_pb2.DESCRIPTOR.services_by_name["DropService"].full_name,
    audit_pb2.DESCRIPTOR.services_by_name["AuditService"].full_name,
)
# Its health entry turns NOT_SERVING while drop-in watching is degraded.
DROP_SERVICE = drops_pb2.DESCRIPTOR.services_by_name["DropService"].full_name
SHUTDOWN_GRACE_SECONDS = 5.0


class StartupError(Exception):
    """The daemon cannot start; the message says why and what to do."""


@contextmanager
def data_dir_lock(data_dir: Path) -> Iterator[None]:
    """Holds an exclusive lock on the data dir: one daemon per catalog."""
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    lock_path = data_dir / "daemon.lock"
    handle = open(lock_path, "a+")  # noqa: SIM115 - held for the daemon's lifetime
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


def check_listen(address: str) -> None:
    host = address.rsplit(":", 1)[0].strip("[]")
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise StartupError(
            f"refusing to listen on {address}: plain TCP is allowed on loopback only until TLS and "
            "tokens are configured"
        )


def build_server(registry: Registry, watcher: DropWatcher | None = None) -> tuple[grpc.aio.Server, health.aio.HealthServicer]:
    server = grpc.aio.server(
        options=[
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            ("grpc.so_reuseport", 0),
        ]
    )
    registry_pb2_grpc.add_ModelServiceServicer_to_server(ModelServicer(registry), server)
    registry_pb2_grpc.add_VersionServiceServicer_to_server(VersionServicer(registry), server)
    lineage_pb2_grpc.add_LineageServiceServicer_to_server(LineageServicer(registry), server)
    stages_pb2_grpc.add_StageServiceServicer_to_server(StageServicer(registry), server)
    events_pb2_grpc.add_EventServiceServicer_to_server(EventServicer(registry), server)
    audit_pb2_grpc.add_AuditServiceServicer_to_server(AuditServicer(registry), server)
    drops_pb2_grpc.add_DropServiceServicer_to_server(DropServicer(registry, watcher), server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (*SERVICE_NAMES, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME),
        server,
    )
    return server, health_servicer


def build_watcher(settings: Settings, registry: Registry) -> DropWatcher | None:
    """The drop-in watcher for `--watch` roots, or None when none are given."""
    if not settings.watch_roots:
        return None
    watch = WatchSettings(settings.watch_roots, poll=settings.watch_poll, quiet_seconds=settings.quiet_seconds,
                          reconcile_seconds=settings.reconcile_seconds, scan_limits=settings.scan_limits)  # fmt: skip
    try:
        return DropWatcher(registry, watch)
    except InvalidArgument as exc:
        raise StartupError(exc.message) from None


async def set_drop_health(health_servicer: health.aio.HealthServicer, healthy: bool) -> None:
    serving = health_pb2.HealthCheckResponse.SERVING if healthy else health_pb2.HealthCheckResponse.NOT_SERVING
    await health_servicer.set(DROP_SERVICE, serving)


async def serve(settings: Settings) -> None:
    if settings.listen:
        check_listen(settings.listen)
    try:
        policy = PolicyStore(settings.policy_path)
    except InvalidArgument as exc:
        raise StartupError(exc.message) from None
    with data_dir_lock(settings.data_dir):
        prepare_socket(settings.socket)
        registry = Registry(settings.catalog_path, encode_payload, cache_versions=settings.cache_versions,
                            scan_limits=settings.scan_limits, allowed_roots=settings.allowed_roots or None,
                            policy=policy)  # fmt: skip
        registry.start()
        watcher = build_watcher(settings, registry)
        server, health_servicer = build_server(registry, watcher)
        server.add_insecure_port(f"unix://{settings.socket}")
        if settings.listen and not server.add_insecure_port(settings.listen):
            raise StartupError(f"cannot listen on {settings.listen}")
        await server.start()
        os.chmod(settings.socket, 0o600)
        for name in ("", *SERVICE_NAMES):
            await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
        if watcher is not None:
            watcher.on_health = functools.partial(set_drop_health, health_servicer)
            await watcher.start()
        log.info("studbook daemon serving unix://%s (data in %s)", settings.socket, settings.data_dir)
        print(f"studbook daemon ready on unix://{settings.socket}", file=sys.stderr, flush=True)
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stopping.set)
        try:
            await stopping.wait()
        finally:
            log.info("shutting down")
            await health_servicer.enter_graceful_shutdown()
            await server.stop(SHUTDOWN_GRACE_SECONDS)
            if watcher is not None:
                await watcher.stop()
            registry.close()
            try:
                settings.socket.unlink()
            except FileNotFoundError:
                pass


def main(settings: Settings) -> int:
    make_pandas_probes_cheap()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        asyncio.run(serve(settings))
    except StartupError as exc:
        print(f"studbook: {exc}", file=sys.stderr)
        return 1
    return 0
