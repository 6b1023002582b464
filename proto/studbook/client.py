"""The Python client of the registry: `from studbook.client import Client`."""

from __future__ import annotations

from studbook.tui.client import AsyncClient, Client, StudbookError

__all__ = ["AsyncClient", "Client", "StudbookError"]
