"""`studbook` opens the UI at once when a daemon's socket takes connections, and checks fully otherwise."""

from __future__ import annotations

import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from studbook.cli import launcher


@pytest.fixture
def folder() -> Iterator[Path]:
    # A short path: a unix socket's path must fit in about 100 bytes.
    with tempfile.TemporaryDirectory(prefix="sb-") as name:
        yield Path(name)


def test_a_socket_that_listens_accepts_connections(folder: Path) -> None:
    path = folder / "d.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(str(path))
        server.listen(1)
        assert launcher.accepts_connections(f"unix://{path}")
        assert launcher.accepts_connections(str(path))


def test_a_socket_file_left_by_a_daemon_that_is_gone_does_not(folder: Path) -> None:
    path = folder / "d.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(str(path))  # bound, never listening: what a crashed daemon leaves behind
    assert path.exists()
    assert not launcher.accepts_connections(f"unix://{path}")


def test_no_socket_file_does_not(folder: Path) -> None:
    assert not launcher.accepts_connections(f"unix://{folder / 'missing.sock'}")


def test_a_tcp_address_is_left_to_the_full_check() -> None:
    # Over TCP the TLS handshake must be checked before the UI opens; a connect proves nothing.
    assert not launcher.accepts_connections("localhost:1")
