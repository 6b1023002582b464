"""Which columns the versions table shows, how wide, and which go first when the terminal is narrow.

The metric columns are the user's choice (`version_metrics`, else `key_metrics`) plus the
metric the table is sorted by: never the keys of whatever rows happen to be loaded, so
they stay put while versions arrive. Every column gets a width its header and values fit;
when they do not all fit, whole columns of less use are left out instead of every column
being cut.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from studbook.tui.column_fit import fit_columns

# A metric value is at most this wide (`format_metric`), so its column never depends on the data.
METRIC_WIDTH = 9
# A metric key longer than this is shortened in its header (with `…`); its values still fit.
METRIC_TITLE_MAX = 16
# Widest a text column grows; longer values end in `…`.
TEXT_CAPS = {"version": 9, "semver": 14, "stage": 24, "aliases": 20, "format": 12, "size": 10,
             "status": 12, "created": 12, "by": 16}  # fmt: skip
TITLES = {"mark": "", "version": "VERSION", "semver": "SEMVER", "stage": "STAGE", "aliases": "ALIASES",
          "format": "FORMAT", "size": "SIZE", "status": "STATUS", "created": "CREATED", "by": "BY"}  # fmt: skip
# Left to right on screen; metric columns go where "metrics" stands.
ORDER = ("mark", "version", "semver", "stage", "aliases", "metrics", "format", "size", "status", "created", "by")
# Metric columns that outrank `created` and `semver` when space is short; the rest come after them.
LEADING_METRICS = 3


@dataclass(frozen=True)
class Column:
    """One column: `key` is a fixed name (`version`, `status`, ...) or `metric:KEY`."""

    key: str
    title: str
    width: int

    @property
    def metric(self) -> str:
        return self.key.removeprefix("metric:") if self.key.startswith("metric:") else ""


def metric_columns(chosen: Sequence[str], sorted_by: str = "") -> tuple[str, ...]:
    """The metric keys shown: the chosen ones, and the sorted-by one first when it is not among them."""
    keys = [sorted_by] if sorted_by and sorted_by not in chosen else []
    return tuple(dict.fromkeys([*keys, *chosen]))


def format_metric(value: float | None) -> str:
    """A metric value in at most METRIC_WIDTH characters: `0.9312`, `1234`, `1.23e-05`, `-1.2e+09`."""
    if value is None:
        return ""
    text = f"{value:.4g}"
    if len(text) > METRIC_WIDTH:
        text = f"{value:.2e}" if len(f"{value:.2e}") <= METRIC_WIDTH else f"{value:.1e}"
    return text


def layout(
    chosen: Sequence[str],
    available: int,
    text_widths: Mapping[str, int],
    *,
    sorted_by: str = "",
    arrow: str = "",
) -> list[Column]:
    """The columns that fit in `available` cells, in screen order.

    `chosen` are the metric columns asked for (see `metric_columns` for where the sorted-by
    one goes). `text_widths` are the widest values seen per text column (capped by TEXT_CAPS); a
    column is never narrower than its header. The version column always stays; then,
    by use: the sorted-by metric, stage, status, the first metrics, created, semver, the
    other metrics, aliases, size, by, format.
    """
    metrics = metric_columns(chosen, sorted_by)
    candidates: dict[str, Column] = {}
    for key in ORDER:
        if key == "metrics":
            for metric in metrics:
                title = metric.upper()
                if len(title) > METRIC_TITLE_MAX:
                    title = title[: METRIC_TITLE_MAX - 1] + "…"
                if metric == sorted_by and arrow:
                    title = f"{title} {arrow}"
                candidates[f"metric:{metric}"] = Column(f"metric:{metric}", title, max(len(title), METRIC_WIDTH))
            continue
        title = TITLES[key]
        seen = min(text_widths.get(key, 0), TEXT_CAPS.get(key, 1))
        candidates[key] = Column(key, title, max(len(title), seen, 1))
    widths = {key: column.width for key, column in candidates.items()}
    kept = fit_columns(widths, _ranking(chosen, sorted_by), available, always=("mark", "version"))
    return [column for key, column in candidates.items() if key in kept]


def _ranking(chosen: Sequence[str], sorted_by: str) -> list[str]:
    # The same metrics lead whichever one is sorted by, so sorting never swaps other columns in or out.
    leading = [m for m in chosen[:LEADING_METRICS] if m != sorted_by]
    rest = [m for m in chosen[LEADING_METRICS:] if m != sorted_by]
    ranked = ["version", "mark", *([f"metric:{sorted_by}"] if sorted_by else []), "stage", "status"]
    ranked += [f"metric:{m}" for m in leading] + ["created", "semver"]
    ranked += [f"metric:{m}" for m in rest] + ["aliases", "size", "by", "format"]
    return ranked
