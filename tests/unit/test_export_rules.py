"""What `studbook export` emits for the cloud registries obeys their documented naming rules and limits,
whatever the registry's tags, params and names hold."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st
from studbook.exports import cloud_rules, layers, modelpack, sagemaker, vertex
from studbook.v1 import resources_pb2

texts = st.text(st.characters(codec="utf-8"), max_size=300)
tag_maps = st.dictionaries(texts, texts, max_size=80)


@given(texts, texts)
def test_vertex_labels_made_from_any_text_obey_the_label_rules(key: str, value: str) -> None:
    made_key = cloud_rules.label_key(key)
    if made_key is not None:
        assert cloud_rules.label_valid(made_key, cloud_rules.label_value(value))


@given(tag_maps)
def test_a_versions_labels_are_at_most_64_all_valid_and_every_tag_is_kept_or_reported(tags: dict[str, str]) -> None:
    version = resources_pb2.ModelVersion(name="models/m/versions/3", number=3, tags=tags)

    labels, dropped = vertex.labels(version)

    assert len(labels) <= cloud_rules.LABELS_MAX
    assert all(cloud_rules.label_valid(k, v) for k, v in labels.items())
    assert len(labels) + len(dropped) == len(tags) + 2  # the model and version labels come first


@given(texts)
def test_version_aliases_match_vertex_pattern_and_valid_ones_pass_unchanged(text: str) -> None:
    alias = cloud_rules.version_alias(text)
    if alias is not None:
        assert cloud_rules.ALIAS.match(alias) and alias not in cloud_rules.RESERVED_ALIASES and len(alias) <= 128
    if cloud_rules.ALIAS.match(text) and text != "default":
        assert alias == text


def test_common_stage_and_alias_spellings_stay_readable() -> None:
    assert cloud_rules.version_alias("production") == "production"
    assert cloud_rules.version_alias("Champion_EU") == "champion-eu"
    assert cloud_rules.version_alias("2026-q1") == "v2026-q1"
    assert cloud_rules.version_alias("default") is None
    assert cloud_rules.version_alias("__") is None


@given(tag_maps, tag_maps)
def test_customer_metadata_properties_obey_sagemaker_limits_and_account_for_every_entry(
    tags: dict[str, str], params: dict[str, str]
) -> None:
    version = resources_pb2.ModelVersion(name="models/m/versions/1", tags=tags, params=params)

    properties, dropped = sagemaker.metadata_properties(version)

    assert len(properties) <= cloud_rules.METADATA_MAX_ENTRIES
    assert all(cloud_rules.metadata_valid(k, v) for k, v in properties.items())
    facts = sum(1 for k in properties if k.startswith("studbook:"))
    assert len(properties) - facts + len(dropped) == len(tags) + len(params)


@given(st.from_regex(r"[a-z0-9][a-z0-9._-]{0,63}", fullmatch=True))
def test_every_model_name_makes_a_group_name_and_a_model_id(model: str) -> None:
    assert cloud_rules.GROUP_NAME.match(cloud_rules.group_name(model))
    assert cloud_rules.MODEL_ID.match(cloud_rules.model_id(model))


@given(texts)
def test_descriptions_are_one_line_without_control_characters_within_1024(text: str) -> None:
    described = cloud_rules.description(text * 5)

    assert len(described) <= cloud_rules.DESCRIPTION_MAX
    assert not re.search(r"[\x00-\x1f\x7f-\x9f]", described)


def test_approval_status_follows_the_stage() -> None:
    production = resources_pb2.ModelVersion(stages=["staging", "production"])
    archived = resources_pb2.ModelVersion(stages=["production"], status=resources_pb2.VERSION_STATUS_ARCHIVED)

    assert sagemaker.approval_status(production) == "Approved"
    assert sagemaker.approval_status(resources_pb2.ModelVersion(stages=["staging"])) == "PendingManualApproval"
    assert sagemaker.approval_status(archived) == "Rejected"


@given(st.integers(min_value=0, max_value=10**18))
def test_param_size_is_a_count_with_one_decimal_and_a_scale_letter(parameters: int) -> None:
    size = modelpack.param_size(parameters)
    if parameters >= 50:
        match = re.fullmatch(r"(\d+(?:\.\d)?)([KMBTQ])", size)
        assert match, size
        scale = dict((letter, value) for value, letter in modelpack.SCALES)[match[2]]
        assert abs(float(match[1]) * scale - parameters) <= 0.05 * scale
    elif size:
        assert re.fullmatch(r"0\.\dK", size)


def test_param_size_examples_from_the_spec() -> None:
    assert modelpack.param_size(6_700_000_000) == "6.7B"
    assert modelpack.param_size(100_000_000) == "100M"
    assert modelpack.param_size(10**12) == "1T"


def test_files_are_sorted_into_layer_kinds_by_format_then_name() -> None:
    def kind(path: str, fmt: str = "unknown") -> tuple[str, bool]:
        found = layers.kind_of(resources_pb2.ArtifactFile(path=path, format=fmt))
        return found.kind, found.tested

    assert kind("model.safetensors", "safetensors") == (layers.WEIGHT, True)
    assert kind("weights.data", "unknown") == (layers.WEIGHT, False)
    assert kind("tokenizer.json") == (layers.WEIGHT_CONFIG, False)
    assert kind("docs/LICENSE") == (layers.DOC, False)
    assert kind("README.md") == (layers.DOC, False)
    assert kind("src/infer.py") == (layers.CODE, False)
    assert kind("eval/holdout.parquet") == (layers.DATASET, False)
    assert layers.Kind(layers.WEIGHT_CONFIG, True).media_type == "application/vnd.cncf.model.weight.config.v1.raw"


def test_precision_uses_the_specs_words_whatever_the_format_called_the_type() -> None:
    assert modelpack.precision(["F32", "I64"]) == "fp32"
    assert modelpack.precision(["bfloat16"]) == "bf16"
    assert modelpack.precision(["Q4_0"]) == "int4"
    assert modelpack.precision(["complex64"]) == "complex64"


def test_mlflow_stages_and_run_ids() -> None:
    from studbook.exports import mlflow

    archived = resources_pb2.ModelVersion(stages=["production"], status=resources_pb2.VERSION_STATUS_ARCHIVED)
    one = resources_pb2.ModelVersion(name="models/m/versions/1", content_digest="a" * 64)

    assert mlflow.mlflow_stage(resources_pb2.ModelVersion(stages=["production"])) == "Production"
    assert mlflow.mlflow_stage(resources_pb2.ModelVersion(stages=["staging"])) == "Staging"
    assert mlflow.mlflow_stage(resources_pb2.ModelVersion(stages=["development"])) == "None"
    assert mlflow.mlflow_stage(archived) == "Archived"
    assert re.fullmatch(r"[0-9a-f]{32}", mlflow.run_id_of(one)) and mlflow.run_id_of(one) == mlflow.run_id_of(one)
    assert mlflow.run_id_of(one) != mlflow.run_id_of(resources_pb2.ModelVersion(name="models/m/versions/2"))


def test_the_command_accepts_every_export_format_and_nothing_else() -> None:
    import pytest
    from studbook.cli.commands import build_parser
    from studbook.exports import FORMATS

    parser = build_parser()
    for fmt in FORMATS:
        assert parser.parse_args(["export", "m@3", "out", "--format", fmt]).format == fmt
    with pytest.raises(SystemExit):
        parser.parse_args(["export", "m", "out", "--format", "onnx"])
