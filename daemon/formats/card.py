"""Model cards: README.md with YAML front matter -> card text, tags, datasets, base model."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from studbook.daemon.domain.model import Dataset
from studbook.daemon.domain.names import MAX_MODEL_CARD, MAX_TAG_VALUE, MAX_TAGS, TAG_KEY
from studbook.daemon.formats import jsonutil, yaml_subset

# Card keys copied as tags, in this order, when they hold a string or a list of strings.
_TAG_KEYS = ("license", "pipeline_tag", "library_name", "language")
# Card keys copied into metadata as they are (clipped).
_METADATA_KEYS = (
    "license",
    "license_name",
    "language",
    "pipeline_tag",
    "library_name",
    "tags",
    "datasets",
    "metrics",
    "base_model",
    "base_model_relation",
    "model_name",
    "model_type",
    "inference",
)


@dataclass
class Card:
    """What a README.md declares."""

    text: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    datasets: list[Dataset] = field(default_factory=list)
    base_models: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def split_front_matter(text: str) -> tuple[str | None, str]:
    """(YAML between the leading '---' lines or None, the Markdown after it)."""
    lines = text.split("\n")
    if not lines or lines[0].rstrip() != "---":
        return None, text
    for index in range(1, len(lines)):
        if lines[index].rstrip() in ("---", "..."):
            return "\n".join(lines[1:index]), "\n".join(lines[index + 1 :]).lstrip("\n")
    return None, text


def parse(text: str, max_listed: int, max_depth: int) -> Card:
    front, body = split_front_matter(text)
    card = Card(text=body[:MAX_MODEL_CARD])
    if front is None:
        return card
    try:
        data = yaml_subset.loads(front, max_depth=max_depth)
    except yaml_subset.YamlError as err:
        card.warnings.append(f"README.md front matter not read: {err}")
        return card
    if not isinstance(data, dict):
        card.warnings.append("README.md front matter is not a mapping")
        return card
    _fill(card, data, max_listed)
    return card


def _strings(value: Any) -> list[str]:
    """A string or list of scalars as a list of non-empty strings."""
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, list):
        return [str(v) for v in value if isinstance(v, (str, int, float)) and str(v)]
    return []


def _fill(card: Card, data: dict[Any, Any], max_listed: int) -> None:
    for key in _TAG_KEYS:
        values = _strings(data.get(key))
        if values:
            card.tags[key] = ",".join(values)[:MAX_TAG_VALUE]
    # Free-form card tags become key-only tags when they are valid tag keys.
    for tag in _strings(data.get("tags")):
        if len(card.tags) >= MAX_TAGS:
            break
        if TAG_KEY.fullmatch(tag) and tag not in card.tags:
            card.tags[tag] = ""
    card.datasets = [Dataset(name=name[:256]) for name in _strings(data.get("datasets"))[:max_listed]]
    card.base_models = [name[:256] for name in _strings(data.get("base_model"))[:max_listed]]
    card.metadata = {key: jsonutil.clip(data[key], max_listed) for key in _METADATA_KEYS if key in data}
    results = _eval_results(data.get("model-index"), max_listed)
    if results:
        card.metadata["eval_results"] = results


def _eval_results(index: Any, max_listed: int) -> list[dict[str, Any]]:
    """model-index results flattened to {task, dataset, metric, value} rows."""
    rows: list[dict[str, Any]] = []
    if not isinstance(index, list):
        return rows
    for entry in index:
        for result in jsonutil.as_list(jsonutil.as_dict(entry).get("results")):
            if not isinstance(result, dict):
                continue
            task = jsonutil.as_dict(result.get("task"))
            dataset = jsonutil.as_dict(result.get("dataset"))
            for metric in jsonutil.as_list(result.get("metrics")):
                if not isinstance(metric, dict) or len(rows) >= max_listed:
                    continue
                value = metric.get("value")
                rows.append(
                    {
                        "task": str(task.get("type", ""))[:200],
                        "dataset": str(dataset.get("name", dataset.get("type", "")))[:200],
                        "split": str(dataset.get("split", ""))[:200],
                        "metric": str(metric.get("type", metric.get("name", "")))[:200],
                        "value": value if _is_number(value) else str(value)[:200],
                    }
                )
    return rows


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
