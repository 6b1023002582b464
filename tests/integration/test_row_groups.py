"""The DuckDB catalog writes its tables in row groups of `engine.ROW_GROUP_ROWS` rows, not DuckDB's
122,880: a checkpoint writes the last row group of an indexed table (versions, events) anew, and
no registration can append while it does (store/engine.py). So too the files a backup and a
catalog copy write, and a catalog whose file was written with larger groups once reopened."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
from studbook.daemon.store import engine
from studbook.daemon.store.catalog import Catalog

ROWS = 40_000


def add_versions(catalog: Catalog, count: int, first: int = 1) -> None:
    """`count` versions of one model, written set-wise in one transaction of the writer's kind."""
    tx = catalog.transaction()
    tx.begin()
    tx.execute(
        "INSERT INTO versions (model, number, semver, semver_key, change_kind, status, create_time, update_time, "
        "revision) SELECT 'm', n, '1.0.' || n, n, 'tuning', 'ready', now()::TIMESTAMP, now()::TIMESTAMP, 1 "
        "FROM range(?, ?) r(n)",
        [first, first + count],
    )
    tx.commit()


def row_groups(path: Path, table: str = "versions") -> list[int]:
    """The rows of each row group of `table` in the file at `path`, which no process has open."""
    with duckdb.connect(str(path), read_only=True) as conn:
        return [int(rows) for (rows,) in conn.execute(
            "SELECT max(count) FROM pragma_storage_info(?) GROUP BY row_group_id ORDER BY row_group_id", [table]
        ).fetchall()]  # fmt: skip


def test_the_catalog_writes_row_groups_of_its_own_size(tmp_path: Path) -> None:
    path = tmp_path / "catalog.duckdb"
    catalog = Catalog(path)
    add_versions(catalog, ROWS)
    catalog.close()

    groups = row_groups(path)
    assert sum(groups) == ROWS
    assert max(groups) == engine.ROW_GROUP_ROWS, groups


def test_rows_added_to_a_file_written_with_larger_groups_go_into_groups_of_the_catalogs_size(tmp_path: Path) -> None:
    path = tmp_path / "catalog.duckdb"
    Catalog(path).close()
    with duckdb.connect(str(path)) as conn:  # DuckDB's own default: one group of ROWS rows
        conn.execute("INSERT INTO versions (model, number, semver, semver_key, change_kind, status, create_time, "
                     "update_time, revision) SELECT 'old', n, '1.0.0', n, 'tuning', 'ready', now()::TIMESTAMP, "
                     "now()::TIMESTAMP, 1 FROM range(?) r(n)", [ROWS])  # fmt: skip
    assert row_groups(path) == [ROWS]

    catalog = Catalog(path)
    add_versions(catalog, ROWS)
    catalog.close()

    groups = row_groups(path)
    assert groups[0] == ROWS, "the group already written stays as it was"
    assert max(groups[1:]) == engine.ROW_GROUP_ROWS and sum(groups[1:]) == ROWS, groups


def test_a_backup_and_a_catalog_copy_are_written_in_groups_of_the_catalogs_size(tmp_path: Path) -> None:
    path = tmp_path / "data" / "catalog.duckdb"
    path.parent.mkdir()
    catalog = Catalog(path)
    add_versions(catalog, ROWS)
    catalog.snapshot_into(tmp_path / "snapshot.duckdb")
    catalog.close()
    copied = tmp_path / "copied"
    done = subprocess.run([sys.executable, "-m", "studbook.daemon.catalog_copy", "--from", str(path.parent),
                           "--to", str(copied)], capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr

    for written in (tmp_path / "snapshot.duckdb", copied / "catalog.duckdb"):
        groups = row_groups(written)
        assert sum(groups) == ROWS and max(groups) == engine.ROW_GROUP_ROWS, (written, groups)
