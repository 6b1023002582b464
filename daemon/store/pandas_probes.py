"""DuckDB looks pandas up on every bound parameter: the daemon makes that look-up instant.

A module of its own, apart from the DuckDB catalog, so that a daemon on PostgreSQL can call
it without importing DuckDB.
"""

from __future__ import annotations

import importlib.util
import sys


def make_pandas_probes_cheap() -> None:
    """DuckDB probes for pandas on every bound parameter; without pandas each probe is a
    full import-path scan. A None entry makes the miss instant (measured: ~2x per insert).

    For the daemon process only: other code in a shared process may look pandas up too.
    """
    if importlib.util.find_spec("pandas") is None:
        sys.modules["pandas"] = None  # type: ignore[assignment]
