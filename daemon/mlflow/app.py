"""The HTTP side of the MLflow endpoint: aiohttp on the daemon's own event loop, the routes, who
may call them (the same tokens and roles as gRPC), and every refusal in MLflow's error JSON.

Imported only when `--mlflow-listen` is given: aiohttp stays out of a daemon that serves gRPC alone.
"""

from __future__ import annotations

import json
import logging
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web
from studbook.daemon.app.path_uploads import PathUploads
from studbook.daemon.app.registry import Registry
from studbook.daemon.domain.access import TCP, Caller, check_method
from studbook.daemon.domain.errors import PermissionDenied, RegistryError, Unauthenticated
from studbook.daemon.mlflow import artifacts
from studbook.daemon.mlflow.errors import MlflowError, from_registry
from studbook.daemon.mlflow.handlers import ROUTES, Call, Route
from studbook.daemon.mlflow.params import Params

log = logging.getLogger("studbook.daemon.mlflow")

# The most a JSON request may hold; artifact uploads stream and are bounded by the file limit.
MAX_JSON_BYTES = 4 * 1024 * 1024
SHUTDOWN_GRACE_SECONDS = 5.0
AUTHORIZATION = "Authorization"


def _error_response(error: MlflowError) -> web.Response:
    return web.json_response(error.body(), status=error.status)


def _audit_name(method: str, path: str) -> str:
    """How the audit trail names an MLflow call: `POST mlflow/registered-models/create`."""
    return f"{method} {path.removeprefix('/api/2.0/').removeprefix('/ajax-api/2.0/').removeprefix('/')}"


class Gate:
    """Admits a request's caller by bearer token and role, recording every refusal, as the
    gRPC AccessInterceptor does. HTTP reaches beyond this user, so every call needs a token."""

    def __init__(self, registry: Registry) -> None:
        self.access = registry.access

    async def admit(self, request: web.Request, method_key: str, audit_name: str) -> Caller:
        caller: Caller | None = None
        try:
            caller = self.access.identify(TCP, request.headers.get(AUTHORIZATION), "")
            check_method(caller, method_key)
        except (Unauthenticated, PermissionDenied) as error:
            await self.record(request, caller, audit_name, error)
            if error.reason == "TOKEN_MISSING":
                # Said the way an MLflow user sets it.
                raise Unauthenticated(
                    "calls to the MLflow endpoint need a token: set MLFLOW_TRACKING_TOKEN (sent as `Authorization: "
                    "Bearer <token>`) to one made with `studbook token create --name NAME --role ROLE`",
                    reason="TOKEN_MISSING",
                ) from None
            raise
        request["caller"] = caller
        return caller

    async def record(self, request: web.Request, caller: Caller | None, audit_name: str,
                     error: RegistryError) -> None:  # fmt: skip
        code = "UNAUTHENTICATED" if isinstance(error, Unauthenticated) else "PERMISSION_DENIED"
        await self.access.record_denial(caller, TCP, audit_name, code, error, request.remote or "")


async def read_params(request: web.Request) -> Params:
    """MLflow's clients send a GET's parameters in the query string, the others' as a JSON body."""
    if request.method == "GET" or not request.can_read_body:
        return Params.from_query(list(request.query.items()))
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise MlflowError("MALFORMED_REQUEST", f"the request body is larger than {MAX_JSON_BYTES} bytes") from None
    if not raw.strip():
        return Params.from_query(list(request.query.items()))
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MlflowError("MALFORMED_REQUEST", f"the request body is not valid JSON: {exc}") from None
    return Params.from_json(body)


def _json_handler(registry: Registry, uploads: PathUploads, gate: Gate,
                  route: Route) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:  # fmt: skip
    audit_name = _audit_name(route.method, route.path)

    async def handle(request: web.Request) -> web.StreamResponse:
        # Admitted before the body is read: a caller without a token makes the daemon hold nothing.
        caller = await gate.admit(request, route.access, audit_name)
        params = await read_params(request)
        return web.json_response(await route.handler(registry, Call(caller, params, uploads)))

    return handle


def _middleware(gate: Gate) -> Any:
    @web.middleware
    async def answer_in_mlflow_terms(request: web.Request,
                                     handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:  # fmt: skip
        try:
            return await handler(request)
        except MlflowError as error:
            return _error_response(error)
        except RegistryError as error:
            caller = request.get("caller")
            if caller is not None and isinstance(error, (Unauthenticated, PermissionDenied)):
                # A refusal the use case made itself (production needs an approver): recorded too.
                await gate.record(request, caller, _audit_name(request.method, request.path), error)
            return _error_response(from_registry(error))
        except web.HTTPMethodNotAllowed:
            return _error_response(MlflowError("ENDPOINT_NOT_FOUND", f"{request.method} is not served at "
                                               f"{request.path[:200]}", 405))  # fmt: skip
        except web.HTTPNotFound:
            return _error_response(MlflowError("ENDPOINT_NOT_FOUND", f"no MLflow endpoint at {request.path[:200]}; "
                                               "this server speaks MLflow's Model Registry API under "
                                               "/api/2.0/mlflow/ and its artifact proxy under "
                                               "/api/2.0/mlflow-artifacts/"))  # fmt: skip
        except web.HTTPException:
            raise
        except Exception:  # noqa: BLE001 - one request must never take the daemon down
            log.exception("MLflow endpoint: unexpected error on %s %s", request.method, request.path[:200])
            return _error_response(MlflowError("INTERNAL_ERROR", "internal error; the daemon log has the details"))

    return answer_in_mlflow_terms


async def _health(request: web.Request) -> web.Response:
    # Open, as gRPC's health check is: it says "up" and nothing else.
    return web.Response(text="OK")


def build_app(registry: Registry, uploads: PathUploads) -> web.Application:
    gate = Gate(registry)
    app = web.Application(client_max_size=MAX_JSON_BYTES, middlewares=[_middleware(gate)])
    for route in ROUTES:
        app.router.add_route(route.method, route.path, _json_handler(registry, uploads, gate, route))
    # MLflow's clients also reach these under /ajax-api/ (its web UI's prefix).
    for route in ROUTES:
        app.router.add_route(route.method, route.path.replace("/api/", "/ajax-api/", 1),
                             _json_handler(registry, uploads, gate, route))  # fmt: skip
    artifacts.add_routes(app, registry, gate.admit, uploads)
    app.router.add_get("/health", _health)
    return app


class MlflowEndpoint:
    """The running endpoint: started on the daemon's loop, stopped with the daemon."""

    def __init__(self, registry: Registry, uploads_root: Path) -> None:
        uploads = PathUploads(uploads_root, registry.blobs, registry.versions.scan_limits)
        # A stopping daemon gives requests in flight as long as it gives gRPC calls.
        self.runner = web.AppRunner(build_app(registry, uploads), access_log=None, handle_signals=False,
                                    shutdown_timeout=SHUTDOWN_GRACE_SECONDS)  # fmt: skip

    async def start(self, host: str, port: int, tls: ssl.SSLContext | None) -> str:
        """Listens on host:port; returns the URL it serves (port 0 becomes the port chosen)."""
        await self.runner.setup()
        site = web.TCPSite(self.runner, host, port, ssl_context=tls, reuse_address=False)
        await site.start()
        bound = self.runner.addresses[0]
        shown = f"[{host}]" if ":" in host else host
        return f"{'https' if tls else 'http'}://{shown}:{bound[1]}"

    async def stop(self) -> None:
        await self.runner.cleanup()
