"""The `reference_statistics` of studbook.json: read into feature statistics, errors located."""

from __future__ import annotations

import pytest
from studbook.daemon.watch.manifest import parse_manifest
from support.manifests import error_of, manifest


def test_histograms_and_categories_are_read() -> None:
    found = parse_manifest(manifest(reference_statistics={"features": [
        {"feature": "age", "edges": [0, 18, 120], "counts": [3, 7]},
        {"feature": "country", "categories": {"fr": 8, "de": 12}},
    ]}))  # fmt: skip

    age, country = found.reference_statistics
    assert age.numeric and age.edges == (0, 18, 120) and age.weights == (3, 7)
    assert country.categories == ("de", "fr") and country.weights == (12, 8)
    assert parse_manifest(manifest()).reference_statistics == []


@pytest.mark.parametrize("statistics, field, words", [
    ({"features": [{"feature": "age", "edges": [0, 1], "counts": [1, 2]}]}, "reference_statistics.features[0]",
     "counts"),
    ({"features": [{"feature": "age", "edges": [1, 0], "counts": [1]}]}, "reference_statistics.features[0]",
     "increasing"),
    ({"features": [{"feature": "age", "counts": [1]}]}, "reference_statistics.features[0]", "edges"),
    ({"features": [{"feature": "c", "categories": {"a": "x"}}]}, "reference_statistics.features[0].categories.a",
     "number"),
    ({"features": [{"feature": "c", "categories": {"a": 1}}, {"feature": "c", "categories": {"b": 1}}]},
     "reference_statistics.features", "twice"),
    ({"features": [{"feature": "", "categories": {"a": 1}}]}, "reference_statistics.features[0].feature",
     "feature name"),
    ({"feature": []}, "reference_statistics.feature", "unknown field"),
    ([], "reference_statistics", "object"),
])  # fmt: skip
def test_each_problem_is_refused_at_its_field(statistics: object, field: str, words: str) -> None:
    error = error_of(manifest(reference_statistics=statistics))
    assert error.metadata["field"] == field and words in error.message
