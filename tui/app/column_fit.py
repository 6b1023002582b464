"""Which whole columns of a table fit its width: the most useful first, the rest left out, none cut."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

# DataTable pads each cell by one on either side.
CELL_PADDING = 2


def fit_columns(
    widths: Mapping[str, int], ranking: Sequence[str], available: int, always: Collection[str] = ()
) -> set[str]:
    """The columns of `widths` to show in `available` cells.

    Columns are taken in `ranking` order (most useful first) while they fit; a column that
    does not fit is skipped and narrower ones after it may still come in. `always` columns
    are kept however narrow the table, so a row can always be told apart.
    """
    kept: set[str] = set()
    used = 0
    for key in ranking:
        if key not in widths or key in kept:
            continue
        need = widths[key] + CELL_PADDING
        if key in always or used + need <= available:
            kept.add(key)
            used += need
    return kept
