"""Feature statistics for input drift, built from raw values in plain Python (no numpy).

`histogram(values, bins=10)` bins a numeric feature (quantile edges by default, so each bin of
the training data holds about as many values); `histogram(values, edges)` bins production values
on the reference's edges, as LogInputStatistics requires. `categories(values)` counts a
categorical feature. `statistics(...)` turns any of the accepted shapes into the messages:

    reference = {"age": histogram(train_ages, bins=10), "country": categories(train_countries)}
    client.register("fraud", path="model.onnx", reference_statistics=reference)
    client.log_input_statistics("fraud", "production", {
        "age": histogram(todays_ages, reference["age"]["edges"]),
        "country": categories(todays_countries),
    })
"""

from __future__ import annotations

import json
import math
import os
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from studbook.v1 import production_pb2

# One feature as JSON: {"feature": "age", "edges": [...], "counts": [...]} or
# {"feature": "country", "categories": {"de": 12, ...}}; without "feature" as a mapping's value.
FeatureDict = Mapping[str, Any]


def histogram(values: Iterable[float], edges: Sequence[float] | None = None, *, bins: int = 10,
              even: bool = False) -> dict[str, list[float]]:  # fmt: skip
    """`{"edges": [...], "counts": [...]}` of `values`: on the `edges` given, or on `bins` bins
    whose edges are the values' quantiles (`even=True`: evenly spaced between min and max).
    A value below the first edge counts in the first bin, above the last in the last; NaN and
    infinite values are left out."""
    finite = sorted(v for v in map(float, values) if math.isfinite(v))
    if edges is None:
        if not finite:
            raise ValueError("no finite values to choose edges from; give edges=")
        edges = _even_edges(finite, bins) if even else _quantile_edges(finite, bins)
    edges = [float(e) for e in edges]
    if len(edges) < 2 or any(not a < b for a, b in zip(edges, edges[1:])):
        raise ValueError("edges must be at least two, strictly increasing")
    counts = [0.0] * (len(edges) - 1)
    for value in finite:
        counts[min(max(bisect_right(edges, value) - 1, 0), len(counts) - 1)] += 1
    return {"edges": edges, "counts": counts}


def _even_edges(finite: Sequence[float], bins: int) -> list[float]:
    low, high = finite[0], finite[-1]
    if low == high:
        return [low - 0.5, low + 0.5]
    return [low + (high - low) * i / bins for i in range(bins)] + [high]


def _quantile_edges(finite: Sequence[float], bins: int) -> list[float]:
    """Edges at the values' quantiles, duplicates dropped (a value repeated across a quantile
    makes fewer, wider bins rather than empty ones)."""
    n = len(finite)
    picked = [finite[min(round(i * (n - 1) / bins), n - 1)] for i in range(bins + 1)]
    edges = sorted(set(picked))
    if len(edges) < 2:
        return [edges[0] - 0.5, edges[0] + 0.5]
    return edges


def categories(values: Iterable[object]) -> dict[str, dict[str, float]]:
    """`{"categories": {value: count}}` of `values`, each turned into text."""
    return {"categories": {str(k): float(v) for k, v in Counter(map(str, values)).items()}}


def load(path: str | os.PathLike[str]) -> list[production_pb2.FeatureStatistics]:
    """The statistics in a JSON file of the shape `{"features": [...]}`."""
    return statistics(json.loads(Path(path).read_text(encoding="utf-8")))


def statistics(given: Any) -> list[production_pb2.FeatureStatistics]:
    """FeatureStatistics messages from {"features": [...]}, {name: summary} or a list."""
    if isinstance(given, Mapping):
        if set(given) == {"features"} and not isinstance(given["features"], Mapping):
            return statistics(given["features"])
        named: Mapping[str, Any] = given
        return [_feature({**dict(summary), "feature": name}) for name, summary in named.items()]
    return [item if isinstance(item, production_pb2.FeatureStatistics) else _feature(item) for item in given]


def _feature(item: FeatureDict) -> production_pb2.FeatureStatistics:
    if not isinstance(item, Mapping) or not isinstance(item.get("feature"), str):
        raise ValueError(f'each feature needs a "feature" name: {str(item)[:80]}')
    name = item["feature"]
    if "categories" in item:
        counts = item["categories"]
        if not isinstance(counts, Mapping):
            raise ValueError(f'feature {name!r}: "categories" maps each category to its count')
        return production_pb2.FeatureStatistics(feature=name, categories=production_pb2.Categories(
            counts={str(k): float(v) for k, v in counts.items()}))  # fmt: skip
    if "edges" in item and "counts" in item:
        return production_pb2.FeatureStatistics(feature=name, histogram=production_pb2.Histogram(
            edges=[float(e) for e in item["edges"]], counts=[float(c) for c in item["counts"]]))  # fmt: skip
    raise ValueError(f'feature {name!r} needs "edges" and "counts", or "categories"')
