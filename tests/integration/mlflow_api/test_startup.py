"""Starting the MLflow endpoint: loopback over plain HTTP, anything else only with TLS, and a
start refused in one line when the address cannot be served."""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from conftest import start_daemon, stop_daemon  # type: ignore[import-not-found]
from support.certs import make_certificates
from support.mlflow_http import create_token
from support.net import free_port


def refused(short_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "studbook.daemon", "--data-dir", str(short_dir / "d"),
               "--socket", str(short_dir / "s.sock"), *args]  # fmt: skip
    started = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert started.returncode != 0
    assert "Traceback" not in started.stderr
    return started


def test_beyond_loopback_the_endpoint_needs_tls(short_dir: Path) -> None:
    started = refused(short_dir, "--mlflow-listen", f"0.0.0.0:{free_port()}")
    assert "--tls-cert FILE and --tls-key FILE" in started.stderr


@pytest.mark.parametrize("address", ["5000", "localhost:port", "127.0.0.1:70000"])
def test_a_malformed_address_is_refused(short_dir: Path, address: str) -> None:
    assert "HOST:PORT" in refused(short_dir, "--mlflow-listen", address).stderr


def test_a_taken_port_is_refused(short_dir: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = f"127.0.0.1:{taken.getsockname()[1]}"
        started = refused(short_dir, "--mlflow-listen", address)
    assert f"cannot listen on {address} for MLflow clients" in started.stderr


def test_with_a_certificate_the_endpoint_speaks_https(short_dir: Path, tmp_path: Path) -> None:
    tls = make_certificates(tmp_path / "tls")
    port = free_port()
    daemon = start_daemon(short_dir / "data", short_dir / "s.sock", "--mlflow-listen", f"127.0.0.1:{port}",
                          "--tls-cert", str(tls.cert), "--tls-key", str(tls.key))  # fmt: skip
    try:
        with daemon.channel() as channel:
            secret = create_token(channel, "https-reader", "viewer")
        request = urllib.request.Request(f"https://127.0.0.1:{port}/api/2.0/mlflow/registered-models/search",
                                         headers={"Authorization": f"Bearer {secret}"})  # fmt: skip
        context = ssl.create_default_context(cafile=str(tls.ca))
        with urllib.request.urlopen(request, context=context, timeout=30) as response:
            assert response.status == 200 and json.loads(response.read()) == {}
        assert f"MLflow REST on https://127.0.0.1:{port}" in daemon.output()
    finally:
        stop_daemon(daemon)
