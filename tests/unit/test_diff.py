"""Version diffs: params, tags, metrics, environment, signature, files and model card."""

from __future__ import annotations

import dataclasses
import math
import random
import re
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from studbook.daemon.domain.diff import (
    ChangeType,
    FileChange,
    MetricChange,
    ValueChange,
    VersionDiff,
    diff_files,
    diff_metrics,
    diff_versions,
    latest_metrics,
    metric_direction,
    model_card_diff,
)
from studbook.daemon.domain.model import (
    ArtifactFile,
    Environment,
    Metric,
    ModelVersion,
    Signature,
    TensorSpec,
)
from studbook.daemon.domain.signature import Compatibility

ADDED, REMOVED, CHANGED, UNCHANGED = (
    ChangeType.ADDED,
    ChangeType.REMOVED,
    ChangeType.CHANGED,
    ChangeType.UNCHANGED,
)
SHA_A, SHA_B, SHA_C = "a" * 64, "b" * 64, "c" * 64


def version(number: int, **fields: object) -> ModelVersion:
    return ModelVersion(model="churn", number=number, **fields)  # type: ignore[arg-type]


def at(hour: int) -> datetime:
    return datetime(2026, 1, 1, hour, tzinfo=UTC)


# --- the whole diff ---------------------------------------------------------------------


def test_diff_names_both_versions_and_their_semvers() -> None:
    # execute
    diff = diff_versions(version(1, semver="1.0.0"), version(3, semver="1.1.0"))

    # assert
    assert (diff.base, diff.target) == ("models/churn/versions/1", "models/churn/versions/3")
    assert (diff.base_semver, diff.target_semver) == ("1.0.0", "1.1.0")


def test_diff_of_empty_versions_is_empty() -> None:
    # execute
    diff = diff_versions(version(1), version(2))

    # assert
    assert diff == VersionDiff(
        base="models/churn/versions/1",
        target="models/churn/versions/2",
        signature=Compatibility(True, notes=["base has no signature"]),
    )


def test_diff_checks_signature_compatibility() -> None:
    # prepare
    base = version(1, signature=Signature(inputs=(TensorSpec("age", "int64", (-1,)),)))
    target = version(2, signature=Signature(inputs=(TensorSpec("age", "string", (-1,)),)))

    # execute
    diff = diff_versions(base, target)

    # assert
    assert not diff.signature.compatible
    assert diff.signature.reasons == ['input "age": dtype int64 -> string']


# --- params and tags --------------------------------------------------------------------


def test_params_list_every_key_sorted_with_its_change() -> None:
    # prepare
    base = version(1, params={"lr": "0.1", "depth": "6", "seed": "7"})
    target = version(2, params={"lr": "0.05", "depth": "6", "epochs": "10"})

    # execute
    params = diff_versions(base, target).params

    # assert
    assert params == [
        ValueChange("depth", UNCHANGED, "6", "6"),
        ValueChange("epochs", ADDED, None, "10"),
        ValueChange("lr", CHANGED, "0.1", "0.05"),
        ValueChange("seed", REMOVED, "7", None),
    ]


def test_tags_tell_an_empty_value_from_an_absent_one() -> None:
    # prepare
    base = version(1, tags={"team": ""})
    target = version(2, tags={"team": "", "owner": ""})

    # execute
    tags = diff_versions(base, target).tags

    # assert
    assert tags == [ValueChange("owner", ADDED, None, ""), ValueChange("team", UNCHANGED, "", "")]


# --- metrics ----------------------------------------------------------------------------


def test_metrics_compare_per_key_and_split_with_deltas() -> None:
    # prepare
    base = [Metric("auc", 0.80, split="val"), Metric("auc", 0.90, split="train"), Metric("loss", 0.5)]
    target = [Metric("auc", 0.84, split="val"), Metric("auc", 0.90, split="train"), Metric("loss", 0.6)]

    # execute
    changes = diff_metrics(base, target)

    # assert
    assert [(c.key, c.split, c.change) for c in changes] == [
        ("auc", "train", UNCHANGED),
        ("auc", "val", CHANGED),
        ("loss", "", CHANGED),
    ]
    val, loss = changes[1], changes[2]
    assert val.delta == pytest.approx(0.04)
    assert val.relative_delta == pytest.approx(0.05)
    assert val.better is True
    assert loss.delta == pytest.approx(0.1)
    assert loss.relative_delta == pytest.approx(0.2)
    assert loss.better is False


def test_unchanged_metric_has_zero_delta_and_no_verdict() -> None:
    # execute
    (change,) = diff_metrics([Metric("auc", 0.9)], [Metric("auc", 0.9)])

    # assert
    assert change == MetricChange("auc", "", UNCHANGED, 0.9, 0.9, 0.0, 0.0, None)


def test_one_sided_metrics_have_no_delta() -> None:
    # execute
    changes = diff_metrics([Metric("old", 1.0)], [Metric("new", 2.0)])

    # assert
    assert changes == [
        MetricChange("new", "", ADDED, None, 2.0),
        MetricChange("old", "", REMOVED, 1.0, None),
    ]


def test_relative_delta_is_left_out_when_base_is_zero() -> None:
    # execute
    (change,) = diff_metrics([Metric("gain", 0.0)], [Metric("gain", 0.5)])

    # assert
    assert change.delta == 0.5
    assert change.relative_delta is None


def test_relative_delta_divides_by_the_magnitude_of_a_negative_base() -> None:
    # execute
    (change,) = diff_metrics([Metric("log_likelihood", -2.0)], [Metric("log_likelihood", -1.0)])

    # assert
    assert change.relative_delta == pytest.approx(0.5)
    assert change.better is True


def test_nan_metric_that_stays_nan_is_unchanged() -> None:
    # execute
    (change,) = diff_metrics([Metric("loss", math.nan)], [Metric("loss", math.nan)])

    # assert
    assert change.change is UNCHANGED
    assert change.delta is None


def test_delta_against_nan_is_left_out() -> None:
    # execute
    (change,) = diff_metrics([Metric("loss", math.nan)], [Metric("loss", 0.3)])

    # assert
    assert change == MetricChange("loss", "", CHANGED, change.base, 0.3, None, None, None)
    assert change.base is not None and math.isnan(change.base)


def test_infinite_base_has_a_delta_but_no_relative_delta() -> None:
    # execute
    same, changed = diff_metrics(
        [Metric("a", math.inf), Metric("loss", math.inf)], [Metric("a", math.inf), Metric("loss", 1.0)]
    )

    # assert
    assert same == MetricChange("a", "", UNCHANGED, math.inf, math.inf, 0.0, None, None)
    assert changed == MetricChange("loss", "", CHANGED, math.inf, 1.0, -math.inf, None, True)


def test_latest_metric_is_the_newest_then_the_highest_step_then_the_last_listed() -> None:
    # prepare
    metrics = [
        Metric("loss", 0.9, step=100, time=at(1)),
        Metric("loss", 0.5, step=10, time=at(2)),  # newest wins over a higher step
        Metric("acc", 0.7, step=2),
        Metric("acc", 0.6, step=1),  # no time: the highest step wins
        Metric("f1", 0.1),
        Metric("f1", 0.2),  # neither: the last listed wins
    ]

    # execute
    latest = latest_metrics(metrics)

    # assert
    assert latest == {("loss", ""): 0.5, ("acc", ""): 0.7, ("f1", ""): 0.2}


@pytest.mark.parametrize(
    "key",
    [
        "loss", "val_loss", "eval/loss", "train.LogLoss", "logloss", "BCELoss", "hinge_loss",
        "rmse", "mse", "mae", "mape", "error", "error_rate", "top1_error", "log_loss", "perplexity",
        "wer", "cer", "latency_ms", "p99_latency", "inference_time", "ms_per_token",
        "brier_score", "false_positive_rate", "fpr", "kl_divergence", "fid", "peak_memory_mb",
        "negative_log_likelihood", "nll",
    ],
)  # fmt: skip
def test_lower_is_better_metrics(key: str) -> None:
    # execute / assert
    assert metric_direction(key) == -1


@pytest.mark.parametrize(
    "key",
    [
        "accuracy", "auc", "roc_auc", "f1", "precision", "recall", "bleu", "rouge_l", "r2", "map@10",
        "ndcg", "true_negative_rate", "log_likelihood", "neg_mean_squared_error", "neg_log_loss",
        "tokens_per_second", "samples_per_sec", "throughput", "qps", "loss_reduction", "speedup",
        "", "___",
    ],
)  # fmt: skip
def test_higher_is_better_metrics(key: str) -> None:
    # execute / assert
    assert metric_direction(key) == 1


def test_better_follows_the_metric_direction() -> None:
    # prepare
    base = [Metric("rmse", 3.0), Metric("accuracy", 0.9), Metric("latency_ms", 12.0)]
    target = [Metric("rmse", 2.5), Metric("accuracy", 0.8), Metric("latency_ms", 15.0)]

    # execute
    verdicts = {c.key: c.better for c in diff_metrics(base, target)}

    # assert
    assert verdicts == {"rmse": True, "accuracy": False, "latency_ms": False}


# --- environment ------------------------------------------------------------------------


def test_environment_compares_packages_python_and_platform() -> None:
    # prepare
    base = version(
        1,
        environment=Environment(
            python_version="3.11.7", platform="Linux-6.1-x86_64", packages={"torch": "2.3.0", "numpy": "1.26.4"}
        ),
    )
    target = version(
        2,
        environment=Environment(
            python_version="3.12.1", platform="Linux-6.1-x86_64", packages={"torch": "2.4.0", "pandas": "2.2.2"}
        ),
    )

    # execute
    environment = diff_versions(base, target).environment

    # assert
    assert environment == [
        ValueChange("numpy", REMOVED, "1.26.4", None),
        ValueChange("pandas", ADDED, None, "2.2.2"),
        ValueChange("platform", UNCHANGED, "Linux-6.1-x86_64", "Linux-6.1-x86_64"),
        ValueChange("python_version", CHANGED, "3.11.7", "3.12.1"),
        ValueChange("torch", CHANGED, "2.3.0", "2.4.0"),
    ]


def test_environment_package_names_compare_in_normal_form() -> None:
    # prepare
    base = version(1, environment=Environment(packages={"scikit_learn": "1.5.0", "Pillow": "10.0"}))
    target = version(2, environment=Environment(packages={"Scikit-Learn": "1.5.0", "pillow": "10.1"}))

    # execute
    environment = diff_versions(base, target).environment

    # assert
    assert environment == [
        ValueChange("pillow", CHANGED, "10.0", "10.1"),
        ValueChange("scikit-learn", UNCHANGED, "1.5.0", "1.5.0"),
    ]


def test_unrecorded_python_version_is_absent_not_empty() -> None:
    # prepare
    base = version(1, environment=Environment(python_version=""))
    target = version(2, environment=Environment(python_version="3.11.7"))

    # execute
    environment = diff_versions(base, target).environment

    # assert
    assert environment == [ValueChange("python_version", ADDED, None, "3.11.7")]


# --- files ------------------------------------------------------------------------------


def test_files_compare_by_path_and_content() -> None:
    # prepare
    base = [
        ArtifactFile("model.safetensors", 100, SHA_A),
        ArtifactFile("config.json", 10, SHA_B),
        ArtifactFile("old.txt", 5, SHA_C),
    ]
    target = [
        ArtifactFile("config.json", 10, SHA_B),
        ArtifactFile("model.safetensors", 120, "d" * 64),
        ArtifactFile("tokenizer.json", 7, "e" * 64),
    ]

    # execute
    files = diff_files(base, target)

    # assert
    assert files == [
        FileChange("config.json", UNCHANGED, SHA_B, SHA_B, 10, 10),
        FileChange("model.safetensors", CHANGED, SHA_A, "d" * 64, 100, 120),
        FileChange("old.txt", REMOVED, SHA_C, "", 5, 0),
        FileChange("tokenizer.json", ADDED, "", "e" * 64, 0, 7),
    ]


def test_moved_file_is_one_change_at_its_new_path() -> None:
    # prepare
    base = [ArtifactFile("model.onnx", 100, SHA_A)]
    target = [ArtifactFile("onnx/model.onnx", 100, SHA_A)]

    # execute
    files = diff_files(base, target)

    # assert
    assert files == [FileChange("onnx/model.onnx", CHANGED, SHA_A, SHA_A, 100, 100, base_path="model.onnx")]
    assert files[0].moved


def test_copies_of_one_content_pair_in_path_order() -> None:
    # prepare
    base = [ArtifactFile("b.bin", 1, SHA_A), ArtifactFile("a.bin", 1, SHA_A), ArtifactFile("c.bin", 1, SHA_A)]
    target = [ArtifactFile("y.bin", 1, SHA_A), ArtifactFile("x.bin", 1, SHA_A)]

    # execute
    files = diff_files(base, target)

    # assert
    assert [(f.path, f.change, f.base_path) for f in files] == [
        ("c.bin", REMOVED, ""),
        ("x.bin", CHANGED, "a.bin"),
        ("y.bin", CHANGED, "b.bin"),
    ]


def test_files_without_a_hash_are_never_taken_for_moves() -> None:
    # execute
    files = diff_files([ArtifactFile("a", 1, "")], [ArtifactFile("b", 1, "")])

    # assert
    assert [(f.path, f.change) for f in files] == [("a", REMOVED), ("b", ADDED)]


def test_same_hash_with_another_size_is_not_a_move() -> None:
    # execute
    files = diff_files([ArtifactFile("a", 1, SHA_A)], [ArtifactFile("b", 2, SHA_A)])

    # assert
    assert [(f.path, f.change) for f in files] == [("a", REMOVED), ("b", ADDED)]


# --- model card -------------------------------------------------------------------------


def test_model_card_diff_is_a_unified_diff() -> None:
    # prepare
    base = version(1, model_card="# Churn\n\nTrained on 2025 data.\n")
    target = version(2, model_card="# Churn\n\nTrained on 2026 data.\n")

    # execute
    diff = diff_versions(base, target)

    # assert
    assert diff.model_card_diff == (
        "--- models/churn/versions/1\n"
        "+++ models/churn/versions/2\n"
        "@@ -1,3 +1,3 @@\n"
        " # Churn\n"
        " \n"
        "-Trained on 2025 data.\n"
        "+Trained on 2026 data.\n"
    )
    assert not diff.model_card_truncated


def test_identical_model_cards_have_no_diff() -> None:
    # execute
    text, truncated = model_card_diff("# Same\n", "# Same\n", "a", "b")

    # assert
    assert (text, truncated) == ("", False)


def test_missing_final_newline_is_marked_like_git() -> None:
    # execute
    text, _ = model_card_diff("one\ntwo", "one\ntwo\n", "a", "b")

    # assert
    assert text.splitlines()[-3:] == ["-two", "\\ No newline at end of file", "+two"]


def test_only_newlines_end_card_lines() -> None:
    # execute
    text, _ = model_card_diff("a\rb\x0cc\n", "a\rb\x0cd\n", "x", "y")

    # assert
    assert "-a\rb\x0cc\n" in text
    assert "+a\rb\x0cd\n" in text


def test_long_model_card_diff_is_cut_at_a_line_end_with_a_note() -> None:
    # prepare
    base = "".join(f"line {i}\n" for i in range(5_000))
    target = "".join(f"LINE {i}\n" for i in range(5_000))
    limit = 10_000

    # execute
    text, truncated = model_card_diff(base, target, "a", "b", limit=limit)

    # assert
    lines = text.splitlines(keepends=True)
    body, note = "".join(lines[:-1]), lines[-1].rstrip("\n")
    assert truncated
    assert len(body.encode()) <= limit
    assert note.startswith(f"... model card diff truncated at {limit} bytes: ")
    assert note.endswith("more lines not shown")
    shown = body.count("\n")
    left_out = int(note.split(": ")[1].split()[0])
    assert shown + left_out == 3 + 2 * 5_000  # headers and hunk line, then -/+ lines


def test_default_model_card_diff_cap_is_200_kb() -> None:
    # prepare
    base = version(1, model_card="x" * 150_000 + "\n")
    target = version(2, model_card="y" * 150_000 + "\n")

    # execute
    diff = diff_versions(base, target)

    # assert
    assert diff.model_card_truncated
    assert len(diff.model_card_diff.encode()) < 200 * 1024 + 200


def test_one_line_edit_of_a_repetitive_card_stays_one_line() -> None:
    # prepare: difflib alone treats a line making up over 1% of a long text as junk.
    base = "| row |\n" * 5_000
    target = "| ROW |\n" + "| row |\n" * 4_999

    # execute
    text, _ = model_card_diff(base, target, "a", "b")

    # assert
    assert text == "--- a\n+++ b\n@@ -1,4 +1,4 @@\n-| row |\n+| ROW |\n" + " | row |\n" * 3


HUNK = re.compile(r"@@ -(\d+)(?:,(\d+))? \+\d+(?:,\d+)? @@\n")
NO_NEWLINE = "\\ No newline at end of file\n"


def apply_unified_diff(base: str, diff_text: str) -> str:
    """Apply a unified diff to `base`: an independent reader of what the diff claims."""
    old_lines = split_at_newlines(base)
    diff_lines = split_at_newlines(diff_text)[2:]  # after the ---/+++ headers
    result: list[str] = []
    cursor = 0
    for index, line in enumerate(diff_lines):
        hunk = HUNK.fullmatch(line)
        if hunk:
            start, length = int(hunk[1]), int(hunk[2] or "1")
            # An empty range names the line *after which* it applies.
            start = start if length == 0 else start - 1
            result.extend(old_lines[cursor:start])
            cursor = start
            continue
        if line == NO_NEWLINE:
            continue
        mark, text = line[0], line[1:]
        if diff_lines[index + 1 : index + 2] == [NO_NEWLINE]:
            text = text.removesuffix("\n")
        if mark in " -":
            assert old_lines[cursor] == text, "the diff does not match the base"
            cursor += 1
        if mark in " +":
            result.append(text)
    return "".join(result + old_lines[cursor:])


def split_at_newlines(text: str) -> list[str]:
    # str.splitlines would also split at "\r", which a card line may contain.
    return re.findall(r"[^\n]*\n|[^\n]+$", text)


card_texts = st.lists(st.sampled_from(["a", "b", "c", "", "# h", "x\ry", "\r"]), max_size=30).map("\n".join)


@settings(max_examples=300)
@given(card_texts, card_texts)
def test_model_card_diff_applied_to_the_base_gives_the_target(base: str, target: str) -> None:
    # execute
    text, truncated = model_card_diff(base, target, "a", "b")

    # assert
    assert not truncated
    assert apply_unified_diff(base, text) == target


# --- properties -------------------------------------------------------------------------

keys = st.sampled_from(["a", "b", "c", "lr", "loss", "auc"])
texts = st.sampled_from(["", "1", "2", "x"])
metric_values = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0.0, 0.5, 1.0]))
metric_lists = st.lists(
    st.builds(
        Metric,
        keys,
        metric_values,
        st.one_of(st.none(), st.integers(0, 3)),
        st.sampled_from(["", "val"]),
        st.one_of(st.none(), st.integers(0, 3).map(at)),
    ),
    max_size=6,
)
file_lists = st.lists(
    st.builds(
        ArtifactFile,
        st.sampled_from(["m.bin", "a/m.bin", "cfg.json", "t.json"]),
        st.integers(0, 2),
        st.sampled_from([SHA_A, SHA_B, ""]),
    ),
    max_size=4,
    unique_by=lambda file: file.path,
)
environments = st.builds(
    Environment,
    texts,
    st.dictionaries(st.sampled_from(["torch", "Torch", "numpy", "scikit_learn"]), texts, max_size=3),
    st.just([]),
    texts,
)
versions = st.builds(
    ModelVersion,
    st.just("churn"),
    st.integers(1, 5),
    params=st.dictionaries(keys, texts, max_size=4),
    tags=st.dictionaries(keys, texts, max_size=4),
    metrics=metric_lists,
    files=file_lists,
    environment=environments,
    model_card=st.text(alphabet="ab\n", max_size=20),
)


def _added(changes: list[ValueChange] | list[MetricChange] | list[FileChange]) -> set[object]:
    return {_identity(c) for c in changes if c.change is ADDED}


def _removed(changes: list[ValueChange] | list[MetricChange] | list[FileChange]) -> set[object]:
    return {_identity(c) for c in changes if c.change is REMOVED}


def _identity(change: ValueChange | MetricChange | FileChange) -> object:
    if isinstance(change, MetricChange):
        return (change.key, change.split)
    if isinstance(change, FileChange):
        return change.path
    return change.key


@settings(max_examples=150)
@given(versions)
def test_a_version_compared_with_itself_has_only_unchanged_entries(v: ModelVersion) -> None:
    # execute
    diff = diff_versions(v, v)

    # assert
    for changes in (diff.params, diff.tags, diff.environment, diff.metrics, diff.files):
        assert all(change.change is UNCHANGED for change in changes)
    assert diff.signature.compatible
    assert diff.model_card_diff == ""


@settings(max_examples=150)
@given(versions, versions)
def test_what_one_direction_adds_the_other_removes(a: ModelVersion, b: ModelVersion) -> None:
    # execute
    forward, backward = diff_versions(a, b), diff_versions(b, a)

    # assert
    for name in ("params", "tags", "environment", "metrics", "files"):
        assert _added(getattr(forward, name)) == _removed(getattr(backward, name)), name
        assert _removed(getattr(forward, name)) == _added(getattr(backward, name)), name


@given(versions, versions, st.randoms(use_true_random=False))
def test_diff_does_not_depend_on_the_order_things_were_listed(
    a: ModelVersion, b: ModelVersion, rng: random.Random
) -> None:
    # prepare: the same files and packages listed in another order. (Metrics keep their
    # order: among values without time or step, the last listed is the latest.)
    files = list(b.files)
    rng.shuffle(files)
    packages = list(b.environment.packages.items())
    rng.shuffle(packages)
    reordered = dataclasses.replace(
        b, files=files, environment=dataclasses.replace(b.environment, packages=dict(packages))
    )

    # execute
    first, second = diff_versions(a, b), diff_versions(a, reordered)

    # assert
    assert repr(first) == repr(second)


# --- format records ---------------------------------------------------------------------

from studbook.daemon.domain.diff import TensorChange, diff_tensors, format_facts  # noqa: E402
from studbook.daemon.domain.format_info import FormatInfo, GgufInfo, TensorInfo  # noqa: E402


def test_format_records_differ_by_fact_and_family_field() -> None:
    base = ModelVersion("m", 1, format_info=FormatInfo(
        format="gguf", architecture="llama", parameters=100, dtypes=("Q4_K", "F32"),
        gguf=GgufInfo(quantization="Q4_K_M", context_length=2048)))  # fmt: skip
    target = ModelVersion("m", 2, format_info=FormatInfo(
        format="gguf", architecture="llama", parameters=120, dtypes=("Q8_0", "F32"),
        gguf=GgufInfo(quantization="Q8_0", context_length=2048)))  # fmt: skip

    changed = {c.key: (c.base, c.target) for c in diff_versions(base, target).format if c.change is CHANGED}

    assert changed == {
        "parameters": ("100", "120"),
        "dtypes": ("Q4_K,F32", "Q8_0,F32"),
        "gguf.quantization": ("Q4_K_M", "Q8_0"),
    }


def test_an_unread_fact_is_absent_not_empty() -> None:
    facts = format_facts(FormatInfo(format="onnx", gguf=None))
    assert facts == {"format": "onnx"}


def test_tensors_are_added_removed_reshaped_and_retyped_by_name() -> None:
    base = (TensorInfo("a", "F32", (4, 4)), TensorInfo("b", "F32", (2,)), TensorInfo("gone", "F32", (1,)))
    target = (TensorInfo("a", "F32", (8, 4)), TensorInfo("b", "BF16", (2,)), TensorInfo("new", "F16", (3,)))

    changes = diff_tensors(base, target)

    assert changes == [
        TensorChange("a", CHANGED, "F32", "F32", (4, 4), (8, 4)),
        TensorChange("b", CHANGED, "F32", "BF16", (2,), (2,)),
        TensorChange("gone", REMOVED, base_dtype="F32", base_shape=(1,)),
        TensorChange("new", ADDED, target_dtype="F16", target_shape=(3,)),
    ]
    assert changes[0].reshaped and not changes[0].retyped
    assert changes[1].retyped and not changes[1].reshaped


_tensors = st.lists(
    st.builds(TensorInfo, st.sampled_from("abcdef"), st.sampled_from(["F32", "BF16"]),
              st.lists(st.integers(0, 4), max_size=2).map(tuple)),
    max_size=6, unique_by=lambda t: t.name,
)  # fmt: skip


@given(_tensors, _tensors)
def test_a_tensor_diff_lists_every_name_once_and_reverses_cleanly(
    base: list[TensorInfo], target: list[TensorInfo]
) -> None:
    forward, backward = diff_tensors(base, target), diff_tensors(target, base)

    assert [c.name for c in forward] == sorted({t.name for t in base} | {t.name for t in target})
    flipped = {ADDED: REMOVED, REMOVED: ADDED, CHANGED: CHANGED, UNCHANGED: UNCHANGED}
    assert [flipped[c.change] for c in forward] == [c.change for c in backward]
    assert diff_tensors(base, base) == [TensorChange(t.name, UNCHANGED, t.dtype, t.dtype, t.shape, t.shape)
                                        for t in sorted(base, key=lambda t: t.name)]  # fmt: skip
