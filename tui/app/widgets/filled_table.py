"""FilledTable: a DataTable whose rows are replaced as a whole, measured as they are added."""

from __future__ import annotations

from collections.abc import Iterable

from textual.widgets import DataTable


class FilledTable(DataTable[object]):
    """Every table the UI fills from the daemon's answers.

    DataTable measures new rows at its next idle. A frame may be drawn before that (the screen's
    own idle can come first), and what it drew stays cached under a key the later measuring does
    not change: the columns stay as narrow as their titles ("precision" cut to "precis") until
    each row is drawn again for another reason, such as the cursor passing over it.
    """

    def fill(self, rows: Iterable[Iterable[object]]) -> None:
        self.clear()
        self.add_rows(rows)
        self.measure_new_rows()

    def measure_new_rows(self) -> None:
        """Column widths and the scrollable size for the rows just added, now rather than at idle.

        Through DataTable's internals (its pending-measure set and dimension update): the public
        API measures only at idle. pyproject.toml pins Textual to the major version this was tested on.
        """
        new_rows = list(self._new_rows)
        self._new_rows.clear()
        self._update_dimensions(new_rows)
        self._require_update_dimensions = False
