"""Reading a backend's numbered migration files: in number order, and refused when the numbering
could skip a schema change."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from studbook.daemon.store import migrations


def write(folder: Path, names: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_text(f"-- {name}\n", encoding="utf-8")
    return folder


@given(count=st.integers(1, 30), seed=st.randoms(use_true_random=False))
def test_migrations_come_back_in_number_order_whatever_the_listing_order(
    count: int, seed: random.Random, tmp_path_factory: pytest.TempPathFactory
) -> None:
    names = [f"{n:04d}_step_{n}.sql" for n in range(1, count + 1)]
    seed.shuffle(names)
    folder = write(tmp_path_factory.mktemp("m"), names)

    found = migrations.read(folder)

    assert [m.number for m in found] == list(range(1, count + 1))
    assert all(m.sql == f"-- {m.number:04d}_{m.name}.sql\n" for m in found)


@pytest.mark.parametrize(
    "names",
    [
        ["0001_a.sql", "0003_c.sql"],  # a gap
        ["0002_b.sql"],  # no first
        ["0001_a.sql", "0001_again.sql"],  # a repeat
        ["0000_zero.sql", "0001_a.sql"],
    ],
)
def test_a_numbering_that_could_skip_a_change_is_refused(names: list[str], tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="without gaps"):
        migrations.read(write(tmp_path, names))


@pytest.mark.parametrize("name", ["1_short.sql", "0001-dash.sql", "0001_Upper.sql", "0001_.sql"])
def test_a_file_not_named_as_a_migration_is_refused(name: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="NNNN_name.sql"):
        migrations.read(write(tmp_path, ["0001_a.sql", name]))


def test_other_files_beside_them_are_ignored(tmp_path: Path) -> None:
    folder = write(tmp_path, ["0001_a.sql", "README", "notes.txt"])

    assert [m.name for m in migrations.read(folder)] == ["a"]


def test_the_shipped_migrations_of_each_backend_load() -> None:
    for backend in ("duckdb", "postgres"):
        found = migrations.load(backend)
        assert found[0].name == "schema" and "CREATE TABLE meta" in found[0].sql
