"""studbook.json's `environment` and `training`: read into the version's records, checked like every field."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from studbook.daemon.app.inspection import Inspected
from studbook.daemon.domain.model import Environment, TrainingConfig
from studbook.daemon.formats import FolderInfo
from studbook.daemon.watch.draft import build_draft
from studbook.daemon.watch.examine import Hashed
from studbook.daemon.watch.manifest import (
    MAX_DATA_VERSIONS,
    MAX_PACKAGES,
    MAX_REQUIREMENTS,
    Manifest,
    ManifestError,
    parse_manifest,
)
from support.manifests import error_of, manifest

ENVIRONMENT = {
    "python_version": "3.12.3",
    "packages": {"torch": "2.3.0", "numpy": "1.26.4"},
    "requirements": ["torch==2.3.0", "numpy>=1.26"],
    "platform": "Linux-6.8-x86_64",
}
TRAINING = {
    "seed": 42,
    "data_versions": {"transactions": "2026-03", "labels": "sha256:ab12"},
    "code_commit": "abc123",
    "code_dirty": True,
    "entry_point": "train.py",
}


# -- reading -----------------------------------------------------------------------------


def test_environment_and_training_are_read_into_the_version_records():
    data = manifest(environment=ENVIRONMENT, training=TRAINING)

    found = parse_manifest(data)

    assert found.environment == Environment(
        "3.12.3", {"torch": "2.3.0", "numpy": "1.26.4"}, ["torch==2.3.0", "numpy>=1.26"], "Linux-6.8-x86_64"
    )
    assert found.training == TrainingConfig(
        42, {"transactions": "2026-03", "labels": "sha256:ab12"}, "abc123", True, "train.py"
    )


def test_left_out_they_are_empty_and_a_null_seed_means_no_seed():
    absent = parse_manifest(manifest(description="x"))
    partial = parse_manifest(manifest(environment={"python_version": "3.11"}, training={"seed": None}))

    assert absent.environment == Environment() and absent.training == TrainingConfig()
    assert partial.environment == Environment(python_version="3.11")
    assert partial.training.seed is None and not partial.training.code_dirty


@pytest.mark.parametrize("seed", [0, -1, 2**63 - 1, -(2**63)])
def test_a_seed_is_any_64_bit_integer(seed):
    assert parse_manifest(manifest(training={"seed": seed})).training.seed == seed


# -- errors ------------------------------------------------------------------------------


def test_a_wrong_type_in_packages_names_the_line_column_and_field():
    data = b'{\n  "environment": {\n    "packages": {"torch": 2.3}\n  }\n}'

    error = error_of(data)

    assert error.reason == "INVALID_MANIFEST"
    assert error.metadata == {
        "file": "studbook.json", "line": "3", "column": "27", "field": "environment.packages.torch",
    }  # fmt: skip
    assert "environment.packages.torch must be a string, got a number" in error.message


def test_an_unknown_key_points_at_the_key_and_lists_the_known_ones():
    data = b'{\n  "training": {\n    "seed": 1,\n      "commit": "abc"\n  }\n}'

    error = error_of(data)

    assert (error.metadata["line"], error.metadata["column"], error.metadata["field"]) == ("4", "7", "training.commit")
    assert "seed, data_versions, code_commit, code_dirty, entry_point" in error.message


@pytest.mark.parametrize("fields, field", [
    ({"environment": []}, "environment"),
    ({"environment": {"python_version": 3.12}}, "environment.python_version"),
    ({"environment": {"platform": None}}, "environment.platform"),
    ({"environment": {"packages": ["torch"]}}, "environment.packages"),
    ({"environment": {"packages": {"torch": None}}}, "environment.packages.torch"),
    ({"environment": {"packages": {"": "1.0"}}}, "environment.packages."),
    ({"environment": {"packages": {"torch": "2\u0000"}}}, "environment.packages.torch"),
    ({"environment": {"requirements": "torch==2.3"}}, "environment.requirements"),
    ({"environment": {"requirements": ["torch", 2]}}, "environment.requirements[1]"),
    ({"environment": {"python_version": "3" * 65}}, "environment.python_version"),
    ({"environment": {"packages": {"torch": "2.3"}, "conda": {}}}, "environment.conda"),
    ({"training": "seed=1"}, "training"),
    ({"training": {"seed": "42"}}, "training.seed"),
    ({"training": {"seed": 4.2}}, "training.seed"),
    ({"training": {"seed": True}}, "training.seed"),
    ({"training": {"seed": 2**63}}, "training.seed"),
    ({"training": {"seed": -(2**63) - 1}}, "training.seed"),
    ({"training": {"data_versions": {"tx": 3}}}, "training.data_versions.tx"),
    ({"training": {"data_versions": {"org/tx": "1"}}}, "training.data_versions.org/tx"),
    ({"training": {"data_versions": {"tx@2": "1"}}}, "training.data_versions.tx@2"),
    ({"training": {"code_commit": ["abc"]}}, "training.code_commit"),
    ({"training": {"code_dirty": "yes"}}, "training.code_dirty"),
    ({"training": {"code_dirty": 1}}, "training.code_dirty"),
    ({"training": {"entry_point": "t" * 1025}}, "training.entry_point"),
])  # fmt: skip
def test_each_invalid_value_is_named(fields, field):
    assert error_of(manifest(**fields)).metadata["field"] == field


@pytest.mark.parametrize("fields, field", [
    ({"environment": {"packages": {f"p{i}": "1" for i in range(MAX_PACKAGES + 1)}}}, "environment.packages"),
    ({"environment": {"requirements": ["x"] * (MAX_REQUIREMENTS + 1)}}, "environment.requirements"),
    ({"training": {"data_versions": {f"d{i}": "1" for i in range(MAX_DATA_VERSIONS + 1)}}}, "training.data_versions"),
])  # fmt: skip
def test_sizes_are_bounded(fields, field):
    error = error_of(manifest(**fields))

    assert error.metadata["field"] == field and "at most" in error.message


def test_the_largest_allowed_sizes_are_accepted():
    data = manifest(
        environment={"packages": {f"p{i}": "1" for i in range(MAX_PACKAGES)}, "requirements": ["x"] * MAX_REQUIREMENTS},
        training={"data_versions": {f"d{i}": "1" for i in range(MAX_DATA_VERSIONS)}},
    )

    found = parse_manifest(data)

    assert len(found.environment.packages) == MAX_PACKAGES and len(found.training.data_versions) == MAX_DATA_VERSIONS


def test_an_overlong_package_name_is_refused_at_its_key_and_cut_short_in_the_field():
    error = error_of(manifest(environment={"packages": {"p" * 5000: "1"}}))

    assert error.metadata["column"] == "7" and "too long" in error.message
    assert error.metadata["field"] == "environment.packages." + "p" * 100 + "..."


def test_an_integer_too_long_to_convert_is_a_located_manifest_error():
    error = error_of(b'{"training":\n  {"seed": ' + b"7" * 5000 + b"}}")

    assert (error.metadata["line"], error.metadata["column"]) == ("2", "12") and "digits" in error.message


# -- any input ---------------------------------------------------------------------------

scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=16,
)


def near(fields: tuple[str, ...]) -> st.SearchStrategy[dict[str, object]]:
    """Objects using mostly the real field names, so the checks behind them are reached."""
    return st.dictionaries(st.sampled_from(fields) | st.text(max_size=4), json_values, max_size=6)


names_to_text = st.dictionaries(st.text(max_size=6), st.text(max_size=6) | scalars, max_size=4)
lines = st.lists(st.text(max_size=6) | scalars, max_size=4)
near_int64 = st.integers(min_value=-(2**70), max_value=2**70)
environments = (
    json_values
    | near(("python_version", "packages", "requirements", "platform"))
    | st.fixed_dictionaries({}, optional={"python_version": scalars, "packages": names_to_text | json_values,
                                          "requirements": lines | json_values, "platform": scalars})
)  # fmt: skip
trainings = (
    json_values
    | near(("seed", "data_versions", "code_commit", "code_dirty", "entry_point"))
    | st.fixed_dictionaries({}, optional={"seed": scalars | near_int64, "data_versions": names_to_text,
                                          "code_commit": scalars, "code_dirty": scalars, "entry_point": scalars})
)  # fmt: skip


documents = st.fixed_dictionaries({}, optional={"environment": environments, "training": trainings})


@settings(max_examples=300)
@given(document=documents, indent=st.sampled_from([None, 2]))
def test_any_environment_and_training_give_a_manifest_or_a_located_manifest_error(document, indent):
    data = json.dumps(document, indent=indent).encode()

    try:
        found = parse_manifest(data)
    except ManifestError as error:
        assert int(error.metadata["line"]) >= 1 and error.metadata["field"].startswith(("environment", "training"))
        return
    assert isinstance(found.environment, Environment) and isinstance(found.training, TrainingConfig)
    assert all(isinstance(v, str) for v in (*found.environment.packages.values(), *found.environment.requirements))
    assert found.training.seed is None or -(2**63) <= found.training.seed < 2**63


# -- into the draft ----------------------------------------------------------------------


def draft_of(found: Manifest, folder: FolderInfo | None = None):
    return build_draft("fraud", "/drops/fraud/1", Hashed([], {}), Inspected(folder=folder), found, [])


def test_the_draft_carries_the_manifests_environment_and_training():
    found = parse_manifest(manifest(environment=ENVIRONMENT, training=TRAINING))

    draft = draft_of(found)

    assert draft.environment == found.environment and draft.training == found.training


def test_what_the_folder_declares_fills_what_the_manifest_leaves_out():
    folder = FolderInfo("mlflow", environment=Environment("3.10", {"sklearn": "1.4"}, ["scikit-learn==1.4"], "Linux"))
    found = parse_manifest(manifest(environment={"python_version": "3.12"}))

    draft = draft_of(found, folder)

    assert draft.environment == Environment("3.12", {"sklearn": "1.4"}, ["scikit-learn==1.4"], "Linux")


def test_packages_and_requirements_come_together_from_the_manifest_when_it_gives_either():
    folder = FolderInfo("mlflow", environment=Environment("3.10", {"sklearn": "1.4"}, ["scikit-learn==1.4"]))
    found = parse_manifest(manifest(environment={"packages": {"torch": "2.3.0"}}))

    draft = draft_of(found, folder)

    assert (draft.environment.packages, draft.environment.requirements) == ({"torch": "2.3.0"}, [])
    assert draft.environment.python_version == "3.10"
