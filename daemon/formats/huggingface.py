"""Hugging Face model folders: config.json (architecture), adapter_config.json (base model)
and the files that make a folder one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from studbook.daemon.formats import jsonutil, textfile
from studbook.daemon.formats.errors import FormatError
from studbook.daemon.formats.limits import Limits

KIND = "huggingface"
# Any of these beside each other marks a Hugging Face folder.
MARKERS = frozenset(
    {
        "config.json",
        "adapter_config.json",
        "tokenizer_config.json",
        "generation_config.json",
        "model.safetensors.index.json",
        "pytorch_model.bin.index.json",
        "model_index.json",
    }
)
# config.json keys worth keeping as metadata.
_CONFIG_KEYS = (
    "architectures", "model_type", "torch_dtype", "dtype", "transformers_version",
    "vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
    "max_position_embeddings", "num_labels", "id2label", "quantization_config",
    "_name_or_path", "_class_name", "_diffusers_version",
)
_ADAPTER_KEYS = ("peft_type", "task_type", "r", "lora_alpha", "target_modules", "base_model_name_or_path")


def is_folder(names: set[str]) -> bool:
    return bool(names & MARKERS)


def read(model_dir: Path, names: set[str], limits: Limits) -> tuple[dict[str, Any], dict[str, str], str, list[str]]:
    """(metadata, packages, base model, warnings) from the folder's JSON files."""
    metadata: dict[str, Any] = {}
    packages: dict[str, str] = {}
    warnings: list[str] = []
    base_model = ""
    config = _json(model_dir, "config.json", names, limits, warnings)
    if isinstance(config, dict):
        metadata["config"] = {k: jsonutil.clip(config[k], limits.max_listed) for k in _CONFIG_KEYS if k in config}
        if isinstance(config.get("transformers_version"), str):
            packages["transformers"] = config["transformers_version"][:64]
        if isinstance(config.get("_diffusers_version"), str):
            packages["diffusers"] = config["_diffusers_version"][:64]
        if "auto_map" in config:
            metadata["auto_map"] = jsonutil.clip(config["auto_map"], limits.max_listed)
    index = _json(model_dir, "model_index.json", names, limits, warnings)
    if isinstance(index, dict) and isinstance(index.get("_diffusers_version"), str):
        packages["diffusers"] = index["_diffusers_version"][:64]
        metadata["pipeline_class"] = str(index.get("_class_name", ""))[:200]
    adapter = _json(model_dir, "adapter_config.json", names, limits, warnings)
    if isinstance(adapter, dict):
        metadata["adapter"] = {k: jsonutil.clip(adapter[k], limits.max_listed) for k in _ADAPTER_KEYS if k in adapter}
        if isinstance(adapter.get("base_model_name_or_path"), str):
            base_model = adapter["base_model_name_or_path"][:256]
        if isinstance(adapter.get("peft_version"), str):
            packages["peft"] = adapter["peft_version"][:64]
    return metadata, packages, base_model, warnings


def has_remote_code(metadata: dict[str, Any]) -> bool:
    """config.json's auto_map makes transformers import code from the folder or the hub."""
    return "auto_map" in metadata


def _json(model_dir: Path, name: str, names: set[str], limits: Limits, warnings: list[str]) -> Any:
    if name not in names:
        return None
    data = textfile.read_bytes(model_dir / name, limits.max_json_bytes)
    try:
        return jsonutil.loads(data, name, limits.max_json_bytes)
    except FormatError as err:
        if err.reason == "HEADER_TOO_LARGE":
            raise
        warnings.append(f"{name} not read: {err.message}")
        return None
