"""Hooks and their deliveries in the store, on each backend (the `store` fixture gives a DuckDB
file, then a PostgreSQL database): what is written reads back the same."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from studbook.daemon.domain.hooks import Delivery, Hook
from studbook.daemon.store.interface import Store, StoreTransaction
from support.stores import write

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def hook(id_: str, name: str, **fields: object) -> Hook:
    return replace(Hook(id_, name, f"http://127.0.0.1:9/{name}", ("version.registered", "promotion.*"), "fraud-*",
                        "s" * 32, T0, "admin"), **fields)  # type: ignore[arg-type]  # fmt: skip


def test_hooks_are_added_progressed_and_removed(store: Store) -> None:
    taken: list[bool] = []

    def add(tx: StoreTransaction) -> None:
        tx.insert_hook(hook("h1", "ci"))
        tx.insert_hook(hook("h2", "chat", create_time=T0 + timedelta(seconds=1)))
        taken.extend([tx.hook_name_taken("ci"), tx.hook_name_taken("other")])

    write(store, add)
    write(store, lambda tx: tx.set_hook_progress(hook("h1", "ci", cursor=41, failures=3, paused=True,
                                                      pause_reason="20 failures")))  # fmt: skip

    first, second = store.load_hooks()
    assert taken == [True, False]
    assert first == hook("h1", "ci", cursor=41, failures=3, paused=True, pause_reason="20 failures")
    assert second.name == "chat" and second.events == ("version.registered", "promotion.*")
    write(store, lambda tx: tx.delete_hook("h1"))
    assert [h.name for h in store.load_hooks()] == ["chat"]


def test_deliveries_read_newest_first_per_hook_and_go_with_their_hook(store: Store) -> None:
    deliveries = [Delivery("h1", revision, "version.created", attempt, code, 1.5, error,
                           T0 + timedelta(seconds=revision * 10 + attempt))
                  for revision, attempt, code, error in ((1, 1, 503, "Service Unavailable"), (1, 2, 200, ""),
                                                         (2, 1, 0, "connection refused"))]  # fmt: skip

    def add(tx: StoreTransaction) -> None:
        tx.insert_hook(hook("h1", "ci"))
        tx.insert_hook(hook("h2", "other"))
        for delivery in deliveries:
            tx.insert_delivery(delivery)
        tx.insert_delivery(replace(deliveries[0], hook_id="h2"))

    write(store, add)

    assert store.hook_deliveries("h1", 10) == deliveries[::-1]
    assert store.hook_deliveries("h1", 1) == [deliveries[2]]
    write(store, lambda tx: tx.delete_hook("h1"))
    assert store.hook_deliveries("h1", 10) == [] and len(store.hook_deliveries("h2", 10)) == 1


def test_pruning_keeps_a_hooks_newest_deliveries_only(store: Store) -> None:
    def add(tx: StoreTransaction) -> None:
        for hook_id in ("h1", "h2"):
            for n in range(5):
                tx.insert_delivery(Delivery(hook_id, n, "version.created", 1, 200, 1.0, "", T0 + timedelta(seconds=n)))

    write(store, add)
    write(store, lambda tx: tx.prune_deliveries("h1", 2))
    write(store, lambda tx: tx.prune_deliveries("h2", 10))

    assert [d.revision for d in store.hook_deliveries("h1", 10)] == [4, 3]
    assert len(store.hook_deliveries("h2", 10)) == 5
