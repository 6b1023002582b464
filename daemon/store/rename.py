"""A model's rename in the catalog: every row keyed by its name moves to the new one.

One statement a table, run in the caller's write transaction, so that a reader sees the model
under one name or the other, never half of it. What the rename leaves as it was:
- `events`: each row is chained by its hash (the audit trail), so the history keeps the name
  it was recorded under; the `model.renamed` event links the two names;
- `version_tags` and `version_metric_peaks` (PostgreSQL): derived from `versions` and
  `metric_summary` by their triggers, which follow a change of a version's key in the same
  transaction, whichever of the two tables is updated first;
- drop-in paths (`drops.path`, `drop_files`): the folders on disk keep their names; and the
  drops that name no version (quarantined before registering), named by their folder.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from studbook.daemon.store.dialect import Dialect
from studbook.daemon.store.rows import dumps

Run = Callable[..., list[tuple[Any, ...]]]

# The tables whose `model` column names the model a row belongs to.
MODEL_TABLES = (
    "versions",
    "files",
    "metrics",
    "metric_summary",
    "stage_holders",
    "stage_history",
    "promotions",
    "production_points",
    "production_requests",
    "reference_features",
    "reference_bins",
    "input_windows",
    "monitor_states",
)


def rename_model(run: Run, old: str, new: str, revision: int, dialect: Dialect) -> list[tuple[str, int]]:
    """Moves model `old` and everything keyed by its name to `new` (a name no model has); returns
    the versions (under their names now) whose `parents` named `old`: their records changed, so
    they take `revision`, the rename's, as their etag."""
    run("UPDATE models SET name = ? WHERE name = ?", [new, old])
    for table in MODEL_TABLES:
        run(f"UPDATE {table} SET model = ? WHERE model = ?", [new, old])
    # Drops that name a version of the model; one that never got that far stays named by its folder.
    run("UPDATE drops SET model = ? WHERE model = ? AND number IS NOT NULL", [new, old])
    # Lineage names a version `models/{model}/versions/{n}`, upstream or downstream of an edge.
    before, after = f"models/{old}/", f"models/{new}/"
    for column in ("source", "target"):
        run(
            f"UPDATE lineage_edges SET {column} = ? || substr({column}, ?) WHERE starts_with({column}, ?)",
            [after, len(before) + 1, before],
        )
    return _rename_parents(run, old, new, revision, dialect)


def _rename_parents(run: Run, old: str, new: str, revision: int, dialect: Dialect) -> list[tuple[str, int]]:
    """The `parents` of every version (of any model) that names a version of `old`."""
    # A cheap test of each row first (containment in PostgreSQL's jsonb; in DuckDB the stored
    # text holds the name as a JSON string, whichever engine wrote it: a catalog copied from
    # PostgreSQL keeps its spacing), then the exact one on the rows it lets by.
    if dialect.is_postgres:
        cheap, hint = "v.parents @> CAST(? AS jsonb)", json.dumps([{"model": old}])
    else:
        cheap, hint = f"{dialect.text_contains('v.parents')}", json.dumps(old)
    found = run(
        f"SELECT v.model, v.number, v.parents FROM versions v WHERE {cheap} AND EXISTS "
        f"(SELECT 1 FROM {dialect.parent_links('v.parents')} WHERE p.model = ?)",
        [hint, old],
    )
    if not found:
        return []
    keys: list[tuple[str, int]] = [(model, number) for model, number, _ in found]
    documents = [dumps(_renamed(_loaded(parents), old, new)) for _, _, parents in found]
    table, document = dialect.rows_of(
        model=("VARCHAR", [k[0] for k in keys]),
        number=("BIGINT", [k[1] for k in keys]),
        parents=("VARCHAR", documents),
        revision=("BIGINT", [revision] * len(keys)),
    )
    json_type = "jsonb" if dialect.is_postgres else "JSON"
    # Every parameter sits in the FROM list: DuckDB binds an UPDATE's FROM before its SET.
    run(
        f"UPDATE versions SET parents = CAST(u.parents AS {json_type}), revision = u.revision FROM {table} u "
        "WHERE versions.model = u.model AND versions.number = u.number",
        [document],
    )
    return keys


def _loaded(parents: object) -> list[dict[str, Any]]:
    # DuckDB hands JSON over as its text, psycopg as the decoded value.
    value = json.loads(parents) if isinstance(parents, str) else parents
    return list(value) if isinstance(value, Sequence) else []


def _renamed(parents: list[dict[str, Any]], old: str, new: str) -> list[dict[str, Any]]:
    return [{**p, "model": new} if p.get("model") == old else p for p in parents]
