"""studbook.json: decoded with positions, checked field by field, errors pointing at the spot."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from studbook.daemon.domain.model import ChangeKind, Dataset, Metric, Run
from studbook.daemon.watch import jsonpos
from studbook.daemon.watch.manifest import ManifestError, parse_manifest
from support.manifests import error_of, manifest

SHA = "ab" * 32


def test_a_full_manifest_is_read_into_domain_values():
    data = manifest(
        description="retrained on March", semver="2.1.0", change_kind="minor", tags={"team": "risk"},
        params={"lr": 0.01, "depth": 8, "warm": True, "optimizer": "adam"}, metrics={"auc": 0.93},
        model_card="# Fraud", datasets=[{"name": "tx", "version": "2026-03", "uri": "s3://b/tx"}],
        run={"run_id": "r-42", "code_commit": "abc"}, parents=[{"version": "models/base/versions/3",
        "relation": "fine_tuned_from"}], files=[{"path": "model.bin", "size": 3, "sha256": SHA.upper()}],
    )  # fmt: skip

    found = parse_manifest(data)

    assert found.change_kind == ChangeKind.DATA and found.semver == "2.1.0"
    assert found.params == {"lr": "0.01", "depth": "8", "warm": "true", "optimizer": "adam"}
    assert found.metrics == [Metric("auc", 0.93)]
    assert found.datasets == [Dataset("tx", "2026-03", "s3://b/tx")]
    assert found.run == Run("r-42", "abc")
    assert [(p.version, p.relation) for p in found.parents] == [("models/base/versions/3", "fine_tuned_from")]
    assert [(f.path, f.size, f.sha256) for f in found.files] == [("model.bin", 3, SHA)]


def test_metrics_may_be_a_list_with_steps_and_splits():
    found = parse_manifest(manifest(metrics=[{"key": "loss", "value": 0.5, "step": 3, "split": "val"}]))

    assert found.metrics == [Metric("loss", 0.5, step=3, split="val")]


def test_a_wrong_type_names_the_line_column_and_field():
    data = b'{\n  "tags": {"team": "risk"},\n  "metrics": {"auc": "high"}\n}'

    error = error_of(data)

    assert error.reason == "INVALID_MANIFEST"
    assert error.metadata == {"file": "studbook.json", "line": "3", "column": "22", "field": "metrics.auc"}
    assert "metrics.auc must be a number" in error.message and "line 3, column 22" in error.message


def test_an_unknown_field_points_at_its_key():
    error = error_of(b'{\n  "description": "x",\n    "metrcs": {}\n}')

    assert (error.metadata["line"], error.metadata["column"], error.metadata["field"]) == ("3", "5", "metrcs")
    assert "unknown field 'metrcs'" in error.message


def test_a_syntax_error_is_located_by_the_decoder():
    error = error_of(b'{\n  "description": "x",\n}')

    assert (error.metadata["line"], error.metadata["column"]) == ("3", "1")
    assert "not valid JSON" in error.message


@pytest.mark.parametrize("data, field", [
    (manifest(semver="1.x"), "semver"),
    (manifest(change_kind="huge"), "change_kind"),
    (manifest(tags={"9bad": "x"}), "tags.9bad"),
    (manifest(tags={"team": 3}), "tags.team"),
    (manifest(metrics={"auc": True}), "metrics.auc"),
    (manifest(metrics=[{"key": "auc"}]), "metrics[0]"),
    (manifest(datasets=[{"name": "a/b"}]), "datasets[0].name"),
    (manifest(run={"code_commit": "abc"}), "run"),
    (manifest(parents=[{"version": "models/a/versions/1", "relation": "cousin"}]), "parents[0].relation"),
    (manifest(files=[{"path": "../x", "size": 1, "sha256": SHA}]), "files[0].path"),
    (manifest(files=[{"path": "a", "size": -1, "sha256": SHA}]), "files[0].size"),
    (manifest(files=[{"path": "a", "size": 1, "sha256": "00"}]), "files[0].sha256"),
    (manifest(files=[{"path": "a", "size": 1}]), "files[0]"),
    (manifest(files=[{"path": "studbook.json", "size": 1, "sha256": SHA}]), "files[0].path"),
    (manifest(schema=2), "schema"),
    (b"[1, 2]", ""),
])  # fmt: skip
def test_each_invalid_field_is_named(data, field):
    assert error_of(data).metadata["field"] == field


def test_a_key_given_twice_is_refused_where_it_repeats():
    error = error_of(b'{"description": "a",\n "description": "b"}')

    assert error.metadata["line"] == "2" and "appears twice" in error.message


def test_bytes_that_are_not_utf8_are_located():
    error = error_of(b'{\n "description": "\xff"}')

    assert (error.metadata["line"], error.metadata["column"]) == ("2", "18")


def test_deep_nesting_is_refused_without_recursing_away():
    error = error_of(b'{"params": ' + b"[" * 100_000 + b"]" * 100_000 + b"}")

    assert "nest" in error.message


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=20,
)


@given(value=json_values, indent=st.sampled_from([None, 0, 2]))
def test_positions_point_at_the_values_they_name(value, indent):
    text = json.dumps(value, indent=indent)
    lines = text.split("\n")

    located = jsonpos.parse(text)

    assert located.value == json.loads(text)
    for path, position in located.values.items():
        offset = sum(len(line) + 1 for line in lines[: position.line - 1]) + position.column - 1
        expected: object = value
        for part in path:
            expected = expected[part]  # type: ignore[index]
        decoded, _ = json.JSONDecoder().raw_decode(text, offset)
        assert decoded == expected


@given(st.binary(max_size=200))
def test_any_bytes_either_parse_or_raise_a_located_manifest_error(data):
    try:
        parse_manifest(data)
    except ManifestError as error:
        assert int(error.metadata.get("line", "1")) >= 1
