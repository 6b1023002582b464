"""A purged version takes its production feedback with it, on each backend (the `store` fixture
gives a DuckDB file, then a PostgreSQL database): its production points, its input windows with
their bins and drift, and the monitor state last checked on it go in the purge's transaction;
the other versions' stay, and so does the stage history that says the version once held a stage."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from studbook.daemon.domain.drift import histogram
from studbook.daemon.domain.model import Model, ModelVersion, StageChange
from studbook.daemon.domain.monitors import MonitorStatus
from studbook.daemon.domain.production import StoredPoint
from studbook.daemon.store.drift import StoredWindow
from studbook.daemon.store.interface import Store, StoreTransaction
from support.stores import write

T0 = datetime(2026, 1, 1, tzinfo=UTC)
AGE = [0.0, 18.0, 120.0]


def feedback(tx: StoreTransaction, model: str, number: int, stage: str, hour: int) -> None:
    """What serving reported about one version: two points, an input window against its
    reference, and the state of the stage's monitor as last checked on it."""
    end = T0 + timedelta(hours=hour)
    tx.insert_production_points(model, stage, 100 + hour, [StoredPoint(number, "auc", "", end, 0.9),
                                                           StoredPoint(number, "auc", "eu", end, 0.8)])  # fmt: skip
    tx.insert_reference_statistics(model, number, [histogram("age", AGE, [5, 5])])
    tx.insert_input_window(StoredWindow(0, model, stage, number, end, "", 0, 0, "", 100 + hour, []),
                           [histogram("age", AGE, [9, 1])], "", end)  # fmt: skip
    tx.put_monitor_state(MonitorStatus(model, stage, number, True, end, 100 + hour, (), None, "", end))


def seeded(store: Store) -> None:
    """fraud 1 then 2 held production (2 holds it now), 3 holds staging; churn 1 holds production."""

    def operation(tx: StoreTransaction) -> None:
        for name in ("fraud", "churn"):
            tx.insert_model(Model(name=name, owner="ana", create_time=T0, update_time=T0), f"req-{name}")
        for model, number in (("fraud", 1), ("fraud", 2), ("fraud", 3), ("churn", 1)):
            tx.insert_version(ModelVersion(model=model, number=number, semver=f"1.{number}.0", create_time=T0,
                                           update_time=T0, revision=number))  # fmt: skip
        for revision, (model, stage, number, previous) in enumerate(
            [("fraud", "production", 1, None), ("fraud", "production", 2, 1), ("fraud", "staging", 3, None),
             ("churn", "production", 1, None)], start=10):  # fmt: skip
            tx.insert_stage_change(StageChange(model, stage, False, number, previous, "ana", "", T0, None, False,
                                               revision))  # fmt: skip
        feedback(tx, "fraud", 1, "production", 1)
        feedback(tx, "fraud", 2, "production", 2)
        feedback(tx, "fraud", 3, "staging", 3)
        feedback(tx, "churn", 1, "production", 4)
        # The production state was last checked on v2; an older row for canary still names v1.
        tx.put_monitor_state(MonitorStatus("fraud", "canary", 1, False, None, 0, (), None, "", T0))

    write(store, operation)


def counts(store: Store) -> dict[str, list[tuple[str, int, int]]]:
    """Per table, (model, version, rows) for every version with rows there."""
    per_window = ("SELECT w.model, w.number, count(*) FROM {} t JOIN input_windows w ON w.id = t.window_id "
                  "GROUP BY w.model, w.number")  # fmt: skip
    statements = {
        "production_points": "SELECT model, number, count(*) FROM production_points GROUP BY model, number",
        "input_windows": "SELECT model, number, count(*) FROM input_windows GROUP BY model, number",
        "input_bins": per_window.format("input_bins"),
        "input_drift": per_window.format("input_drift"),
        "monitor_states": "SELECT model, number, count(*) FROM monitor_states GROUP BY model, number",
    }
    found = {name: sorted((m, int(n), int(c)) for m, n, c in store.query(sql)) for name, sql in statements.items()}
    # Orphans: bins or drift whose window is gone would escape the join above.
    found["orphans"] = [("", 0, int(c)) for (c,) in store.query(
        "SELECT count(*) FROM (SELECT window_id FROM input_bins UNION ALL SELECT window_id FROM input_drift) t "
        "WHERE window_id NOT IN (SELECT id FROM input_windows)") if c]  # fmt: skip
    return found


def test_a_purge_removes_the_versions_production_feedback_and_keeps_the_others(store: Store) -> None:
    seeded(store)
    before = counts(store)

    write(store, lambda tx: tx.purge_versions([("fraud", 1), ("fraud", 3)]))

    after = counts(store)
    gone = {("fraud", 1), ("fraud", 3)}
    for table, rows in before.items():
        assert after[table] == [r for r in rows if (r[0], r[1]) not in gone], table
    assert before["production_points"] == [("churn", 1, 2), ("fraud", 1, 2), ("fraud", 2, 2), ("fraud", 3, 2)]
    assert before["input_bins"] and before["input_drift"] and after["orphans"] == []
    # What the reads show: the purged versions' record is gone, the holder's is whole.
    assert {p.number for p in store.production_points("fraud", "production")} == {2}
    assert store.production_points("fraud", "staging") == []
    assert [w.number for w in store.input_windows("fraud", "production", number=None, since=None, until=None,
                                                  segment=None, limit=10)] == [2]  # fmt: skip
    assert [(s.model, s.stage, s.number) for s in store.monitor_states("", False)] == [
        ("churn", "production", 1), ("fraud", "production", 2)]  # fmt: skip
    # The record of what was stays: v1 held production before v2.
    assert [c.version for c in store.stage_changes("fraud", "production")] == [1, 2]


def test_purging_nothing_or_versions_without_feedback_leaves_the_feedback(store: Store) -> None:
    seeded(store)
    before = counts(store)

    write(store, lambda tx: tx.purge_versions([]))
    write(store, lambda tx: tx.purge_versions([("fraud", 9), ("nobody", 1)]))

    assert counts(store) == before
