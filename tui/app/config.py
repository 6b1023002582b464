"""Settings of the terminal UI, read from `tui.toml` in the config dir: theme, keymap, columns."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from studbook import locations

FILE_NAME = "tui.toml"
DEFAULT_THEME = "textual-dark"
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
# The first of these a model's latest version has is its "key metric" on the models screen.
DEFAULT_KEY_METRICS = ("auc", "f1", "accuracy", "precision", "recall", "loss")

EXAMPLE = """\
# studbook terminal UI settings
theme = "textual-light"          # any Textual theme name
page_size = 100                  # versions fetched per page
key_metrics = ["auc", "f1"]      # models screen: first one the latest version has
version_metrics = ["auc", "f1"]  # versions table: metric columns (empty: key_metrics)

[keymap]                         # binding id = "keys" (comma-separated); `?` lists the ids
"versions.promote" = "p"
"table.bottom" = "G,end"
"""


@dataclass(frozen=True)
class TuiSettings:
    """What a user can set; every field has a default, so a missing file is fine."""

    theme: str = DEFAULT_THEME
    page_size: int = DEFAULT_PAGE_SIZE
    key_metrics: tuple[str, ...] = DEFAULT_KEY_METRICS
    # Metric columns of the versions table; empty means key_metrics (those the model has logged).
    version_metrics: tuple[str, ...] = ()
    # Binding id -> keys, applied with App.set_keymap.
    keymap: Mapping[str, str] = field(default_factory=dict)


def settings_path() -> Path:
    return locations.config_dir() / FILE_NAME


def load_settings(path: Path | None = None) -> tuple[TuiSettings, list[str]]:
    """The settings in `path` (default: the user's file) and a list of problems found.

    A broken file never stops the UI: each bad value is reported and its default kept.
    """
    path = path or settings_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return TuiSettings(), []
    except (OSError, UnicodeDecodeError) as error:
        return TuiSettings(), [f"{path}: {error}; using the defaults"]
    # Imported only once there is a file: without one (the usual case) the parser is never needed.
    import tomllib

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        return TuiSettings(), [f"{path}: {error}; using the defaults"]
    return parse_settings(data, source=str(path))


def parse_settings(data: Mapping[str, Any], source: str = FILE_NAME) -> tuple[TuiSettings, list[str]]:
    """Settings from a parsed TOML document; unknown keys and wrong types become problems."""
    problems: list[str] = []
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key == "theme" and isinstance(value, str) and value:
            values["theme"] = value
        elif key == "page_size" and isinstance(value, int) and not isinstance(value, bool) and value > 0:
            values["page_size"] = min(value, MAX_PAGE_SIZE)
        elif key in ("key_metrics", "version_metrics") and _is_str_list(value):
            values[key] = tuple(value)
        elif key == "keymap" and isinstance(value, Mapping):
            keymap = {str(k): v for k, v in value.items() if isinstance(v, str) and v.strip()}
            problems += [f"{source}: keymap.{k} must be a non-empty string of keys" for k in value if k not in keymap]
            values["keymap"] = keymap
        else:
            problems.append(f"{source}: ignored {key} = {value!r}")
    return TuiSettings(**values), problems


def _is_str_list(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) and item for item in value)
