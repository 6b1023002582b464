"""A registry opened and closed without ever serving (a start refused after the catalog was
opened, such as a data dir the daemon cannot make private) closes cleanly and leaves its
catalog to the next start."""

from __future__ import annotations

from pathlib import Path

from studbook.daemon.app.registry import Registry
from studbook.daemon.server import encode_payload


def test_a_registry_that_never_started_closes_and_opens_again(tmp_path: Path) -> None:
    catalog = tmp_path / "data" / "catalog.duckdb"
    catalog.parent.mkdir()

    Registry(catalog, encode_payload).close()

    again = Registry(catalog, encode_payload)
    assert again.core.state.revision == 0
    again.close()
