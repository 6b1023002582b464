"""The store's production reads and writes on each backend (the `store` fixture gives a DuckDB
file, then a PostgreSQL database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from studbook.daemon.app.tenures import Holders, build_tenures
from studbook.daemon.domain.model import Model, StageChange
from studbook.daemon.store.interface import Store, StoreTransaction
from support.stores import write

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def hours(n: float) -> datetime:
    return T0 + timedelta(hours=n)


def promote(tx: StoreTransaction, revision: int, label: str, number: int | None, hour: float,
            rollback: bool = False) -> None:  # fmt: skip
    tx.insert_stage_change(StageChange("fraud", label, False, number, None, "ana", "", hours(hour), revision,
                                       rollback, revision))  # fmt: skip


def test_a_stages_changes_read_oldest_first_and_agree_with_holders_at(store: Store) -> None:
    def operation(tx: StoreTransaction) -> None:
        tx.insert_model(Model(name="fraud", owner="ana", create_time=T0, update_time=T0), "")
        promote(tx, 10, "production", 1, 1)
        promote(tx, 11, "staging", 2, 2)
        promote(tx, 12, "production", 2, 3)
        promote(tx, 13, "production", 1, 5, rollback=True)

    write(store, operation)
    inside: list[list[StageChange]] = []
    write(store, lambda tx: inside.append(tx.stage_changes("fraud", "production")))

    changes = store.stage_changes("fraud", "production")
    assert [c.revision for c in changes] == [10, 12, 13]
    assert inside == [changes]
    holders = Holders(build_tenures(changes))
    assert [(t.number, t.rollback, t.promotion_id) for t in holders.tenures] == [(1, False, 10), (2, False, 12),
                                                                                 (1, True, 13)]  # fmt: skip
    for hour in (0, 1, 2, 2.5, 3, 4.99, 5, 9):
        expected = store.holders_at("fraud", hours(hour)).get("production")
        assert holders.at([hours(hour)]) == [expected]
    assert store.stage_changes("fraud", "canary") == []


def test_a_logged_request_is_found_in_its_own_transaction_before_and_after_a_flush(store: Store) -> None:
    from studbook.daemon.domain.production import StoredPoint
    from studbook.daemon.store.production import LoggedRequest

    logged = LoggedRequest("production", 3, [[1, 2], [2, 1]], 41)
    found: list[object] = []

    def operation(tx: StoreTransaction) -> None:
        found.append(tx.logged_production_request("fraud", "r-1"))
        tx.insert_production_request("fraud", "r-1", logged, T0)
        # Still buffered: the look-up sees it without writing it out.
        found.append(tx.logged_production_request("fraud", "r-1"))
        found.append(tx.logged_production_request("churn", "r-1"))
        tx.insert_production_points("fraud", "production", 41, [StoredPoint(1, "auc", "", T0, 0.9)])

    write(store, operation)
    write(store, lambda tx: found.append(tx.logged_production_request("fraud", "r-1")))

    assert found == [None, logged, None, logged]
    assert [(p.number, p.key, p.value) for p in store.production_points("fraud", "production")] == [(1, "auc", 0.9)]


def test_points_read_by_stage_narrowed_and_limited_and_go_with_their_model(store: Store) -> None:
    from studbook.daemon.domain.production import StoredPoint

    def operation(tx: StoreTransaction) -> None:
        tx.insert_model(Model(name="fraud", owner="ana", create_time=T0, update_time=T0), "")
        tx.insert_production_points("fraud", "production", 7, [
            StoredPoint(number, key, segment, hours(hour), hour)
            for number, key, segment, hour in ((1, "auc", "", 1), (1, "auc", "eu", 2), (2, "auc", "", 3),
                                               (2, "latency", "", 4), (2, "auc", "", 5))
        ])  # fmt: skip
        tx.insert_production_points("fraud", "staging", 8, [StoredPoint(3, "auc", "", hours(1), 9.0)])

    write(store, operation)

    def values(**query: object) -> list[float]:
        return [p.value for p in store.production_points("fraud", "production", **query)]  # type: ignore[arg-type]

    assert values() == [1, 2, 3, 5, 4]  # by version, key, segment, then time
    assert values(keys=["auc"], segment="") == [1, 3, 5]
    assert values(since=hours(2), until=hours(5)) == [2, 3, 4]
    assert values(number=2, keys=["latency", "auc"]) == [3, 5, 4]
    assert values(limit=2) == [1, 2]
    write(store, lambda tx: tx.delete_model("fraud"))
    assert values() == [] and store.production_points("fraud", "staging") == []


@given(st.lists(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)),
                min_size=1, max_size=5))  # fmt: skip
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_a_points_time_reads_back_to_the_microsecond(store: Store, ends: list[datetime]) -> None:
    """Points are read with their times as whole microseconds since 1970, on both backends."""
    from studbook.daemon.domain.production import StoredPoint

    write(store, lambda tx: tx.execute("DELETE FROM production_points"))
    write(store, lambda tx: tx.insert_production_points(
        "fraud", "production", 9, [StoredPoint(1, "auc", "", end, 0.5) for end in ends]))  # fmt: skip

    found = sorted(p.end_us for p in store.production_points("fraud", "production"))

    assert found == sorted((end - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1) for end in ends)
