"""The writer's rule, enforced: an operation refused after it wrote leaves nothing, and the
operations grouped with it commit as if each had run alone, in order (real DuckDB catalogs)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from studbook.daemon.domain.errors import AlreadyExists, FailedPrecondition, RegistryError
from studbook.daemon.domain.model import Model
from studbook.daemon.store.catalog import Catalog, Transaction, is_query
from studbook.daemon.store.writer import Writer

NOW = datetime(2026, 1, 1, tzinfo=UTC)
Operation = Callable[[Transaction], Any]


def add_model(name: str, description: str = "") -> Operation:
    def operation(tx: Transaction) -> str:
        tx.insert_model(Model(name=name, description=description, create_time=NOW, update_time=NOW), "")
        return name

    return operation


def refuse_after(write: Operation) -> Operation:
    """Writes, then refuses: the mistake the writer must not commit."""

    def operation(tx: Transaction) -> None:
        write(tx)
        raise FailedPrecondition("refused after writing", reason="LATE_REFUSAL")

    return operation


def describe_all(description: str) -> Operation:
    def operation(tx: Transaction) -> None:
        tx.execute("UPDATE models SET description = ?", [description])

    return operation


def names(catalog: Catalog) -> list[str]:
    return sorted(row[0] for row in catalog.query("SELECT name FROM models"))


@pytest.fixture
def catalog(tmp_path: Path) -> Iterator[Catalog]:
    opened = Catalog(tmp_path / "catalog.duckdb")
    yield opened
    opened.close()


@dataclass
class Run:
    """What a writer did with one group: each op's outcome, the commits and the reloads."""

    outcomes: list[Any]
    committed: list[Any]
    commits: int
    reloads: int


def run_as_one_group(catalog: Catalog, operations: list[Operation]) -> Run:
    """Submits `operations` while the writer is held, so that they form one group."""
    committed: list[Any] = []
    reloads: list[int] = []
    writer = Writer(catalog, committed.extend, lambda: reloads.append(1))
    gate, running = threading.Event(), threading.Event()

    def hold(tx: Transaction) -> None:
        running.set()
        gate.wait(10)

    writer.start()
    held = writer.submit(hold)
    running.wait(10)
    futures = [writer.submit(op) for op in operations]
    gate.set()
    held.result(10)
    outcomes = [_outcome(f) for f in futures]
    writer.stop()
    return Run(outcomes, [c for c in committed if c is not None], writer.commits - 1, len(reloads))


def _outcome(future: Future[Any]) -> Any:
    try:
        return future.result(10)
    except RegistryError as error:
        return error


def test_a_refusal_after_an_insert_leaves_nothing_and_its_neighbours_commit(catalog: Catalog) -> None:
    run = run_as_one_group(catalog, [add_model("before"), refuse_after(add_model("late")), add_model("after")])

    assert run.outcomes[0] == "before" and run.outcomes[2] == "after"
    assert isinstance(run.outcomes[1], FailedPrecondition) and run.outcomes[1].reason == "LATE_REFUSAL"
    assert names(catalog) == ["after", "before"]
    assert run.reloads >= 1, "in-memory state is reloaded after the group is rolled back"


def test_a_refusal_after_an_update_undoes_the_update(catalog: Catalog) -> None:
    run_as_one_group(catalog, [add_model("kept", description="as it was")])

    run = run_as_one_group(catalog, [refuse_after(describe_all("changed")), add_model("next")])

    assert isinstance(run.outcomes[0], FailedPrecondition) and run.outcomes[1] == "next"
    assert dict(catalog.query("SELECT name, description FROM models")) == {"kept": "as it was", "next": ""}


def test_a_lone_refusal_after_writing_is_rolled_back(catalog: Catalog) -> None:
    run = run_as_one_group(catalog, [refuse_after(add_model("late"))])

    assert isinstance(run.outcomes[0], FailedPrecondition)
    assert names(catalog) == []
    assert run.commits == 0 and run.reloads == 1


def test_a_refusal_before_writing_costs_its_group_no_retry(catalog: Catalog) -> None:
    def looks_then_refuses(tx: Transaction) -> None:
        tx.execute("SELECT count(*) FROM models")  # a query is no write
        raise AlreadyExists("taken", reason="MODEL_EXISTS")

    run = run_as_one_group(catalog, [add_model("a"), looks_then_refuses, add_model("b")])

    assert run.outcomes[0] == "a" and isinstance(run.outcomes[1], AlreadyExists) and run.outcomes[2] == "b"
    assert names(catalog) == ["a", "b"]
    assert (run.commits, run.reloads) == (1, 0), "the group committed once, as it was"


@pytest.mark.parametrize(
    ("sql", "query"),
    [
        ("SELECT name FROM models", True),
        ("  select update_time, create_time FROM models", True),
        ("WITH k AS (SELECT 1) SELECT * FROM k", True),
        ("UPDATE models SET description = ?", False),
        ("DELETE FROM models", False),
        ("INSERT INTO models SELECT * FROM models", False),
        ("WITH k AS (SELECT 1) INSERT INTO t SELECT * FROM k", False),
        ("CREATE TEMP TABLE t AS SELECT 1", False),
        ("", False),
    ],
)
def test_only_a_statement_that_cannot_write_counts_as_a_query(sql: str, query: bool) -> None:
    assert is_query(sql) is query


WRITING_VERBS = ("INSERT", "UPDATE", "DELETE", "CREATE", "DROP", "ALTER", "COPY", "ATTACH", "DETACH", "TRUNCATE")


@given(verb=st.sampled_from(WRITING_VERBS), lead=st.sampled_from(["", "  ", "WITH k AS (SELECT 1) "]),
       upper=st.booleans(), rest=st.text(alphabet="abc _(),*?=", max_size=30))  # fmt: skip
def test_a_statement_naming_a_writing_verb_is_never_a_query(verb: str, lead: str, upper: bool, rest: str) -> None:
    statement = f"{lead}{verb if upper else verb.lower()} {rest}"

    assert not is_query(statement)
    assert not is_query(f"SELECT * FROM ({statement})")


@given(columns=st.lists(st.from_regex(r"[a-z][a-z_]{0,11}", fullmatch=True), min_size=1, max_size=6))
def test_a_select_of_columns_is_a_query_whatever_they_are_called(columns: list[str]) -> None:
    # update_time, created, dropped...: words that merely contain a verb are no verb.
    assume(not any(column.upper() in WRITING_VERBS for column in columns))

    assert is_query(f"SELECT {', '.join(columns)} FROM versions WHERE model = ?")


# -- the property: a group behaves like its ops run alone, in order, refused ones left out ----

# One step of a group: an op that succeeds, one refused before writing, or one refused after
# an insert or after an update.
KINDS = ("ok", "refuse_before", "refuse_after_insert", "refuse_after_update")


def make_operation(kind: str, prefix: str, index: int) -> Operation:
    def seen(tx: Transaction) -> int:
        # What an op sees depends on what committed before it: a leaked write changes it.
        return int(tx.execute("SELECT count(*) FROM models WHERE starts_with(name, ?)", [prefix])[0][0])

    def operation(tx: Transaction) -> str:
        count = seen(tx)
        if kind == "refuse_before":
            raise AlreadyExists(f"op {index} refused before writing", reason="MODEL_EXISTS")
        if kind == "refuse_after_insert":
            add_model(f"{prefix}late-{index}")(tx)
        elif kind == "refuse_after_update":
            tx.execute("UPDATE models SET description = 'leaked' WHERE starts_with(name, ?)", [prefix])
        if kind != "ok":
            raise FailedPrecondition(f"op {index} refused after writing", reason="LATE_REFUSAL")
        return add_model(f"{prefix}{index:02}-saw-{count}")(tx)

    return operation


@pytest.fixture(scope="module")
def shared_catalog(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Catalog]:
    opened = Catalog(tmp_path_factory.mktemp("writer") / "catalog.duckdb")
    yield opened
    opened.close()


@settings(max_examples=40)
@given(kinds=st.lists(st.sampled_from(KINDS), min_size=1, max_size=12))
def test_a_group_commits_what_its_accepted_ops_would_alone_in_order(shared_catalog: Catalog,
                                                                    kinds: list[str]) -> None:  # fmt: skip
    prefix = f"p{uuid.uuid4().hex[:8]}-"  # each example its own models in the one catalog

    run = run_as_one_group(shared_catalog, [make_operation(kind, prefix, i) for i, kind in enumerate(kinds)])

    accepted = [i for i, kind in enumerate(kinds) if kind == "ok"]
    expected = [f"{prefix}{i:02}-saw-{seen}" for seen, i in enumerate(accepted)]
    rows = shared_catalog.query("SELECT name, description FROM models WHERE starts_with(name, ?)", [prefix])
    assert sorted(name for name, _ in rows) == expected
    assert all(description == "" for _, description in rows)
    assert run.committed == expected, "committed in the order they were submitted"
    for kind, outcome in zip(kinds, run.outcomes, strict=True):
        if kind == "ok":
            assert isinstance(outcome, str)
        else:
            assert isinstance(outcome, AlreadyExists if kind == "refuse_before" else FailedPrecondition)
