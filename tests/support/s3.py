"""A real S3-compatible server for tests and the bench: moto's server mode in its own process.

`start_moto` runs it on a free loopback port and waits until it answers; `stop_moto` ends it by
its pid. `MotoServer.create_bucket` gives a fresh bucket with the AWS_* settings a store or a
daemon process needs to reach it. Moto accepts any credentials until `require_credentials`
turns its IAM checks on.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .net import free_port
from .waiting import wait_for

REGION = "us-east-1"
# Moto checks none of these until `require_credentials`; they only have to be well-formed.
ANY_KEY_ID = "AKIASTUDBOOKTESTING0"
ANY_SECRET = "studbook-testing-secret"
STARTUP_TIMEOUT = 60.0


@dataclass
class MotoServer:
    """A moto S3 server process on a loopback port."""

    process: subprocess.Popen[bytes]
    endpoint: str
    log: Path

    def env(self, key_id: str = ANY_KEY_ID, secret: str = ANY_SECRET) -> dict[str, str]:
        """The AWS_* settings that point an S3 client (a store, a daemon process) at this server."""
        return {"AWS_ACCESS_KEY_ID": key_id, "AWS_SECRET_ACCESS_KEY": secret, "AWS_REGION": REGION,
                "AWS_ENDPOINT_URL": self.endpoint}  # fmt: skip

    def client(self, service: str = "s3") -> Any:
        """A boto3 client of this server (boto3 comes with moto), for what a store never does."""
        import boto3

        return boto3.client(service, endpoint_url=self.endpoint, region_name=REGION,
                            aws_access_key_id=ANY_KEY_ID, aws_secret_access_key=ANY_SECRET)  # fmt: skip

    def create_bucket(self, name: str = "") -> S3Bucket:
        bucket = S3Bucket(self, name or f"sb-{uuid.uuid4().hex[:16]}")
        self.client().create_bucket(Bucket=bucket.name)
        return bucket

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    @contextmanager
    def require_credentials(self) -> Iterator[dict[str, str]]:
        """Turns moto's IAM checks on for the block and yields the env of a user allowed every S3
        action; any other key or secret is refused. Everything on this server is checked meanwhile."""
        iam = self.client("iam")
        user = f"sb-{uuid.uuid4().hex[:12]}"
        iam.create_user(UserName=user)
        policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
        iam.put_user_policy(UserName=user, PolicyName="s3", PolicyDocument=json.dumps(policy))
        key = iam.create_access_key(UserName=user)["AccessKey"]
        self._set_auth_after("0")
        try:
            yield self.env(key["AccessKeyId"], key["SecretAccessKey"])
        finally:
            self._set_auth_after("inf")

    def _set_auth_after(self, requests: str) -> None:
        """Moto enforces IAM after this many more requests ("inf": never)."""
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset-auth", data=requests.encode(),
                                         method="POST", headers={"Content-Type": "text/plain"})  # fmt: skip
        with urllib.request.urlopen(request, timeout=10) as answer:
            answer.read()


@dataclass
class S3Bucket:
    """A bucket on a moto server."""

    server: MotoServer
    name: str

    @property
    def endpoint(self) -> str:
        return self.server.endpoint

    @property
    def env(self) -> dict[str, str]:
        """The AWS_* settings that reach this bucket; pass them to a daemon process's environment."""
        return self.server.env()

    def url(self, prefix: str = "") -> str:
        """The `--artifact-store` URL of `prefix` in this bucket."""
        return f"s3://{self.name}/{prefix}" if prefix else f"s3://{self.name}"

    def keys(self) -> list[str]:
        """Every key in the bucket, as the server lists them."""
        pages = self.server.client().get_paginator("list_objects_v2").paginate(Bucket=self.name)
        return [item["Key"] for page in pages for item in page.get("Contents", [])]

    def head(self, key: str) -> dict[str, Any]:
        """The server's HEAD of `key` (ETag, ContentLength ...)."""
        return dict(self.server.client().head_object(Bucket=self.name, Key=key))


def start_moto(folder: Path) -> MotoServer:
    """Starts moto's S3 server on a free loopback port; returns once it answers."""
    folder.mkdir(parents=True, exist_ok=True)
    env = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    for attempt in range(3):  # the free port may be taken between the probe and moto's bind
        port = free_port()
        log = folder / f"moto-{port}.log"
        with open(log, "wb") as output:
            process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                                       stdout=output, stderr=subprocess.STDOUT, env=env)  # fmt: skip
        server = MotoServer(process, f"http://127.0.0.1:{port}", log)
        try:
            wait_for(lambda: _answers(server), f"moto on port {port}", timeout=STARTUP_TIMEOUT)
            return server
        except AssertionError:
            stop_moto(server)
            if attempt == 2:
                raise AssertionError(f"moto did not start:\n{server.output()[-2000:]}") from None
    raise AssertionError("unreachable")


def stop_moto(server: MotoServer) -> None:
    """Ends the server by its pid: SIGTERM, then SIGKILL if it lingers."""
    if server.process.poll() is None:
        os.kill(server.process.pid, signal.SIGTERM)
        try:
            server.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(server.process.pid, signal.SIGKILL)
            server.process.wait(timeout=10)


def _answers(server: MotoServer) -> bool:
    if server.process.poll() is not None:
        raise AssertionError(f"moto exited with {server.process.returncode}")
    try:
        with urllib.request.urlopen(f"{server.endpoint}/moto-api/data.json", timeout=2) as answer:
            return bool(answer.status == 200)
    except (urllib.error.URLError, ConnectionError, OSError):
        return False
