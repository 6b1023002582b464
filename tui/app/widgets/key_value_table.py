"""KeyValueTable: a two-column table of names and values (params, environment, tags)."""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text
from studbook.client.safe_text import safe
from studbook.tui.widgets.filled_table import FilledTable


class KeyValueTable(FilledTable):
    """Rows are replaced as a whole with `show`; values are plain text, never markup."""

    def __init__(self, key_title: str = "KEY", value_title: str = "VALUE", *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.titles = (key_title, value_title)

    def on_mount(self) -> None:
        self.add_columns(*self.titles)

    def show(self, pairs: Iterable[tuple[str, str]]) -> None:
        self.fill([(Text(safe(key)), Text(safe(value))) for key, value in pairs])
