"""A request's parameters as MLflow sends them: the query string of a GET, the JSON body otherwise."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from studbook.daemon.mlflow.errors import MlflowError, invalid


class Params:
    """Typed reads of one request's parameters, refusing as MLflow's server does."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self.values = values

    @classmethod
    def from_query(cls, pairs: list[tuple[str, str]]) -> Params:
        values: dict[str, Any] = {}
        for key, value in pairs:
            values.setdefault(key, []).append(value)
        # A query parameter given once is a value; repeated (order_by, stages) a list.
        return cls({key: items[0] if len(items) == 1 else items for key, items in values.items()})

    @classmethod
    def from_json(cls, body: object) -> Params:
        if body is None:
            return cls({})
        if not isinstance(body, dict):
            raise MlflowError("MALFORMED_REQUEST", "the request body must be a JSON object")
        return cls(body)

    def text(self, name: str, *, required: bool = False, default: str = "") -> str:
        value = self.values.get(name)
        if value is None or value == "":
            if required:
                raise invalid(f"Missing value for required parameter '{name}'. See the API docs for more "
                              "information about request parameters.", field=name)  # fmt: skip
            return default
        if isinstance(value, list):
            value = value[0] if len(value) == 1 else None
        if not isinstance(value, (str, int)) or isinstance(value, bool):
            raise invalid(f"Invalid value for parameter '{name}': expected a string", field=name)
        return str(value)

    def strings(self, name: str) -> list[str]:
        value = self.values.get(name)
        if value is None:
            return []
        items = value if isinstance(value, list) else [value]
        if not all(isinstance(item, str) for item in items):
            raise invalid(f"Invalid value for parameter '{name}': expected a list of strings", field=name)
        return [item for item in items if item]

    def integer(self, name: str, default: int) -> int:
        text = self.text(name)
        if not text:
            return default
        try:
            return int(text)
        except ValueError:
            raise invalid(f"Invalid value {text[:40]!r} for parameter '{name}': expected an integer",
                          field=name) from None  # fmt: skip

    def flag(self, name: str) -> bool:
        value = self.values.get(name)
        if isinstance(value, bool):
            return value
        return str(value or "").strip().lower() in ("true", "1")

    def version(self) -> int:
        """The `version` parameter: MLflow sends a version number as a string."""
        text = self.text("version", required=True)
        if not text.isdigit() or int(text) < 1:
            raise invalid(f"Invalid value {text[:40]!r} for parameter 'version': expected a version number "
                          "(1, 2, ...)", field="version")  # fmt: skip
        return int(text)

    def tags(self) -> dict[str, str]:
        """MLflow's `tags: [{"key": ..., "value": ...}]`."""
        value = self.values.get("tags") or []
        if not isinstance(value, list):
            raise invalid("Invalid value for parameter 'tags': expected a list of {key, value}", field="tags")
        tags: dict[str, str] = {}
        for item in value:
            if not isinstance(item, dict) or not isinstance(item.get("key"), str):
                raise invalid("Invalid value for parameter 'tags': each tag is {\"key\": ..., \"value\": ...}",
                              field="tags")  # fmt: skip
            tags[item["key"]] = str(item.get("value") or "")
        return tags
