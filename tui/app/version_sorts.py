"""The orders the versions screen offers: fixed ones (newest, oldest, ...) and any metric, best first.

The daemon does the sorting (`order_by`), over every version, not only the rows loaded;
this module only says which `order_by` text a choice sends and how the screen names it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from studbook.metric_direction import metric_direction

# A metric key the order_by language takes unquoted after `metrics.`; others are quoted.
_BARE_KEY = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_@/-]*")
_QUOTE_ESCAPES = {"\\": "\\\\", '"': '\\"', "*": "\\*", "\n": "\\n", "\t": "\\t", "\r": "\\r"}


@dataclass(frozen=True)
class VersionSort:
    """One order: the `order_by` the daemon gets, and the words the screen shows for it."""

    order_by: str
    label: str
    # The metric sorted by ("" for the fixed orders) and whether its highest values come first.
    metric: str = ""
    descending: bool = False

    @property
    def arrow(self) -> str:
        """`▼` over a column sorted highest first, `▲` lowest first."""
        return "▼" if self.descending else "▲"


NEWEST = VersionSort("", "newest first")
FIXED_SORTS = (
    NEWEST,
    VersionSort("number", "oldest first"),
    VersionSort("create_time desc", "created, newest first"),
    VersionSort("semver desc", "semver, highest first"),
)


def quote(text: str) -> str:
    """A quoted string of the filter and order_by languages: `"top 5"`, escapes included."""
    return '"' + "".join(_QUOTE_ESCAPES.get(c, c) for c in text) + '"'


def metric_order_by(key: str, descending: bool) -> str:
    """`metrics.auc desc`; a key with other characters is quoted: `metrics."top 5" asc`."""
    field = key if _BARE_KEY.fullmatch(key) else quote(key)
    return f"metrics.{field} {'desc' if descending else 'asc'}"


def metric_sort(key: str, *, best_first: bool = True) -> VersionSort:
    """Sort by `key`, best values first (or worst first), "best" as the diff judges it:
    highest for scores like auc, lowest for losses, errors and latencies."""
    higher_is_better = metric_direction(key) > 0
    descending = higher_is_better == best_first
    extreme = "highest" if descending else "lowest"
    label = f"{key}, {'best' if best_first else 'worst'} first ({extreme})"
    return VersionSort(metric_order_by(key, descending), label, metric=key, descending=descending)


def cycle(metrics: Iterable[str]) -> tuple[VersionSort, ...]:
    """What `s` steps through: the fixed orders, then each metric column best first."""
    return (*FIXED_SORTS, *(metric_sort(key) for key in dict.fromkeys(metrics)))


def picker_choices(metrics: Iterable[str]) -> tuple[VersionSort, ...]:
    """What the sort picker lists: each metric best first and worst first, then the fixed orders."""
    keys = list(dict.fromkeys(metrics))
    by_metric = [sort for key in keys for sort in (metric_sort(key), metric_sort(key, best_first=False))]
    return (*by_metric, *FIXED_SORTS)
