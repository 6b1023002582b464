"""Hugging Face folders and model cards: card text, tags, datasets, base model, remote code."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from studbook.daemon.domain.model import Dataset
from studbook.daemon.formats import FormatError, inspect_folder

from .builders import write_files

README = """---
language:
- en
license: apache-2.0
library_name: transformers
pipeline_tag: text-classification
tags:
- generated_from_trainer
- 4bit
datasets:
- imdb
- org/reviews
base_model: distilbert/distilbert-base-uncased
model-index:
- name: sentiment
  results:
  - task:
      type: text-classification
    dataset:
      name: imdb
      split: test
    metrics:
    - type: accuracy
      value: 0.93
---

# Sentiment

Fine-tuned for reviews.
"""

CONFIG = {
    "architectures": ["DistilBertForSequenceClassification"],
    "model_type": "distilbert",
    "torch_dtype": "float32",
    "transformers_version": "4.44.0",
    "vocab_size": 30522,
}


def hf_folder(root: Path, **extra: bytes | str) -> list[Path]:
    files: dict[str, bytes | str] = {
        "config.json": json.dumps(CONFIG),
        "README.md": README,
        "model.safetensors": b"\0" * 16,
        "tokenizer.json": "{}",
    }
    files.update(extra)
    return write_files(root, files)


def test_a_hugging_face_folder_gives_card_tags_datasets_and_lineage(tmp_path: Path) -> None:
    files = hf_folder(tmp_path)

    info = inspect_folder(tmp_path, files)

    assert info.kind == "huggingface"
    assert info.model_card.startswith("# Sentiment")
    assert "---" not in info.model_card
    assert info.tags == {
        "license": "apache-2.0",
        "pipeline_tag": "text-classification",
        "library_name": "transformers",
        "language": "en",
        "generated_from_trainer": "",
        "model_type": "distilbert",
    }
    assert info.datasets == [Dataset("imdb"), Dataset("org/reviews")]
    assert info.base_model == "distilbert/distilbert-base-uncased"
    assert info.environment.packages == {"transformers": "4.44.0"}
    assert info.metadata["config"]["architectures"] == ["DistilBertForSequenceClassification"]
    assert info.metadata["card"]["eval_results"] == [
        {"task": "text-classification", "dataset": "imdb", "split": "test", "metric": "accuracy", "value": 0.93}
    ]
    assert info.flags == ()
    json.dumps(info.metadata)


def test_python_files_nothing_asks_to_import_are_listed_not_flagged(tmp_path: Path) -> None:
    files = hf_folder(tmp_path, **{"modeling_custom.py": "import os\n", "train.py": "print()\n"})

    info = inspect_folder(tmp_path, files)

    assert info.flags == ()
    assert info.metadata["code_files"] == ["modeling_custom.py", "train.py"]


def test_python_files_a_config_auto_map_imports_are_flagged_as_remote_code(tmp_path: Path) -> None:
    files = hf_folder(tmp_path, **{"modeling_custom.py": "import os\n"})
    config = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**config, "auto_map": {"AutoModel": "modeling_custom.Net"}}))

    info = inspect_folder(tmp_path, files)

    assert info.flags == ("remote-code:modeling_custom.py",)


def test_auto_map_in_config_is_remote_code(tmp_path: Path) -> None:
    config = dict(CONFIG, auto_map={"AutoModel": "org/repo--modeling.Model"})
    files = hf_folder(tmp_path, **{"config.json": json.dumps(config)})

    info = inspect_folder(tmp_path, files)

    assert info.flags == ("remote-code:org/repo--modeling.py",)


def test_an_adapter_names_its_base_model(tmp_path: Path) -> None:
    adapter = {"base_model_name_or_path": "meta/llama-3-8b", "peft_type": "LORA", "r": 8}
    files = write_files(tmp_path, {"adapter_config.json": json.dumps(adapter), "adapter_model.safetensors": b"\0"})

    info = inspect_folder(tmp_path, files)

    assert info.kind == "huggingface"
    assert info.base_model == "meta/llama-3-8b"
    assert info.metadata["adapter"]["peft_type"] == "LORA"


def test_unreadable_front_matter_keeps_the_card_and_warns(tmp_path: Path) -> None:
    files = hf_folder(tmp_path, **{"README.md": "---\ntags: &anchor [a]\n---\n# Card\n"})

    info = inspect_folder(tmp_path, files)

    assert info.model_card == "# Card\n"
    assert info.tags == {"model_type": "distilbert"}
    assert any("front matter" in w for w in info.metadata["warnings"])


def test_malformed_config_json_is_a_warning_not_a_refusal(tmp_path: Path) -> None:
    files = hf_folder(tmp_path, **{"config.json": "{broken"})

    info = inspect_folder(tmp_path, files)

    assert info.kind == "huggingface"
    assert any("config.json" in w for w in info.metadata["warnings"])


def test_a_plain_folder_still_reads_its_readme_as_the_card(tmp_path: Path) -> None:
    files = write_files(tmp_path, {"model.onnx": b"\x08\x09", "README.md": "# Churn model\n"})

    info = inspect_folder(tmp_path, files)

    assert (info.kind, info.model_card) == ("plain", "# Churn model\n")


def test_a_readme_linking_out_of_the_folder_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("password")
    root = tmp_path / "version"
    root.mkdir()
    files = write_files(root, {"config.json": json.dumps(CONFIG)})
    os.symlink(secret, root / "README.md")

    with pytest.raises(FormatError) as caught:
        inspect_folder(root, [*files, Path("README.md")])

    assert caught.value.reason == "PATH_OUTSIDE"


def test_only_listed_files_inside_the_root_are_considered(tmp_path: Path) -> None:
    write_files(tmp_path, {"config.json": json.dumps(CONFIG)})

    info = inspect_folder(tmp_path, [Path("/elsewhere/config.json"), Path("../config.json")])

    assert info.kind == "plain"


def test_an_oversized_config_is_refused(tmp_path: Path) -> None:
    from studbook.daemon.formats import Limits

    files = hf_folder(tmp_path)

    with pytest.raises(FormatError) as caught:
        inspect_folder(tmp_path, files, Limits(max_json_bytes=32))

    assert caught.value.reason == "FILE_TOO_LARGE"


def test_a_readme_in_a_link_loop_is_refused(tmp_path: Path) -> None:
    os.symlink(tmp_path / "README.md", tmp_path / "README.md")

    with pytest.raises(FormatError) as caught:
        inspect_folder(tmp_path, [Path("README.md")])

    assert caught.value.reason == "PATH_OUTSIDE"


def test_tokenizer_auto_map_names_its_code_files_with_the_folder_python_files(tmp_path: Path) -> None:
    tokenizer = {"auto_map": {"AutoTokenizer": ["tokenization_x.XTokenizer", None]}}
    config = dict(CONFIG, auto_map={"AutoConfig": "configuration_x.XConfig", "AutoModel": "modeling_x.XModel"})
    files = hf_folder(
        tmp_path,
        **{
            "config.json": json.dumps(config),
            "tokenizer_config.json": json.dumps(tokenizer),
            "modeling_x.py": "class XModel: ...\n",
        },
    )

    info = inspect_folder(tmp_path, files)

    assert info.flags == ("remote-code:configuration_x.py,modeling_x.py,tokenization_x.py",)


def test_a_tokenizer_auto_map_alone_is_remote_code(tmp_path: Path) -> None:
    tokenizer = {"auto_map": {"AutoTokenizer": ["org/repo--tok.Tok", "org/repo--tok.TokFast"]}}
    files = hf_folder(tmp_path, **{"tokenizer_config.json": json.dumps(tokenizer)})

    assert inspect_folder(tmp_path, files).flags == ("remote-code:org/repo--tok.py",)


def index_json(shards: dict[str, str]) -> str:
    return json.dumps({"metadata": {"total_size": 32}, "weight_map": shards})


def test_a_sharded_model_with_every_shard_present_is_read(tmp_path: Path) -> None:
    shards = {"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}
    files = hf_folder(
        tmp_path,
        **{"model.safetensors.index.json": index_json(shards), **{name: b"\0" for name in shards.values()}},
    )

    info = inspect_folder(tmp_path, files)

    assert info.metadata["shard_indexes"] == {"model.safetensors.index.json": 2}


@pytest.mark.parametrize("index", ["model.safetensors.index.json", "unet/diffusion_pytorch_model.bin.index.json"])
def test_a_sharded_model_missing_a_shard_is_refused(tmp_path: Path, index: str) -> None:
    folder = str(Path(index).parent).replace(".", "")
    present = f"{folder}/model-00001-of-00002.safetensors".lstrip("/")
    shards = {"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}
    files = hf_folder(tmp_path, **{index: index_json(shards), present: b"\0"})

    with pytest.raises(FormatError) as caught:
        inspect_folder(tmp_path, files)

    assert caught.value.reason == "MISSING_FILE"
    assert caught.value.metadata["shard"] == "model-00002-of-00002.safetensors"
    assert "model-00002-of-00002.safetensors" in caught.value.message


def test_a_shard_named_outside_the_folder_is_refused(tmp_path: Path) -> None:
    files = hf_folder(tmp_path, **{"model.safetensors.index.json": index_json({"a": "../elsewhere.safetensors"})})

    with pytest.raises(FormatError) as caught:
        inspect_folder(tmp_path, files)

    assert caught.value.reason == "PATH_OUTSIDE"


@pytest.mark.parametrize(
    "files",
    [
        {"config.json": json.dumps(dict(CONFIG, trust_remote_code=True))},
        {"tokenizer_config.json": json.dumps({"trust_remote_code": True})},
        {"README.md": "# Model\n\n```python\nAutoModel.from_pretrained('org/x', trust_remote_code = True)\n```\n"},
    ],
    ids=["config", "tokenizer config", "model card"],
)
def test_trust_remote_code_hints_are_remote_code(tmp_path: Path, files: dict[str, str]) -> None:
    written = hf_folder(tmp_path, **files)

    assert inspect_folder(tmp_path, written).flags == ("remote-code",)


def test_a_card_that_only_names_the_option_is_not_remote_code(tmp_path: Path) -> None:
    written = hf_folder(tmp_path, **{"README.md": "# Model\n\nNo need for trust_remote_code=False here.\n"})

    assert inspect_folder(tmp_path, written).flags == ()
