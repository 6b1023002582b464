"""TUI settings: defaults without a file, every bad value reported and replaced by its default."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from studbook.tui.config import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    TuiSettings,
    load_settings,
    parse_settings,
    settings_path,
)


def test_no_file_means_defaults_and_no_problems() -> None:
    settings, problems = load_settings()

    assert settings == TuiSettings()
    assert problems == []


def test_without_a_file_the_toml_parser_is_never_loaded(tmp_path: Path) -> None:
    """The usual start: no settings file, and the UI's first frame does not wait for tomllib."""
    script = (
        "import sys; from pathlib import Path; from studbook.tui.config import load_settings; "
        f"print(load_settings(Path({str(tmp_path / 'tui.toml')!r})), 'tomllib' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert out.split()[-1] == "False"


def test_the_file_lives_in_the_config_dir(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))

    assert settings_path() == tmp_path / "studbook" / "tui.toml"


def test_a_valid_file_sets_theme_keymap_and_columns(tmp_path: Path) -> None:
    path = tmp_path / "tui.toml"
    path.write_text(
        'theme = "textual-light"\npage_size = 5000\nversion_metrics = ["auc"]\n[keymap]\n"versions.promote" = "P"\n'
    )

    settings, problems = load_settings(path)

    assert problems == []
    assert settings.theme == "textual-light"
    assert settings.page_size == MAX_PAGE_SIZE
    assert settings.version_metrics == ("auc",)
    assert settings.keymap == {"versions.promote": "P"}


def test_a_broken_file_is_reported_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / "tui.toml"
    path.write_text("theme = [unclosed")

    settings, problems = load_settings(path)

    assert settings == TuiSettings()
    assert len(problems) == 1 and "using the defaults" in problems[0]


def test_wrong_values_are_each_reported_and_defaulted() -> None:
    settings, problems = parse_settings({"page_size": -1, "colour": "red", "keymap": {"a.b": 3, "c.d": "x"}})

    assert settings.page_size == DEFAULT_PAGE_SIZE
    assert settings.keymap == {"c.d": "x"}
    assert len(problems) == 3


@given(st.dictionaries(st.text(max_size=12), st.one_of(st.integers(), st.text(max_size=8), st.booleans(),
                                                        st.lists(st.text(max_size=4), max_size=3))))  # fmt: skip
def test_any_document_gives_settings(document: dict[str, object]) -> None:
    settings, problems = parse_settings(document)

    assert 0 < settings.page_size <= MAX_PAGE_SIZE
    assert isinstance(problems, list)
