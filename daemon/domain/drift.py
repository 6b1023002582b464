"""Input statistics and their drift: what a feature summary may be, and the PSI and KS-style
distance between two summaries.

The daemon computes drift set-wise in the store (`store/drift.py`); `feature_drift` here is the
same arithmetic in plain Python, the oracle the store's statement is tested against.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from studbook.daemon.domain.errors import InvalidArgument

# Bounds of one summary: enough bins for any sensible histogram, small enough that 10,000
# features of a window stay a bounded write.
MIN_EDGES = 2
MAX_EDGES = 1_001
MAX_CATEGORIES = 10_000
MAX_FEATURES = 10_000
MAX_FEATURE_NAME = 256
MAX_CATEGORY_NAME = 256
# Stands in for an empty bin's share in PSI, whose log would otherwise be infinite.
PSI_FLOOR = 1e-4
TINY_SHARE = 1e-200

NUMERIC = "numeric"
CATEGORICAL = "categorical"


@dataclass(frozen=True)
class FeatureStats:
    """One feature's summary: a histogram (edges and one weight per bin) or category weights.

    Numeric: `edges` strictly increasing, `weights` one per bin, `categories` empty.
    Categorical: `categories` the names in code-point order, `weights` one per name, no edges.
    """

    feature: str
    kind: str
    weights: tuple[float, ...]
    edges: tuple[float, ...] = ()
    categories: tuple[str, ...] = ()

    @property
    def numeric(self) -> bool:
        return self.kind == NUMERIC

    def shares(self) -> tuple[float, ...]:
        """The weights normalised to sum to 1; a share below TINY_SHARE is 0 (it changes
        neither figure, and PostgreSQL refuses arithmetic that underflows)."""
        total = math.fsum(self.weights)
        return tuple(share if (share := w / total) >= TINY_SHARE else 0.0 for w in self.weights)


def _invalid(message: str, reason: str, feature: str, **metadata: object) -> InvalidArgument:
    return InvalidArgument(message, reason=reason, field="features", feature=feature, **metadata)


def validate_feature_name(name: str) -> None:
    if not 1 <= len(name) <= MAX_FEATURE_NAME or not name.isprintable():
        raise _invalid(f"feature name {name!r} must be 1 to {MAX_FEATURE_NAME} printable characters; rename it",
                       "INVALID_FEATURE", name)  # fmt: skip


def _check_weights(feature: str, weights: Sequence[float]) -> None:
    for weight in weights:
        if not math.isfinite(weight) or weight < 0:
            raise _invalid(f"feature {feature!r} has the weight {weight!r}: weights are finite and not negative",
                           "INVALID_STATISTICS", feature)  # fmt: skip
    try:
        total = math.fsum(weights)
    except OverflowError:
        total = math.inf
    if not math.isfinite(total):
        raise _invalid(f"feature {feature!r} has weights whose sum is too large for a number: send frequencies, "
                       "or counts on a smaller scale", "INVALID_STATISTICS", feature)  # fmt: skip
    if not any(weights):
        raise _invalid(f"feature {feature!r} has only zero weights: send the counts of a window that saw values",
                       "INVALID_STATISTICS", feature)  # fmt: skip


def histogram(feature: str, edges: Sequence[float], counts: Sequence[float]) -> FeatureStats:
    """A validated numeric summary (INVALID_ARGUMENT, INVALID_STATISTICS otherwise)."""
    validate_feature_name(feature)
    if not MIN_EDGES <= len(edges) <= MAX_EDGES:
        raise _invalid(f"feature {feature!r} has {len(edges)} edges: a histogram has {MIN_EDGES} to {MAX_EDGES}",
                       "INVALID_STATISTICS", feature)  # fmt: skip
    for low, high in zip(edges, edges[1:]):
        if not (math.isfinite(low) and math.isfinite(high) and low < high):
            raise _invalid(f"feature {feature!r}: edges must be finite and strictly increasing ({low!r}, {high!r})",
                           "INVALID_STATISTICS", feature)  # fmt: skip
    if len(counts) != len(edges) - 1:
        raise _invalid(f"feature {feature!r} has {len(counts)} counts for {len(edges)} edges: give one count per "
                       f"bin ({len(edges) - 1})", "INVALID_STATISTICS", feature)  # fmt: skip
    _check_weights(feature, counts)
    return FeatureStats(feature, NUMERIC, tuple(float(c) for c in counts), edges=tuple(float(e) for e in edges))


def categories(feature: str, counts: Mapping[str, float]) -> FeatureStats:
    """A validated categorical summary, its categories in code-point order."""
    validate_feature_name(feature)
    if not counts or len(counts) > MAX_CATEGORIES:
        raise _invalid(f"feature {feature!r} has {len(counts)} categories: give 1 to {MAX_CATEGORIES}",
                       "INVALID_STATISTICS", feature)  # fmt: skip
    for name in counts:
        if not 1 <= len(name) <= MAX_CATEGORY_NAME:
            raise _invalid(f"feature {feature!r} has a category name of {len(name)} characters: name each category "
                           f"with 1 to {MAX_CATEGORY_NAME}", "INVALID_STATISTICS", feature)  # fmt: skip
    names = tuple(sorted(counts))
    weights = tuple(float(counts[name]) for name in names)
    _check_weights(feature, weights)
    return FeatureStats(feature, CATEGORICAL, weights, categories=names)


def validate_features(features: Sequence[FeatureStats], *, allow_empty: bool = False) -> None:
    """A call's features: at most MAX_FEATURES, each named once."""
    if len(features) > MAX_FEATURES:
        raise InvalidArgument(f"too many features in one call: {len(features)} (at most {MAX_FEATURES}); "
                              "send the rest in further calls", reason="TOO_MANY_FEATURES", field="features",
                              limit=MAX_FEATURES)  # fmt: skip
    if not features and not allow_empty:
        raise InvalidArgument("no features given: send at least one feature's statistics", reason="NO_FEATURES",
                              field="features")  # fmt: skip
    seen: set[str] = set()
    for stats in features:
        if stats.feature in seen:
            raise _invalid(f"feature {stats.feature!r} is given twice; send each feature once",
                           "DUPLICATE_FEATURE", stats.feature)  # fmt: skip
        seen.add(stats.feature)


def bins_mismatch(feature: str, reference: Sequence[float], window: Sequence[float], *,
                  reference_kind: str = NUMERIC, window_kind: str = NUMERIC) -> InvalidArgument:  # fmt: skip
    if reference_kind != window_kind:
        message = (
            f"feature {feature!r} is {window_kind} here but {reference_kind} in its reference: send it as "
            f"{'a histogram on the reference edges' if reference_kind == NUMERIC else 'category counts'}"
        )
    else:
        message = (f"feature {feature!r} is binned on other edges than its reference ({len(window)} edges against "
                   f"{len(reference)}): bin production values on the reference's edges {list(reference)[:8]}"
                   f"{' …' if len(reference) > 8 else ''}")  # fmt: skip
    return InvalidArgument(message, reason="BINS_MISMATCH", field="features", feature=feature)


class Drift(NamedTuple):
    """A feature's drift in a window. A named tuple, not a dataclass: a drift report over many
    windows builds one per window and feature, and a tuple builds in a fraction of the time."""

    feature: str
    psi: float
    ks: float
    no_reference: bool = False


def _aligned(reference: FeatureStats, window: FeatureStats) -> tuple[list[float], list[float]]:
    """Both sides' shares over the same bins: histogram bins in order, or the union of the
    categories in code-point order (a category one side lacks has a share of 0 there)."""
    if reference.numeric:
        return list(reference.shares()), list(window.shares())
    ref = dict(zip(reference.categories, reference.shares()))
    win = dict(zip(window.categories, window.shares()))
    names = sorted(set(ref) | set(win))
    return [ref.get(n, 0.0) for n in names], [win.get(n, 0.0) for n in names]


def feature_drift(reference: FeatureStats | None, window: FeatureStats) -> Drift:
    """PSI (with PSI_FLOOR for empty bins) and the largest gap between the cumulative
    distributions, of `window` against `reference`. The reference oracle of the store's SQL."""
    if reference is None or reference.kind != window.kind:
        return Drift(window.feature, 0.0, 0.0, no_reference=True)
    expected, actual = _aligned(reference, window)
    psi = math.fsum((max(a, PSI_FLOOR) - max(e, PSI_FLOOR)) * math.log(max(a, PSI_FLOOR) / max(e, PSI_FLOOR))
                    for e, a in zip(expected, actual))  # fmt: skip
    ks, cum_e, cum_a = 0.0, 0.0, 0.0
    for e, a in zip(expected, actual):
        cum_e += e
        cum_a += a
        ks = max(ks, abs(cum_e - cum_a))
    return Drift(window.feature, psi, min(ks, 1.0))


@dataclass(frozen=True)
class InputsLogged:
    """The payload of a `production.inputs_logged` event: a window in figures, not features."""

    model: str
    stage: str
    number: int
    window_end: datetime
    segment: str
    max_psi: float
    max_ks: float
    worst: str
    features: int
