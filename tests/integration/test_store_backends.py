"""Every read and typed write of the store interface, on each backend: what one writes, the
other reads back the same, whichever backend holds the catalog (the `store` fixture gives a
DuckDB file, then a PostgreSQL database)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from studbook.daemon.domain.access import Role, Token
from studbook.daemon.domain.format_info import FormatInfo
from studbook.daemon.domain.model import (
    ArtifactFile,
    Dataset,
    Event,
    Metric,
    Model,
    ModelVersion,
    ParentLink,
    Promotion,
    PromotionState,
    StageChange,
    VersionStatus,
)
from studbook.daemon.store.interface import Store, StoreTransaction
from studbook.daemon.store.records import DropFileRow, DropRow
from studbook.daemon.store.retention import RetentionRule
from support.stores import write

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def version(model: str, number: int, **fields: object) -> ModelVersion:
    sha = f"{number:064x}"
    defaults: dict[str, object] = {
        "semver": f"1.{number}.0", "create_time": T0 + timedelta(days=number), "revision": number,
        "files": [ArtifactFile("model.onnx", 10 * number, sha, "onnx", ("main",),
                               FormatInfo(format="onnx", parameters=1200, dtypes=("F32",)))],
        "total_size": 10 * number, "file_count": 1, "format": "onnx", "kept": True,
        "tags": {"team": "risk", "b": "2", "a": "1"}, "params": {"lr": "0.1"},
        "datasets": [Dataset("transactions", "2026-01")], "content_digest": f"digest-{number}",
        "format_info": FormatInfo(format="onnx", parameters=1200, dtypes=("F32",)),
    }  # fmt: skip
    defaults.update(fields)
    defaults.setdefault("update_time", defaults["create_time"])
    return ModelVersion(model=model, number=number, **defaults)  # type: ignore[arg-type]


@pytest.fixture
def filled(store: Store) -> Store:
    """Two models; fraud has three versions (3 derived from 2), churn one."""

    def operation(tx: StoreTransaction) -> None:
        for name in ("fraud", "churn"):
            tx.insert_model(Model(name=name, owner="ana", create_time=T0, update_time=T0), f"req-{name}")
        for number in (1, 2, 3):
            parents = [ParentLink("fraud", 2)] if number == 3 else []
            tx.insert_version(version("fraud", number, parents=parents))
        tx.insert_version(version("churn", 1))
        tx.insert_lineage([("datasets/transactions@2026-01", "dataset", "transactions@2026-01", "{}")],
                          [("datasets/transactions@2026-01", "models/fraud/versions/1", "trained_on"),
                           ("models/fraud/versions/2", "models/fraud/versions/3", "derived_from")])  # fmt: skip

    write(store, operation)
    return store


def test_a_version_reads_back_whole_by_key_in_lists_and_inside_a_transaction(filled: Store) -> None:
    expected = version("fraud", 2)

    found = filled.get_version("fraud", 2)
    listed = filled.list_versions(None, [], model="fraud", show_archived=False, limit=10, summary_only=False)
    seen_in_tx: list[ModelVersion] = []
    write(filled, lambda tx: seen_in_tx.extend(tx.get_versions([("fraud", 2), ("churn", 1), ("nope", 1)])))

    assert found == expected
    assert [(v.model, v.number) for v in listed.items] == [("fraud", 3), ("fraud", 2), ("fraud", 1)]
    assert listed.items[1] == expected and listed.total == 3
    assert [(v.model, v.number) for v in seen_in_tx] == [("fraud", 2), ("churn", 1)]
    assert seen_in_tx[0] == expected


def test_versions_of_one_group_each_read_back_whole_whichever_fields_they_leave_empty(store: Store) -> None:
    # Written together, rows that set a field and rows that leave it at its column's default;
    # values a default could be mistaken for (an empty text, zero, false) set on purpose.
    bare = ModelVersion(model="fraud", number=1, semver="1.0.0", create_time=T0, update_time=T0, revision=1)
    full = version("fraud", 2, description="two", status_reason="", kept=False, total_size=0, file_count=0)
    kept = version("fraud", 3, kept=True, description="", tags={}, params={}, files=[], total_size=7)
    later = version("fraud", 4, model_card="# card", storage_uri="s3://b/4")
    write(store, lambda tx: [tx.insert_version(v) for v in (bare, full, kept)])
    write(store, lambda tx: tx.insert_version(later))
    write(store, lambda tx: tx.insert_version(replace(bare, number=5, semver="1.5.0", revision=5)))

    found = [store.get_version("fraud", n) for n in (1, 2, 3, 4, 5)]

    assert found == [bare, full, kept, later, replace(bare, number=5, semver="1.5.0", revision=5)]


def test_models_load_with_their_counts_holders_and_request_ids(filled: Store) -> None:
    write(filled, lambda tx: tx.set_holder("fraud", "production", False, 2))

    models = {m.name: m for m in filled.load_models()}

    assert (models["fraud"].version_count, models["fraud"].latest_version) == (3, 3)
    assert models["fraud"].stage_holders == {"production": 2}
    created: list[str | None] = []
    write(filled, lambda tx: created.extend(tx.model_created_by(r) for r in ("req-fraud", "req-churn", "req-none")))
    assert created == ["fraud", "churn", None]
    facts: list[list[tuple[int, str, str, str, str]]] = []
    write(filled, lambda tx: facts.extend([tx.version_facts("fraud"), tx.version_facts("churn")]))
    assert [[row[0] for row in rows] for rows in facts] == [[1, 2, 3], [1]]
    assert filled.list_models(None, [], show_archived=False, limit=10).items == ["churn", "fraud"]


def test_models_load_by_name_with_their_own_counts_and_holders_only(filled: Store) -> None:
    write(filled, lambda tx: tx.set_holder("fraud", "production", False, 2))

    only = filled.load_models(["fraud", "gone"])
    none = filled.load_models([])

    assert [(m.name, m.version_count, m.latest_version, m.stage_holders) for m in only] == [
        ("fraud", 3, 3, {"production": 2})
    ]
    assert none == []


def test_models_that_share_tags_load_and_copy_with_tags_and_holders_of_their_own(store: Store) -> None:
    def operation(tx: StoreTransaction) -> None:
        for name in ("a", "b"):
            tx.insert_model(Model(name=name, tags={"team": "risk"}, create_time=T0, update_time=T0), "")

    write(store, operation)
    loaded = {m.name: m for m in store.load_models()}
    loaded["a"].tags["team"] = "ads"
    copied = loaded["b"].copy()
    copied.tags["team"], copied.stage_holders["production"], copied.aliases["champion"] = "fraud", 1, 1

    assert (loaded["b"].tags, loaded["b"].stage_holders, loaded["b"].aliases) == ({"team": "risk"}, {}, {})
    assert [m.tags for m in store.load_models()] == [{"team": "risk"}, {"team": "risk"}]
    assert (copied.name, copied.tags) == ("b", {"team": "fraud"})


def test_updates_and_deletes_of_models_and_versions(filled: Store) -> None:
    changed = version("fraud", 1, description="better", tags={"team": "ads"}, status=VersionStatus.FAILED,
                      status_reason="broken", revision=9)  # fmt: skip

    def operation(tx: StoreTransaction) -> None:
        tx.update_version_fields(changed)
        tx.set_version_storage_uri("fraud", 1, "file:///elsewhere")
        tx.update_model(Model(name="churn", description="gone soon", create_time=T0, update_time=T0, revision=5))
        tx.delete_model("churn")

    write(filled, operation)

    found = filled.get_version("fraud", 1)
    assert found is not None
    assert (found.description, found.tags, found.status, found.revision) == ("better", {"team": "ads"},
                                                                             VersionStatus.FAILED, 9)  # fmt: skip
    assert found.storage_uri == "file:///elsewhere"
    assert [m.name for m in filled.load_models()] == ["fraud"]
    assert filled.get_version("churn", 1) is None


def test_metrics_append_their_series_and_replace_the_summary(filled: Store) -> None:
    first = [Metric("auc", 0.8, 1, "val", T0), Metric("auc", 0.9, 2, "val", T0)]
    later = [Metric("auc", 0.95, 3, "val", T0)]

    def operation(tx: StoreTransaction) -> None:
        tx.insert_metrics("fraud", 1, first, [first[-1]], replace_summary=False)
        tx.insert_metrics("fraud", 1, later, later, replace_summary=True)
        tx.set_version_metrics("fraud", 1, later)

    write(filled, operation)

    assert [m.value for m in filled.metric_series("fraud", 1, "auc", "val")] == [0.8, 0.9, 0.95]
    found = filled.get_version("fraud", 1)
    assert found is not None and found.metrics == later
    assert filled.query("SELECT value FROM metric_summary WHERE model = ? AND number = ?", ["fraud", 1]) == [(0.95,)]


def test_stages_promotions_and_their_history(filled: Store) -> None:
    pending = Promotion(7, "fraud", 2, "production", False, PromotionState.PENDING_APPROVAL, None, "why", "ana",
                        request_id="req-7", create_time=T0, update_time=T0, required_approvals=2)  # fmt: skip

    def operation(tx: StoreTransaction) -> None:
        tx.insert_promotion(pending)
        pending.state = PromotionState.APPROVED
        tx.update_promotion(pending)
        for revision, number, previous in ((10, 1, None), (11, 2, 1)):
            tx.set_holder("fraud", "production", False, number)
            tx.insert_stage_change(StageChange("fraud", "production", False, number, previous, "ana", "", T0
                                               + timedelta(hours=revision), 7, False, revision))  # fmt: skip

    write(filled, operation)
    previous: list[int | None] = []
    write(filled, lambda tx: previous.append(tx.previous_holder("fraud", "production", 2)))

    found = filled.get_promotion("fraud", 7)
    assert found is not None and found.state is PromotionState.APPROVED and found.required_approvals == 2
    assert [p.id for p in filled.list_promotions("fraud", "approved", 10, None)] == [7]
    assert filled.max_promotion_id() == 7
    requested: list[Promotion | None] = []
    write(filled, lambda tx: requested.extend(tx.promotion_requested_by(m, "req-7") for m in ("fraud", "churn")))
    assert [p.id if p else None for p in requested] == [7, None]
    assert [c.revision for c in filled.stage_history("fraud", "production", 10, None)] == [11, 10]
    assert filled.holders_at("fraud", T0 + timedelta(hours=10, minutes=30)) == {"production": 1}
    assert filled.holders_at("fraud", T0 + timedelta(hours=12)) == {"production": 2}
    assert previous == [1]


def test_the_event_log_its_chain_and_each_events_before(store: Store) -> None:
    events = [Event(r, T0 + timedelta(seconds=r), "t", subject, "", "ana", b"\x00\xff", "admin")
              for r, subject in ((1, "models/a"), (2, "models/b"), (3, "models/a"))]  # fmt: skip

    def operation(tx: StoreTransaction) -> None:
        for event in events:
            tx.insert_event(event, "")
        tx.set_chain_hashes([(1, "h1"), (2, "h2"), (3, "h3")])

    write(store, operation)

    assert store.events_after(1, 10) == events[1:]
    assert store.chained_events_after(0, 2) == [(events[0], "h1"), (events[1], "h2")]
    assert store.chain_head() == "h3"
    assert (store.min_revision(), store.max_revision()) == (1, 3)
    assert [(e.revision, before.revision if before else None) for e, _, before in store.audit_records_after(0, 10)] == [
        (1, None), (2, None), (3, 1)
    ]  # fmt: skip


def test_lineage_edges_and_labels(filled: Store) -> None:
    assert filled.lineage_edges(["models/fraud/versions/1"], True) == [
        ("datasets/transactions@2026-01", "models/fraud/versions/1", "trained_on")
    ]
    assert filled.lineage_edges(["models/fraud/versions/2"], False) == [
        ("models/fraud/versions/2", "models/fraud/versions/3", "derived_from")
    ]
    assert filled.lineage_edges([], False) == []
    assert filled.lineage_labels(["datasets/transactions@2026-01"]) == {
        "datasets/transactions@2026-01": ("dataset", "transactions@2026-01")
    }
    assert filled.version_labels([("fraud", 1), ("churn", 1)]) == {("fraud", 1): "1.1.0", ("churn", 1): "1.1.0"}


def test_tokens_are_created_found_by_name_and_revoked(store: Store) -> None:
    token = Token("t1", "ci", Role.CONTRIBUTOR, "hash", T0, "admin", T0 + timedelta(days=1))
    taken: list[bool] = []

    def operation(tx: StoreTransaction) -> None:
        tx.insert_token(token)
        taken.extend([tx.token_name_taken("ci"), tx.token_name_taken("other")])
        tx.revoke_token("t1", T0 + timedelta(hours=1), "admin")

    write(store, operation)

    (loaded,) = store.load_tokens()
    assert taken == [True, False]
    assert (loaded.role, loaded.expire_time, loaded.revoke_time) == (Role.CONTRIBUTOR, T0 + timedelta(days=1),
                                                                     T0 + timedelta(hours=1))  # fmt: skip


def test_drops_are_replaced_kept_and_deleted(store: Store) -> None:
    drop = DropRow("/r", "m/v1", "m", 1, "registered", "d", "", "", '{"k": "v"}', "fp", 1, 2, T0)
    files = [DropFileRow("/r", "m/v1", "a.onnx", 3, "s", 4, 5, 6)]
    write(store, lambda tx: tx.put_drop(drop, files))
    write(store, lambda tx: tx.put_drop(drop._replace(state="modified"), None))  # keeps the files
    write(store, lambda tx: tx.put_drop(DropRow("/r", "m/v2", "m", None, "quarantined", "", "BAD", "bad", "{}",
                                                "", 0, 0, T0), []))  # fmt: skip

    drops, kept = store.load_drops()

    assert [(d.path, d.state) for d in drops] == [("m/v1", "modified"), ("m/v2", "quarantined")]
    assert kept == files
    write(store, lambda tx: tx.delete_drop("/r", "m/v1"))
    assert [d.path for d in store.load_drops()[0]] == ["m/v2"] and store.load_drops()[1] == []


def test_the_artifact_store_checks_see_the_kept_versions_and_their_blobs(filled: Store) -> None:
    corrupt = version("fraud", 2, status=VersionStatus.CORRUPT, status_reason="bad bytes", revision=20)
    write(filled, lambda tx: tx.set_version_statuses([corrupt]))

    scope = filled.kept_scope("fraud", None)
    blobs = filled.stored_blobs()

    assert scope.versions == 3 and scope.corrupt == [("fraud", 2)] and scope.skipped_count == 0
    assert [sha for sha, _ in scope.blobs] == [f"{n:064x}" for n in (1, 2, 3)]
    assert [(b.sha256, b.known_bad) for b in blobs] == [(f"{1:064x}", False), (f"{2:064x}", True),
                                                       (f"{3:064x}", False)]  # fmt: skip
    assert filled.files_with_blobs([f"{2:064x}"]) == [("fraud", 2, "model.onnx", f"{2:064x}")]
    found = filled.get_version("fraud", 2)
    assert found is not None and (found.status, found.revision) == (VersionStatus.CORRUPT, 20)


def test_retention_finds_what_is_beyond_keep_last_and_what_protects_it(filled: Store) -> None:
    rules = [RetentionRule("fraud", 1, T0 + timedelta(days=30), True)]

    facts = {(f.model, f.number): f for f in filled.retention_facts(rules)}

    assert set(facts) == {("fraud", 1), ("fraud", 2)}
    assert facts[("fraud", 2)].parent_of_kept == "models/fraud/versions/3"
    assert facts[("fraud", 1)].due and not facts[("fraud", 1)].parent_of_kept
    assert filled.max_vid() >= 4


def test_archiving_and_purging_rewrite_and_remove_versions(filled: Store) -> None:
    rules = [RetentionRule("fraud", 1, T0 + timedelta(days=30), True)]
    decided: list[set[tuple[str, int]]] = []
    purged: list[list[str]] = []

    def operation(tx: StoreTransaction) -> None:
        decided.append(tx.still_decided([("fraud", 1)], [], rules, filled.max_vid()))
        tx.archive_versions([("churn", 1)], [30], ["old"], T0)
        purged.append(tx.purge_versions([("fraud", 1)]))

    write(filled, operation)

    assert decided == [{("fraud", 1)}]
    assert purged == [[f"{1:064x}"]]
    assert filled.get_version("fraud", 1) is None
    archived = filled.get_version("churn", 1)
    assert archived is not None and archived.status is VersionStatus.ARCHIVED
    # churn/1's file is the same blob as fraud/1's; blob 9 no version ever had.
    unreferenced = filled.unreferenced_blobs([(f"{n:064x}", 10, 0.0) for n in (1, 2, 9)])
    assert [b.sha256 for b in unreferenced] == [f"{9:064x}"]


def test_a_rename_moves_every_row_keyed_by_the_model_and_the_parents_naming_it(filled: Store) -> None:
    def promote(tx: StoreTransaction) -> None:
        tx.set_holder("fraud", "production", False, 2)
        tx.insert_stage_change(StageChange("fraud", "production", False, 2, None, "ana", "", T0, None, False, 4))
        tx.insert_metrics("fraud", 2, [Metric("auc", 0.9, time=T0)], [Metric("auc", 0.9, time=T0)], True)
        tx.insert_version(version("churn", 2, parents=[ParentLink("fraud", 3)], revision=5))

    write(filled, promote)
    changed: list[tuple[str, int]] = []
    write(filled, lambda tx: changed.extend(tx.rename_model("fraud", "fraud-v2", 9)))

    assert sorted(changed) == [("churn", 2), ("fraud-v2", 3)]
    assert [m.name for m in filled.load_models(["fraud", "fraud-v2"])] == ["fraud-v2"]
    assert [v.parents for v in filled.get_versions([("fraud-v2", 3), ("churn", 2)])] == [
        [ParentLink("fraud-v2", 2)], [ParentLink("fraud-v2", 3)]]  # fmt: skip
    assert [v.revision for v in filled.get_versions([("churn", 2), ("churn", 1)])] == [9, 1]
    assert [c.version for c in filled.stage_history("fraud-v2", "production", 10, None)] == [2]
    assert filled.metric_series("fraud-v2", 2, "auc", "")[0].value == 0.9
    edges = {(s, t) for s, t, _ in filled.lineage_edges(["models/fraud-v2/versions/1", "models/fraud-v2/versions/3"],
                                                       upstream=True)}  # fmt: skip
    assert edges == {("datasets/transactions@2026-01", "models/fraud-v2/versions/1"),
                     ("models/fraud-v2/versions/2", "models/fraud-v2/versions/3")}  # fmt: skip
    for table in ("versions", "files", "metrics", "metric_summary", "stage_holders", "stage_history"):
        assert filled.query(f"SELECT count(*) FROM {table} WHERE model = 'fraud'") == [(0,)], table
    if filled.dialect.is_postgres:
        # The tag index, derived by triggers, follows the versions' new key.
        assert filled.query("SELECT DISTINCT model FROM version_tags ORDER BY model") == [("churn",), ("fraud-v2",)]


def test_a_rename_between_a_clustering_build_and_its_swap_leaves_no_row_under_the_old_name(tmp_path) -> None:
    from studbook.daemon.store import cluster
    from studbook.daemon.store.catalog import Catalog

    catalog = Catalog(tmp_path / "catalog.duckdb")

    def fill(tx: StoreTransaction) -> None:
        for name in ("fraud", "churn"):
            tx.insert_model(Model(name=name, create_time=T0, update_time=T0), "")
            tx.insert_version(version(name, 1))
            tx.insert_metrics(name, 1, [Metric("auc", 0.9, time=T0)], [Metric("auc", 0.9, time=T0)], True)
            tx.insert_event(Event(1 if name == "fraud" else 2, T0, "model.created", f"models/{name}", name, "ana",
                                  b"", "admin"), "h")  # fmt: skip

    write(catalog, fill)
    built = catalog.build_clustered_metrics()

    def rename(tx: StoreTransaction) -> None:
        tx.insert_event(Event(3, T0, "model.renamed", "models/fraud", "fraud-v2", "ana", b"", "admin"), "h")
        tx.rename_model("fraud", "fraud-v2", 3)

    write(catalog, rename)
    write(catalog, lambda tx: cluster.swap(tx, built, unchanged=False))

    rows = catalog.query("SELECT model, count(*) FROM metric_summary GROUP BY model ORDER BY model")
    catalog.close()
    assert rows == [("churn", 1), ("fraud-v2", 1)]
