"""The Python client of the registry that training scripts import: `from studbook.client import Client`.

It speaks gRPC only; importing it never imports Textual, the CLI or the daemon. The clients are
loaded on first use, so that the CLI can import `studbook.client.names` without paying for grpc.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from studbook.client.clients import AsyncClient, Client
    from studbook.client.errors import StudbookError

__all__ = ["AsyncClient", "Client", "StudbookError"]


def __getattr__(name: str) -> Any:
    if name in ("AsyncClient", "Client"):
        from studbook.client import clients

        return getattr(clients, name)
    if name == "StudbookError":
        from studbook.client.errors import StudbookError

        return StudbookError
    raise AttributeError(f"module 'studbook.client' has no attribute {name!r}")
