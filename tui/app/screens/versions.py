"""VersionsScreen: a window of a model's versions, paged from the daemon as the user scrolls; mark two to diff."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from studbook.client.errors import StudbookError
from studbook.client.safe_text import safe, safe_lines
from studbook.tui import cells
from studbook.tui.cells import ThemeText
from studbook.tui.config import MAX_PAGE_SIZE
from studbook.tui.screens.base import RegistryScreen
from studbook.tui.screens.sort_picker import SortPicker
from studbook.tui.version_columns import Column, format_metric, layout, metric_columns
from studbook.tui.version_sorts import NEWEST, VersionSort, cycle, picker_choices, quote
from studbook.tui.widgets.filter_bar import FilterBar
from studbook.tui.widgets.fitted_text import FittedText
from studbook.tui.widgets.top_bar import TopBar
from studbook.tui.widgets.vim_table import View, VimTable
from studbook.tui.widgets.window_table import WindowTable
from studbook.v1 import events_pb2, registry_pb2, resources_pb2
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Static

MARK = "◆"
# The window holds this many rows, bounded by whole pages: enough to scroll a while between
# fetches, few enough that a page costs the same at version 100,000 as at version 1.
WINDOW_ROWS = 1000
MIN_WINDOW_PAGES = 3
MAX_WINDOW_PAGES = 10
# `G` asks for the last page again if versions registered meanwhile moved the end.
LAST_PAGE_TRIES = 3

# What a fetch is for, which decides where its rows go. REREAD is RESET for the window's own
# place read again (a resync, another client's change, `r`): the view must not move under the user.
RESET, REREAD, NEXT, PREVIOUS, FIRST, LAST = "reset", "reread", "next", "previous", "first", "last"


@dataclass(frozen=True)
class Fetch:
    kind: str
    filter: str


def shown_rows(offset: int, count: int, total: int) -> str:
    """`rows 99,901–100,000 of 100,000` (1-based, inclusive)."""
    if not count:
        return f"no rows of {total:,}" if total else "no versions"
    return f"rows {offset + 1:,}–{offset + count:,} of {total:,}"


class VersionsScreen(RegistryScreen):
    """Rows arrive a page at a time; `space` marks versions, `d` diffs the two marked.

    Only a window of a few pages around the viewport is held: `versions` are the rows from
    `first_row` on (0-based), out of `total`. Scrolling past either edge of the window loads the page beyond
    and drops pages far from the viewport; `g`/`G` load the first/last page directly.
    """

    AUTO_FOCUS = "VimTable"
    connects_after_first_load = True
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "filter", "Filter", id="versions.filter"),
        Binding("s", "sort", "Sort", id="versions.sort"),
        Binding("S", "pick_sort", "Sort by…", id="versions.sort_by"),
        Binding("r", "reload", "Refresh", id="versions.refresh"),
        Binding("space", "mark", "Mark", id="versions.mark"),
        Binding("d", "diff", "Diff", id="versions.diff"),
        Binding("p", "promote", "Promote", id="versions.promote"),
        Binding("R", "rollback", "Rollback", id="versions.rollback"),
        Binding("a", "archived", "Archived", id="versions.archived"),
    ]

    class PageLoaded(Message, bubble=False):
        def __init__(
            self, page: registry_pb2.ListModelVersionsResponse, fetch: Fetch, start: int, generation: int
        ) -> None:
            super().__init__()
            self.page = page
            self.fetch = fetch
            self.start = start
            self.generation = generation

    class ModelLoaded(Message, bubble=False):
        def __init__(self, model: resources_pb2.Model) -> None:
            super().__init__()
            self.model = model

    class MetricsLogged(Message, bubble=False):
        def __init__(self, keys: frozenset[str]) -> None:
            super().__init__()
            self.keys = keys

    class Failed(Message, bubble=False):
        def __init__(self, error: StudbookError, filter: str, generation: int = -1) -> None:
            super().__init__()
            self.error = error
            self.filter = filter
            self.generation = generation

    def __init__(self, model: str) -> None:
        super().__init__()
        self.model_id = model
        self.crumb = f"models › {model}"
        self.model: resources_pb2.Model | None = None
        self.versions: list[resources_pb2.ModelVersion] = []
        self.first_row = 0
        self.total = 0
        self.fetching = False
        self.filter_text = ""
        self.sort: VersionSort = NEWEST
        self.show_archived = False
        self.metric_keys: tuple[str, ...] = ()
        # Which of the chosen metrics any version of the model has; None until the daemon answered.
        self.logged_metrics: frozenset[str] | None = None
        self.columns: list[Column] = []
        # Widest value seen per text column at the last reset; widths never follow later pages.
        self.text_widths: dict[str, int] = {}
        self.marked: list[str] = []
        self._index: dict[str, int] = {}
        # Every fetch gets a new number; a page that arrives for an older one is dropped.
        self._generation = 0
        self._fetch_kind = RESET
        # A re-read asked for while a fetch the user asked for was on its way (see `reload`).
        self._reread_after_fetch = False
        # A new order shows its first row under the cursor, not the row the cursor was on.
        self._cursor_to_top = False
        # Versions registered meanwhile whose place in the current order only the daemon knows.
        self.new_versions_waiting = 0

    def compose_body(self) -> ComposeResult:
        yield FittedText("", id="model-info", markup=False)
        yield FilterBar("filter, e.g. metrics.auc > 0.9 AND status = READY", id="filter")
        yield Static("", id="status", classes="status-line", markup=False)
        yield WindowTable(id="versions")

    @property
    def page_size(self) -> int:
        return self.registry.settings.page_size

    @property
    def window_rows(self) -> int:
        """Rows held at most: a few pages, and always a screenful on either side of the viewport."""
        pages = max(MIN_WINDOW_PAGES * self.page_size, min(MAX_WINDOW_PAGES * self.page_size, WINDOW_ROWS))
        return max(pages, 2 * self.query_one(WindowTable).size.height + 2 * self.page_size)

    # ---- loading ----

    def reload(self) -> None:
        """The model and the rows at the window's place again (the top when nothing is shown yet).

        While a fetch the user asked for is on its way (`G`, a new filter, the next page), the
        re-read waits for it: started now, it would cancel that fetch and read the old place.
        """
        if self.fetching and self._fetch_kind != REREAD:
            self._reread_after_fetch = True
            return
        self.load_model()
        size = min(max(self.page_size, len(self.versions)), MAX_PAGE_SIZE)
        self._fetch(Fetch(REREAD, self.filter_text), self.first_row, size)

    @work(exclusive=True, group="versions-model")
    async def load_model(self) -> None:
        try:
            model = await self.registry.client.get_model(self.model_id)
        except StudbookError as error:
            self.post_message(self.Failed(error, ""))
            return
        self.post_message(self.ModelLoaded(model))

    def load_page(self, *, reset: bool, filter: str, start: int = 0, size: int = 0) -> None:
        """With `reset`, rows from `start` (the top by default) replace the window, e.g. for a new filter."""
        self._fetch(Fetch(RESET if reset else NEXT, filter), start, size or self.page_size)

    def _fetch(self, fetch: Fetch, start: int, size: int) -> None:
        self._generation += 1
        self.fetching, self._fetch_kind = True, fetch.kind
        self._load(fetch, start, size, self._generation)

    @work(exclusive=True, group="versions-page")
    async def _load(self, fetch: Fetch, start: int, size: int, generation: int) -> None:
        """One page of `size` rows from `start`; the last page is found from the total the daemon gives."""
        try:
            # Asked once, with the first page, so the columns are right from the first paint.
            if self.logged_metrics is None:
                logged = await self._logged_metrics()
                self.post_message(self.MetricsLogged(logged))
            for _ in range(LAST_PAGE_TRIES):
                page = await self._list(fetch, start, size)
                # Versions registered since `total` was read push the end further: ask once more.
                if fetch.kind != LAST or not page.next_page_token:
                    break
                start = max(0, int(page.total_size) - size)
        except StudbookError as error:
            self.post_message(self.Failed(error, fetch.filter, generation))
            return
        self.post_message(self.PageLoaded(page, fetch, start, generation))

    async def _list(self, fetch: Fetch, start: int, size: int) -> registry_pb2.ListModelVersionsResponse:
        return await self.registry.client.list_versions(
            self.model_id,
            filter=fetch.filter,
            order_by=self.sort.order_by,
            page_size=size,
            skip=start,
            show_archived=self.show_archived,
            summary_only=True,
        )

    def on_versions_screen_metrics_logged(self, message: MetricsLogged) -> None:
        self.logged_metrics = message.keys
        self._relayout()

    def on_versions_screen_page_loaded(self, message: PageLoaded) -> None:
        if message.generation != self._generation:
            return
        self.fetching = False
        if self._reread_after_fetch:
            self.call_later(self._reread_deferred)
        # Opened first (a model named at start-up): the live connection starts right after the
        # revision these rows reflect, so nothing needs reading again once it has answered.
        self.registry.connect(since=message.page.revision or None)
        page, kind, start = message.page, message.fetch.kind, message.start
        rows = list(page.versions)
        self.total = int(page.total_size)
        if kind in (RESET, REREAD):
            self._reset(rows, start, message.fetch.filter, reread=kind == REREAD)
        elif kind in (FIRST, LAST):
            self._replace(rows, start, cursor=0 if kind == FIRST else len(rows) - 1)
        elif kind == NEXT and start == self.first_row + len(self.versions):
            self._append(rows)
        elif kind == PREVIOUS and start + len(rows) == self.first_row:
            self._prepend(rows)
        self._show_status()
        # The viewport may still reach an edge of the window (a tall terminal, a short page).
        table = self.query_one(WindowTable)
        self.call_after_refresh(table.check_edges)

    def _reset(self, rows: list[resources_pb2.ModelVersion], start: int, filter: str, *, reread: bool) -> None:
        keep = self._cursor_name()
        table = self.query_one(WindowTable)
        row, view = table.cursor_row, table.view()  # new columns clear the table: read them first
        self.filter_text = filter
        self.query_one(FilterBar).accepted(filter)
        self.new_versions_waiting = 0
        self._measure(rows)
        self._set_columns()
        if not rows and start:  # the window's place is past the end now: start from the top
            self._fetch(Fetch(RESET, filter), 0, self.page_size)
            return
        positions = {version.name: index for index, version in enumerate(rows)}
        cursor = 0 if self._cursor_to_top else positions.get(keep or "", row)
        kept = view if reread and not self._cursor_to_top else None
        self._cursor_to_top = False
        self._replace(rows, start, cursor=cursor, view=kept)

    def _replace(
        self, rows: list[resources_pb2.ModelVersion], start: int, *, cursor: int, view: View | None = None
    ) -> None:
        """The window is `rows` from `start`; with `view` (the same place read again) the view stays as it was."""
        self.versions, self.first_row = rows, start
        self._reindex()
        table, cells_ = self.query_one(WindowTable), [self._row(v) for v in rows]
        if view is None:
            table.replace(cells_, cursor=cursor)
        else:
            table.refill(cells_, cursor=cursor, view=view)

    def _append(self, rows: list[resources_pb2.ModelVersion]) -> None:
        drop = self._overflow(len(rows))
        self.versions = self.versions[drop:] + rows
        self.first_row += drop
        self._reindex()
        self.query_one(WindowTable).splice(append=[self._row(v) for v in rows], drop_front=drop)

    def _prepend(self, rows: list[resources_pb2.ModelVersion]) -> None:
        drop = self._overflow(len(rows))
        self.versions = rows + self.versions[: len(self.versions) - drop]
        self.first_row -= len(rows)
        self._reindex()
        self.query_one(WindowTable).splice(prepend=[self._row(v) for v in rows], drop_back=drop)

    def _overflow(self, incoming: int) -> int:
        """Rows to drop from the far side so the window stays within `window_rows`, whole pages at a time."""
        excess = len(self.versions) + incoming - self.window_rows
        if excess <= 0:
            return 0
        pages = -(-excess // self.page_size)
        return min(len(self.versions), pages * self.page_size)

    def _reindex(self) -> None:
        # DataTable gives rows generated keys; our own index maps version names to window rows.
        self._index = {version.name: row for row, version in enumerate(self.versions)}

    def _cursor_name(self) -> str | None:
        row = self.query_one(WindowTable).cursor_row
        return self.versions[row].name if 0 <= row < len(self.versions) else None

    def on_versions_screen_model_loaded(self, message: ModelLoaded) -> None:
        self.model = message.model
        self._show_model()
        self._relayout()

    async def _logged_metrics(self) -> frozenset[str]:
        """Which chosen metrics any version of the model has: a column no version fills is left out."""

        async def logged(key: str) -> bool:
            page = await self.registry.client.list_versions(
                self.model_id, filter=f"metrics:{quote(key)}", page_size=1, summary_only=True, show_archived=True
            )
            return bool(page.total_size)

        keys = self.chosen_metrics
        found = await asyncio.gather(*(logged(key) for key in keys))
        return frozenset(key for key, present in zip(keys, found) if present)

    def _reread_deferred(self) -> None:
        if self._reread_after_fetch and not self.fetching:
            self._reread_after_fetch = False
            self.reload()

    def on_versions_screen_failed(self, message: Failed) -> None:
        self.registry.connect()
        if message.generation == self._generation:
            self.fetching = False
            if self._reread_after_fetch:
                self.call_later(self._reread_deferred)
        if message.error.reason in ("INVALID_FILTER", "INVALID_ARGUMENT", "INVALID_ORDER_BY") and message.filter:
            self.query_one(FilterBar).refused(f"{message.error.message} [{message.error.reason}]")
        else:
            self.show_error(message.error, self.model_id)

    @property
    def chosen_metrics(self) -> tuple[str, ...]:
        """The metric columns the user asked for: `version_metrics`, else `key_metrics`."""
        settings = self.registry.settings
        return tuple(settings.version_metrics or settings.key_metrics)

    def _measure(self, rows: list[resources_pb2.ModelVersion]) -> None:
        """Widest value per text column in these rows; later pages are cut to these widths, never measured."""
        widths: dict[str, int] = {}
        for version in rows:
            for key, text in self._texts(version).items():
                widths[key] = max(widths.get(key, 0), len(text))
        self.text_widths = widths

    def _set_columns(self) -> None:
        """The columns that fit the table's width: the chosen metrics and the sorted-by one, never the data's."""
        table = self.query_one(WindowTable)
        chosen = self.shown_metrics
        self.metric_keys = metric_columns(chosen, self.sort.metric)
        width = (table.size.width or self.app.size.width) - table.styles.scrollbar_size_vertical
        widths = {**self.text_widths, **self._model_widths()}
        self.columns = layout(chosen, width, widths, sorted_by=self.sort.metric, arrow=self.sort.arrow)
        columns = [(column.title, column.width) for column in self.columns]
        if columns != self._columns(table):
            table.set_columns(columns)

    @property
    def shown_metrics(self) -> tuple[str, ...]:
        """The chosen metrics this model has logged at all (all of them until the daemon said)."""
        logged = self.logged_metrics
        return tuple(k for k in self.chosen_metrics if logged is None or k in logged)

    def _model_widths(self) -> dict[str, int]:
        """Widths the model itself decides: its highest version number, the stages and aliases a version holds."""
        model = self.model
        if model is None:
            return {}
        stages: dict[str, list[str]] = {}
        for stage, holder in model.stage_holders.items():
            stages.setdefault(holder, []).append(stage)
        aliases: dict[str, list[str]] = {}
        for alias, holder in model.aliases.items():
            aliases.setdefault(holder, []).append(alias)
        widths = {"version": len(str(model.latest_version))}
        if stages:
            widths["stage"] = max(len(" ".join(held)) for held in stages.values())
        if aliases:
            widths["aliases"] = max(len(" ".join(held)) for held in aliases.values())
        return {key: max(width, self.text_widths.get(key, 0)) for key, width in widths.items()}

    def on_resize(self) -> None:
        # A narrower or wider terminal keeps or leaves out whole columns: lay them out again,
        # once the table has its new size.
        self.call_after_refresh(self._relayout)

    def _relayout(self) -> None:
        before = self.columns
        if not before:
            return
        self._set_columns()
        if self.columns != before:
            table = self.query_one(WindowTable)
            row = table.cursor_row
            table.replace([self._row(v) for v in self.versions], cursor=row)

    @staticmethod
    def _columns(table: WindowTable) -> list[tuple[str, int]]:
        return [(column.label.plain, column.width) for column in table.ordered_columns]

    def _texts(self, version: resources_pb2.ModelVersion) -> dict[str, str]:
        """The text of each non-metric column for `version`."""
        return {
            "version": str(version.number),
            "semver": version.semver,
            "stage": " ".join(version.stages),
            "aliases": " ".join(version.aliases),
            # Summary listings leave the files out but name the largest file's format.
            "format": version.format or cells.formats(version),
            "size": cells.size(version.total_size),
            "status": cells.status(version),
            "created": self.registry.times.ago(version.create_time),
            "by": version.created_by,
        }

    def _row(self, version: resources_pb2.ModelVersion) -> list[Text]:
        paint = self.paint()
        texts = self._texts(version)
        metrics = metric_values(version)
        stage_role = "good" if "production" in version.stages else "accent"
        roles = {"version": "bold", "stage": stage_role, "aliases": "secondary", "created": "muted", "by": "muted"}
        row: list[Text] = []
        for column in self.columns:
            if column.key == "mark":
                cell = self._mark(version, paint)
            elif column.metric:
                cell = paint(format_metric(metrics.get(column.metric)))
            elif column.key == "status":
                cell = cells.status_cell(version, paint)
            else:
                cell = paint(texts[column.key], roles.get(column.key))
            # Longer than its column: cut with a visible `…` rather than silently.
            cell.truncate(column.width, overflow="ellipsis")
            row.append(cell)
        return row

    def _mark(self, version: resources_pb2.ModelVersion, paint: ThemeText) -> Text:
        return paint(MARK if version.name in self.marked else "", "warn")

    def _show_model(self) -> None:
        model = self.model
        if model is None:
            return
        lines = [model.description or "(no description)"]
        facts = [f"owner {model.owner}" if model.owner else "", f"{model.version_count} versions"]
        holders = cells.holders(model.stage_holders, model.stages)
        aliases = cells.holders(model.aliases)
        facts += [f"stages {holders}" if holders else "no stage holders", f"aliases {aliases}" if aliases else ""]
        lines.append(" · ".join(f for f in facts if f))
        self.query_one("#model-info", FittedText).update(safe_lines("\n".join(lines)))

    def _show_status(self) -> None:
        parts = [shown_rows(self.first_row, len(self.versions), self.total), f"sorted by {self.sort.label}"]
        if self.filter_text:
            parts.append(f"filter: {self.filter_text}")
        if self.show_archived:
            parts.append("archived shown")
        if self.marked:
            parts.append("marked " + ", ".join(cells.number(n) for n in self.marked))
        if self.new_versions_waiting:
            parts.append(f"{self.new_versions_waiting} new — press r")
        self.query_one("#status", Static).update(safe(" · ".join(parts)))

    # ---- paging ----

    def on_vim_table_near_end(self) -> None:
        end = self.first_row + len(self.versions)
        if end < self.total and not self.fetching:
            self._fetch(Fetch(NEXT, self.filter_text), end, self.page_size)

    def on_window_table_near_start(self) -> None:
        if self.first_row > 0 and not self.fetching:
            start = max(0, self.first_row - self.page_size)
            self._fetch(Fetch(PREVIOUS, self.filter_text), start, self.first_row - start)

    def on_vim_table_jumped_to_end(self) -> None:
        # Whatever is loading now is for rows `G` leaves behind: this fetch supersedes it.
        if self.first_row + len(self.versions) < self.total:
            self._fetch(Fetch(LAST, self.filter_text), max(0, self.total - self.page_size), self.page_size)

    def on_window_table_jumped_to_start(self) -> None:
        if self.first_row > 0:
            self._fetch(Fetch(FIRST, self.filter_text), 0, self.page_size)

    # ---- live ----

    def concerns(self, event: events_pb2.Event) -> bool:
        return event.model in (self.model_id, f"models/{self.model_id}") or self._renamed_away(event)

    def _renamed_away(self, event: events_pb2.Event) -> bool:
        """The model shown was renamed: the event's subject is its old name."""
        return event.type == "model.renamed" and event.subject == f"models/{self.model_id}"

    def apply_event(self, event: events_pb2.Event) -> None:
        if self._renamed_away(event):
            # Follow the model to its new name: the same versions, listed under it.
            self.model_id = event.model
            self.crumb = f"models › {event.model}"
            self.query_one(TopBar).set_crumb(self.crumb)
            self.marked.clear()
            self.notify(f"model renamed to {event.model}", timeout=4)
            self.schedule_reload()
        elif event.type == "version.created" and event.HasField("version"):
            self._version_created(event.version)
        elif event.type == "version.purged":
            self.schedule_reload()  # its row goes, and those after it move up
        elif event.type.startswith("version.") and event.HasField("version"):
            self._version_updated(event.version)
        else:
            self.schedule_reload()

    def _version_created(self, version: resources_pb2.ModelVersion) -> None:
        if version.name in self._index:
            return
        newest_first = self.sort == NEWEST and not self.filter_text
        if self.first_row == 0 and len(self.versions) <= self.page_size:
            self.schedule_reload()  # only the first page is shown: reading it again is cheap
        elif not newest_first:
            self.new_versions_waiting += 1  # its place in this order is the daemon's to say
            self._show_status()
        else:
            # Newest first: every row shown moves one place down; at the top the new one joins them.
            self.first_row += 1
            self.total += 1
            if self.first_row == 1:
                self._prepend([version])
            self._show_status()
            self.load_model()

    def _version_updated(self, version: resources_pb2.ModelVersion) -> None:
        row = self._index.get(version.name)
        if row is not None:
            self.versions[row] = version
            self.query_one(WindowTable).set_row(row, self._row(version))

    # ---- actions ----

    def selected(self) -> resources_pb2.ModelVersion | None:
        table = self.query_one(VimTable)
        if not self.versions or table.cursor_row >= len(self.versions):
            return None
        return self.versions[table.cursor_row]

    @on(VimTable.RowSelected)
    def open_version(self, event: VimTable.RowSelected) -> None:
        if 0 <= event.cursor_row < len(self.versions):
            self.registry.open_version(self._ref(self.versions[event.cursor_row]))

    def _ref(self, version: resources_pb2.ModelVersion) -> str:
        return f"{self.model_id}@{version.number}"

    def action_filter(self) -> None:
        self.query_one(FilterBar).open()

    def on_filter_bar_applied(self, message: FilterBar.Applied) -> None:
        self.load_page(reset=True, filter=message.text)
        if not message.text:
            self.query_one(FilterBar).action_close()

    def on_filter_bar_closed(self) -> None:
        self.query_one(VimTable).focus()

    def action_sort(self) -> None:
        """Step to the next order: newest, oldest, created, semver, then each metric column best first."""
        sorts = cycle(self.shown_metrics)
        following = sorts.index(self.sort) + 1 if self.sort in sorts else 0
        self.sort_by(sorts[following % len(sorts)])

    def action_pick_sort(self) -> None:
        """A list of every order, metrics first; typing narrows it or names any metric key."""
        seen: dict[str, None] = dict.fromkeys(self.shown_metrics)
        for version in self.versions:
            seen.update(dict.fromkeys(m.key for m in version.metrics if not m.HasField("step")))
        self.app.push_screen(SortPicker(picker_choices(seen), self.sort), self._picked)

    def _picked(self, sort: VersionSort | None) -> None:
        if sort is not None:
            self.sort_by(sort)

    def sort_by(self, sort: VersionSort) -> None:
        """Ask the daemon for the rows in this order, from the top (the best first for a metric)."""
        self.sort = sort
        self.first_row = 0
        self._cursor_to_top = True
        self.load_page(reset=True, filter=self.filter_text)

    def action_archived(self) -> None:
        self.show_archived = not self.show_archived
        self.load_page(reset=True, filter=self.filter_text)

    def action_reload(self) -> None:
        # Asked for by the user, so a chosen metric logged meanwhile may now get its column;
        # live updates never change the columns by themselves.
        self.logged_metrics = None
        self.reload()

    def action_mark(self) -> None:
        version = self.selected()
        if version is None:
            return
        before = set(self.marked)
        if version.name in self.marked:
            self.marked = [name for name in self.marked if name != version.name]
        else:
            self.marked = [*self.marked, version.name][-2:]
        table, paint = self.query_one(WindowTable), self.paint()
        # Only the rows whose mark changed are redrawn; marks are kept by name, so pages loaded later show them too.
        for name in before.symmetric_difference(self.marked):
            row = self._index.get(name)
            if row is not None:
                table.set_cell(row, 0, self._mark(self.versions[row], paint))
        self._show_status()
        table.action_cursor_down()

    def action_diff(self) -> None:
        """Two marked: diff them (older as base); one or none: the cursor's version against production."""
        if len(self.marked) == 2:
            base, target = sorted(self.marked, key=lambda n: int(n.rsplit("/", 1)[-1]))
            self.registry.open_diff(_short(base), _short(target))
            return
        version = self.selected()
        chosen = self.marked[0] if self.marked else version.name if version else None
        if chosen is not None:
            self.registry.open_diff(f"{self.model_id}@production", _short(chosen))

    def action_promote(self) -> None:
        version = self.selected()
        if version is not None:
            self.registry.start_promote(self._ref(version))

    def action_rollback(self) -> None:
        version = self.selected()
        stage = next(iter(version.stages), "production") if version else "production"
        self.registry.start_rollback(self.model_id, stage)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("promote", "rollback") and self.registry.readonly:
            return False
        return True


def metric_values(version: resources_pb2.ModelVersion) -> dict[str, float]:
    """Each metric's value for its column, the one the daemon sorts by: per split, the final value
    (else the one at the highest step); over several splits, the highest of them."""
    latest: dict[tuple[str, str], tuple[bool, int, float]] = {}
    for metric in version.metrics:
        final = not metric.HasField("step")
        rank = (final, metric.step if not final else 0, metric.value)
        known = latest.get((metric.key, metric.split))
        if known is None or rank[:2] >= known[:2]:
            latest[(metric.key, metric.split)] = rank
    values: dict[str, float] = {}
    for (key, _), (_, _, value) in latest.items():
        values[key] = max(values.get(key, value), value)
    return values


def _short(name: str) -> str:
    """`models/m/versions/3` -> `m@3`."""
    parts = name.split("/")
    return f"{parts[1]}@{parts[3]}" if len(parts) == 4 else name
