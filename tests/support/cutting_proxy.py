"""A TCP proxy in front of a test PostgreSQL server that cuts a connection at a COMMIT.

Armed, it takes the next COMMIT a client sends and either drops the connection before the
server sees it (`before`), or passes it on, waits for the server's answer and drops the
connection instead of passing that on (`after`): a commit that landed although its client never
heard so, as when a network or a server's host fails at that moment.
"""

from __future__ import annotations

import socket
import threading
from typing import Literal


class CuttingProxy:
    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.mode: Literal["before", "after"] | None = None
        self.cut = threading.Event()
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, dbname: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def arm(self, mode: Literal["before", "after"]) -> None:
        self.cut.clear()
        self.mode = mode

    def close(self) -> None:
        self.listener.close()
        with self._lock:
            for sock in self._sockets:
                _close(sock)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.target_port))
            with self._lock:
                self._sockets += [client, server]
            state = {"drop_answer": False}
            threading.Thread(target=self._upstream, args=(client, server, state), daemon=True).start()
            threading.Thread(target=self._downstream, args=(server, client, state), daemon=True).start()

    def _upstream(self, client: socket.socket, server: socket.socket, state: dict[str, bool]) -> None:
        while data := _receive(client):
            if self.mode is not None and b"COMMIT" in data:
                mode, self.mode = self.mode, None
                if mode == "before":
                    self._cut(client, server)
                    return
                state["drop_answer"] = True
            try:
                server.sendall(data)
            except OSError:
                return
        _close(server)

    def _downstream(self, server: socket.socket, client: socket.socket, state: dict[str, bool]) -> None:
        while data := _receive(server):
            if state["drop_answer"]:
                self._cut(client, server)
                return
            try:
                client.sendall(data)
            except OSError:
                return
        _close(client)

    def _cut(self, client: socket.socket, server: socket.socket) -> None:
        _close(client)
        _close(server)
        self.cut.set()


def _receive(sock: socket.socket) -> bytes:
    try:
        return sock.recv(65536)
    except OSError:
        return b""


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
