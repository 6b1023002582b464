"""Writing straight to a store in tests: one transaction, rolled back if the operation fails."""

from __future__ import annotations

from collections.abc import Callable

from studbook.daemon.store.interface import Store, StoreTransaction


def write(store: Store, operation: Callable[[StoreTransaction], object]) -> None:
    tx = store.transaction()
    tx.begin()
    try:
        operation(tx)
    except BaseException:
        tx.rollback()
        raise
    tx.commit()
