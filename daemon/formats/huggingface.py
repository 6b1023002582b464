"""Hugging Face model folders: config.json (architecture), adapter_config.json (base model)
and the files that make a folder one."""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
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
    "architectures",
    "model_type",
    "torch_dtype",
    "dtype",
    "transformers_version",
    "vocab_size",
    "hidden_size",
    "num_hidden_layers",
    "num_attention_heads",
    "max_position_embeddings",
    "num_labels",
    "id2label",
    "quantization_config",
    "_name_or_path",
    "_class_name",
    "_diffusers_version",
)
_ADAPTER_KEYS = ("peft_type", "task_type", "r", "lora_alpha", "target_modules", "base_model_name_or_path")


def model_id_for(repo_id: str) -> str:
    """The registry's model name for a hub repository id: the hub cache's spelling
    (`org/name` -> `org--name`), lower-cased, other characters as '-', at most 64.
    `studbook import hf` names the models it brings in by the same rule."""
    spelled = re.sub(r"[^a-z0-9._-]", "-", repo_id.strip().lower().replace("/", "--"))
    return spelled.lstrip("._-")[:64]


# The card's base_model_relation -> the lineage edge from the base model.
PARENT_RELATIONS = {"finetune": "fine_tuned_from", "quantized": "quantized_from", "adapter": "derived_from",
                    "merge": "derived_from"}  # fmt: skip


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
        if config.get("trust_remote_code") is True:
            metadata["trust_remote_code"] = True
    # Tokenizers and processors load custom classes through their own auto_map.
    for name in _CODE_CONFIGS:
        other = _json(model_dir, name, names, limits, warnings)
        if isinstance(other, dict) and "auto_map" in other:
            metadata.setdefault("auto_maps", {})[name] = jsonutil.clip(other["auto_map"], limits.max_listed)
        if isinstance(other, dict) and other.get("trust_remote_code") is True:
            metadata["trust_remote_code"] = True
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
    """An auto_map (config.json, tokenizer or processor config) makes transformers import
    code from the folder or the hub, which it does only with trust_remote_code."""
    return "auto_map" in metadata or bool(metadata.get("auto_maps")) or metadata.get("trust_remote_code") is True


def card_asks_for_remote_code(card_text: str) -> bool:
    """A model card whose usage snippet passes trust_remote_code=True."""
    return _TRUST_HINT.search(card_text) is not None


_TRUST_HINT = re.compile(r"trust_remote_code\s*=\s*True")


# Configs besides config.json whose auto_map names code to import.
_CODE_CONFIGS = ("tokenizer_config.json", "processor_config.json", "preprocessor_config.json")
# "modeling_x.XModel" or "org/repo--modeling_x.XModel": the module names a .py file.
_AUTO_MAP_TARGET = re.compile(r"(?:(?P<repo>[\w.-]+/[\w.-]+)--)?(?P<module>[\w.]+)\.[A-Za-z_]\w*")


def remote_code_files(metadata: dict[str, Any]) -> list[str]:
    """The .py files the auto_maps name: `modeling_x.py`, or `org/repo--modeling_x.py`
    for code fetched from another repository."""
    maps = [metadata.get("auto_map"), *dict(metadata.get("auto_maps") or {}).values()]
    files: dict[str, None] = {}
    for auto_map in maps:
        if not isinstance(auto_map, dict):
            continue
        for target in auto_map.values():
            for value in target if isinstance(target, list) else [target]:
                found = _AUTO_MAP_TARGET.fullmatch(value) if isinstance(value, str) else None
                if found:
                    module = found.group("module").replace(".", "/") + ".py"
                    repo = found.group("repo")
                    files.setdefault(f"{repo}--{module}" if repo else module, None)
    return list(files)


# Sharded checkpoints: an index maps each tensor to the shard file holding it.
_INDEX_SUFFIXES = (".safetensors.index.json", ".bin.index.json")


def check_shards(root: Path, names: list[PurePosixPath], limits: Limits) -> dict[str, int]:
    """Every shard a `*.index.json` weight_map names must be in the folder, beside the
    index: a partial download otherwise registers as a model that cannot load.
    Returns {index path: shard count}."""
    present = {str(n) for n in names}
    found: dict[str, int] = {}
    for index in sorted(n for n in names if n.name.endswith(_INDEX_SUFFIXES))[: limits.max_listed]:
        data = textfile.read_bytes(root / index, limits.max_json_bytes)
        try:
            parsed = jsonutil.loads(data, index.name, limits.max_json_bytes)
        except FormatError as err:
            if err.reason == "HEADER_TOO_LARGE":
                raise
            continue  # an unreadable index is the loader's problem, not a missing shard
        weight_map = parsed.get("weight_map") if isinstance(parsed, dict) else None
        if not isinstance(weight_map, dict):
            continue
        shards = sorted({v for v in weight_map.values() if isinstance(v, str)})
        for shard in shards:
            relative = PurePosixPath(shard)
            if relative.is_absolute() or ".." in relative.parts:
                raise FormatError(
                    "PATH_OUTSIDE",
                    f"{index} names shard {shard[:200]!r} outside the model folder; fix its weight_map",
                    path=shard[:200],
                )
            if str(index.parent / relative) not in present:
                raise FormatError(
                    "MISSING_FILE",
                    f"{index} names shard {shard[:200]!r}, which is not in the folder: the download "
                    "or copy is incomplete; fetch every shard, then register the folder again",
                    shard=shard[:200],
                    index=str(index)[:200],
                )
        found[str(index)] = len(shards)
    return found


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
