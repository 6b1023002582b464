"""The transport's floor for registration: a bare grpc.aio server that answers
RegisterModelVersion with the version it was sent, with no checks, no store and no
interceptor. Driven as the daemon is (16 clients over a unix socket), it shows what gRPC in
Python alone allows on this machine, and the CPU a call costs it. Its methods are served as
the daemon's are (one MethodTable), so the floor stays the cheapest way to answer.

`python -m tests.bench.grpc_floor SOCKET` serves until it is stopped.
"""

from __future__ import annotations

import asyncio
import functools
import subprocess
import sys
import time
from pathlib import Path

import grpc
from studbook.daemon.service.methods import MethodTable
from studbook.v1 import registry_pb2, registry_pb2_grpc


class _Echo(registry_pb2_grpc.VersionServiceServicer):
    async def RegisterModelVersion(  # noqa: N802
        self, request: registry_pb2.RegisterModelVersionRequest, context: grpc.aio.ServicerContext
    ) -> registry_pb2.RegisterModelVersionResponse:
        return registry_pb2.RegisterModelVersionResponse(version=request.version, created=True)


async def _serve(socket: Path) -> None:
    server = grpc.aio.server()
    table = MethodTable([functools.partial(registry_pb2_grpc.add_VersionServiceServicer_to_server, _Echo())])
    server.add_generic_rpc_handlers((table,))
    server.add_insecure_port(f"unix://{socket}")
    await server.start()
    await server.wait_for_termination()


def start(socket: Path) -> subprocess.Popen[bytes]:
    """The floor server on `socket`, once it listens; stop it by its pid."""
    process = subprocess.Popen([sys.executable, "-m", "tests.bench.grpc_floor", str(socket)])
    deadline = time.monotonic() + 30
    while not socket.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("the bare gRPC server did not start")
        time.sleep(0.05)
    return process


if __name__ == "__main__":
    asyncio.run(_serve(Path(sys.argv[1])))
