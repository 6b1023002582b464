"""Retention's set-wise queries give the same answers on DuckDB and PostgreSQL, for any catalog:
random versions, lineage, stage holders and their history, pending promotions and rules, written
through the typed writes into one catalog of each backend and read back side by side."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from studbook.daemon.domain.model import (
    ArtifactFile,
    Model,
    ModelVersion,
    ParentLink,
    Promotion,
    PromotionState,
    StageChange,
    VersionStatus,
)
from studbook.daemon.store.catalog import Catalog
from studbook.daemon.store.interface import Store, StoreTransaction
from studbook.daemon.store.retention import RetentionRule
from support.stores import write

T0 = datetime(2026, 1, 1, tzinfo=UTC)
MODELS = ("a", "b")
TABLES = ("versions", "files", "models", "lineage_edges", "stage_holders", "stage_history", "promotions")


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[list[Store]]:
    """A DuckDB catalog and a PostgreSQL one for the module; each example replaces their rows."""
    from support.postgres import TEMPLATE, open_catalog

    server = request.getfixturevalue("postgres_server")
    database = server.create_database(template=TEMPLATE)
    stores: list[Store] = [Catalog(tmp_path_factory.mktemp("retention") / "c.duckdb"), open_catalog(database.url)]
    yield stores
    for store in stores:
        store.close()
    server.drop_database(database.name)


version_key = st.tuples(st.sampled_from(MODELS), st.integers(1, 6))
catalogs = st.fixed_dictionaries(
    {
        "counts": st.fixed_dictionaries({m: st.integers(0, 6) for m in MODELS}),
        # (model, number, archived, days ago it changed)
        "archived": st.lists(st.tuples(version_key, st.integers(0, 20)), max_size=6),
        # parent -> child, through lineage_edges or the child's own parent links
        "edges": st.lists(st.tuples(version_key, version_key, st.booleans()), max_size=6),
        "holders": st.lists(st.tuples(version_key, st.sampled_from(["production", "staging"])), max_size=3),
        # (model, label, number, previous number)
        "history": st.lists(st.tuples(version_key, st.none() | st.integers(1, 6)), max_size=3),
        "pending": st.lists(st.tuples(version_key, st.sampled_from(["pending_approval", "approved", "rejected"])),
                            max_size=3),
        "rules": st.lists(st.tuples(st.sampled_from(MODELS), st.integers(0, 3), st.integers(0, 20), st.booleans()),
                          max_size=2, unique_by=lambda rule: rule[0]),
    }
)  # fmt: skip


def fill(store: Store, catalog: dict[str, Any]) -> None:
    counts: dict[str, int] = catalog["counts"]
    exists = {(m, n) for m, count in counts.items() for n in range(1, count + 1)}
    archived = {key: days for key, days in catalog["archived"] if key in exists}
    parents: dict[tuple[str, int], list[ParentLink]] = {}
    edges = []
    for parent, child, as_link in catalog["edges"]:
        if parent in exists and child in exists and parent != child:
            if as_link:
                parents.setdefault(child, []).append(ParentLink(*parent))
            else:
                edges.append((f"models/{parent[0]}/versions/{parent[1]}", f"models/{child[0]}/versions/{child[1]}",
                              "derived_from"))  # fmt: skip

    def operation(tx: StoreTransaction) -> None:
        for table in TABLES:
            tx.execute(f"DELETE FROM {table}")
        for model in MODELS:
            tx.insert_model(Model(name=model, create_time=T0, update_time=T0), "")
        for model, number in sorted(exists):
            days = archived.get((model, number))
            changed = T0 - timedelta(days=days) if days is not None else T0
            tx.insert_version(ModelVersion(
                model=model, number=number, semver=f"1.{number}.0", create_time=T0, update_time=changed, kept=True,
                status=VersionStatus.ARCHIVED if days is not None else VersionStatus.READY,
                parents=parents.get((model, number), []),
                files=[ArtifactFile("f", 1, f"{number % 3:064x}")],
            ))  # fmt: skip
        tx.insert_lineage([], edges)
        for (model, number), label in catalog["holders"]:
            if (model, number) in exists:
                tx.set_holder(model, label, False, number)
        for revision, ((model, number), previous) in enumerate(catalog["history"], 1):
            tx.insert_stage_change(StageChange(model, "production", False, number, previous, "x", "", T0, None, False,
                                               revision))  # fmt: skip
        for index, ((model, number), state) in enumerate(catalog["pending"], 1):
            tx.insert_promotion(Promotion(index, model, number, "production", False, PromotionState(state),
                                          create_time=T0, update_time=T0))  # fmt: skip

    write(store, operation)


def facts(store: Store, rules: list[RetentionRule]) -> list[tuple[object, ...]]:
    # vid is each catalog's own row handle (their sequences differ): left out.
    return [fact._replace(vid=0) for fact in store.retention_facts(rules)]


@settings(max_examples=80, deadline=None)
@given(catalog=catalogs)
def test_retention_facts_recheck_and_unreferenced_blobs_agree_between_backends(
    both: list[Store], catalog: dict[str, Any]
) -> None:
    rules = [RetentionRule(model, keep, T0 - timedelta(days=days), at_once)
             for model, keep, days, at_once in catalog["rules"]]  # fmt: skip
    for store in both:
        fill(store, catalog)

    found = [facts(store, rules) for store in both]
    assert found[0] == found[1]

    due = [(f.model, f.number) for f in found[0] if f.due]
    rest = [(f.model, f.number) for f in found[0] if not f.due]
    rechecked = []
    for store in both:
        tx = store.transaction()
        tx.begin()
        rechecked.append(tx.still_decided(due, rest, rules, store.max_vid()))
        tx.rollback()
    assert rechecked[0] == rechecked[1]

    stored = [(f"{n:064x}", 1, 0.0) for n in range(4)]
    unreferenced = [store.unreferenced_blobs(stored, due) for store in both]
    assert unreferenced[0] == unreferenced[1]
