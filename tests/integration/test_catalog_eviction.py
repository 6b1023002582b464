"""A DuckDB catalog hands the table blocks its queries cached back once it has been idle, and
no query, write or copy fails for it (store/eviction.py)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from bench.seed import seed_catalog
from studbook.daemon.store.catalog import Catalog
from support.waiting import wait_for

SEARCH = "SELECT count(*), max(value), round(sum(value), 6) FROM metric_summary WHERE key = 'auc' AND value > 0.5"
CACHED = "SELECT coalesce(sum(memory_usage_bytes), 0) FROM duckdb_memory() WHERE tag = 'BASE_TABLE'"


@pytest.fixture
def seeded(tmp_path: Path) -> Path:
    path = tmp_path / "catalog.duckdb"
    # 200k metric rows: several blocks of each column a metric search reads.
    seed_catalog(path, models=20, versions_per_model=1_000, metrics_per_version=10)
    return path


def cached_bytes(catalog: Catalog) -> int:
    return int(catalog.query(CACHED)[0][0])


def idle_then_cached(catalog: Catalog) -> int:
    # Asking is a query too, and restarts the idle spell: ask only after one could have passed.
    threading.Event().wait(0.4)
    return cached_bytes(catalog)


def test_an_idle_catalog_hands_back_the_blocks_its_searches_read(seeded: Path) -> None:
    catalog = Catalog(seeded, evict_after_s=0.2)
    try:
        answer = catalog.query(SEARCH)
        cached = cached_bytes(catalog)
        assert cached > 1_000_000
        # A few blocks of the catalog's own metadata stay pinned.
        wait_for(lambda: idle_then_cached(catalog) <= cached // 4 or None, "the cached blocks to be handed back")
        assert catalog.query(SEARCH) == answer
    finally:
        catalog.close()


def test_without_an_idle_limit_the_blocks_stay_cached(seeded: Path) -> None:
    catalog = Catalog(seeded, evict_after_s=None)
    try:
        catalog.query(SEARCH)
        cached = cached_bytes(catalog)
        threading.Event().wait(0.5)
        assert cached > 1_000_000
        assert cached_bytes(catalog) == cached
    finally:
        catalog.close()


def test_reads_writes_and_copies_racing_evictions_never_fail(seeded: Path, tmp_path: Path) -> None:
    # Evicting whenever nothing has run for a millisecond: a query that ran while the memory
    # limit was lowered would fail for want of memory.
    catalog = Catalog(seeded, evict_after_s=0.001)
    failures: list[BaseException] = []

    def pause(index: int) -> None:
        # Now and then a moment when nothing runs, so that evictions happen between the operations.
        threading.Event().wait(0.005 * (index % 3))

    expected = catalog.query(SEARCH)

    def read() -> None:
        try:
            for index in range(40):
                pause(index)
                assert catalog.query(SEARCH) == expected
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    def write() -> None:
        try:
            for index in range(40):
                pause(index)
                tx = catalog.transaction()
                tx.begin()
                tx.execute("INSERT INTO meta VALUES (?, 'x') ON CONFLICT DO UPDATE SET value = 'y'", [f"probe-{index}"])
                tx.commit()
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    try:
        threads = [threading.Thread(target=read), threading.Thread(target=read), threading.Thread(target=write)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert failures == []
        assert len(catalog.query("SELECT key FROM meta WHERE key LIKE 'probe-%'")) == 40
        assert catalog._eviction is not None and catalog._eviction.evictions > 0
        # A copy holds evictions off while it runs, and reads beside it go on.
        reader = threading.Thread(target=read)
        reader.start()
        snapshot = catalog.snapshot_into(tmp_path / "copy.duckdb")
        reader.join()
        assert failures == []
        assert snapshot.versions == 20_000
    finally:
        catalog.close()


def test_no_eviction_runs_while_a_transaction_is_open(seeded: Path) -> None:
    catalog = Catalog(seeded, evict_after_s=0.05)
    assert catalog._eviction is not None
    try:
        catalog.query(SEARCH)
        wait_for(lambda: catalog._eviction is not None and catalog._eviction.evictions > 0 or None, "an eviction")
        tx = catalog.transaction()
        tx.begin()
        tx.execute("INSERT INTO meta VALUES ('open', 'x')")
        before = catalog._eviction.evictions
        catalog.query(SEARCH)  # a read beside the transaction ends, and the catalog looks idle but is not
        threading.Event().wait(0.5)  # ten idle limits
        assert catalog._eviction.evictions == before
        tx.commit()
        wait_for(lambda: catalog._eviction is not None and catalog._eviction.evictions > before or None,
                 "an eviction once the transaction ended")  # fmt: skip
        assert catalog.query("SELECT value FROM meta WHERE key = 'open'") == [("x",)]
    finally:
        catalog.close()
