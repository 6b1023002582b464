"""Plain-HTTP calls to a daemon's MLflow endpoint, as MLflow's REST clients make them."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from conftest import Daemon, start_daemon  # type: ignore[import-not-found]
from studbook.v1 import access_pb2, access_pb2_grpc

from support.net import free_port

ROLES = ("viewer", "contributor", "maintainer", "approver", "admin")


@dataclass
class Answer:
    status: int
    body: Any
    raw: bytes = b""

    @property
    def error_code(self) -> str:
        return str(self.body.get("error_code", "")) if isinstance(self.body, dict) else ""


def create_token(channel: grpc.Channel, name: str, role: str) -> str:
    reply = access_pb2_grpc.AccessServiceStub(channel).CreateToken(
        access_pb2.CreateTokenRequest(display_name=name, role=access_pb2.Role.Value(f"ROLE_{role.upper()}"))
    )
    return str(reply.secret)


@dataclass
class MlflowHttp:
    """One MLflow endpoint and a token per role; calls go as `as_role` unless told otherwise."""

    base: str
    tokens: dict[str, str] = field(default_factory=dict)
    as_role: str = "admin"

    def call(self, method: str, path: str, body: dict[str, Any] | None = None, *, query: Any = None,
             role: str | None = None, token: str | None = None, data: bytes | None = None) -> Answer:  # fmt: skip
        url = self.base + path
        if query is not None:
            url += "?" + urllib.parse.urlencode(query, doseq=True)
        headers = {}
        secret = token if token is not None else self.tokens.get(role or self.as_role, "")
        if secret:
            headers["Authorization"] = f"Bearer {secret}"
        payload = data
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(url, data=payload, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return _answer(response.status, response.read())
        except urllib.error.HTTPError as error:
            return _answer(error.code, error.read())

    def get(self, endpoint: str, role: str | None = None, **query: Any) -> Answer:
        return self.call("GET", f"/api/2.0/mlflow/{endpoint}", query=query, role=role)

    def post(self, endpoint: str, role: str | None = None, **body: Any) -> Answer:
        return self.call("POST", f"/api/2.0/mlflow/{endpoint}", body, role=role)

    def patch(self, endpoint: str, role: str | None = None, **body: Any) -> Answer:
        return self.call("PATCH", f"/api/2.0/mlflow/{endpoint}", body, role=role)

    def delete(self, endpoint: str, role: str | None = None, **body: Any) -> Answer:
        return self.call("DELETE", f"/api/2.0/mlflow/{endpoint}", body, role=role)

    def ok(self, method: str, endpoint: str, **params: Any) -> Any:
        """The body of a call that must succeed."""
        answer = {"GET": self.get, "POST": self.post, "PATCH": self.patch, "DELETE": self.delete}[method](
            endpoint, **params
        )
        assert answer.status == 200, (answer.status, answer.body)
        return answer.body


def _answer(status: int, raw: bytes) -> Answer:
    try:
        body = json.loads(raw) if raw else {}
    except ValueError:
        body = None
    return Answer(status, body, raw)


def start_with_mlflow(root: Path, *extra: str) -> tuple[Daemon, MlflowHttp]:
    """A daemon in `root` serving the MLflow endpoint on a free loopback port; a token per role."""
    port = free_port()
    daemon = start_daemon(root / "data", root / "s.sock", "--mlflow-listen", f"127.0.0.1:{port}", *extra)
    with daemon.channel() as channel:
        tokens = {role: create_token(channel, f"mlflow-{role}", role) for role in ROLES}
    return daemon, MlflowHttp(f"http://127.0.0.1:{port}", tokens)
