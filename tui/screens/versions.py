"""VersionsScreen: a model's versions, paged from the daemon as the user scrolls; mark two to diff."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Static

from studbook.tui import cells
from studbook.tui.errors import StudbookError
from studbook.tui.screens.base import RegistryScreen
from studbook.tui.widgets.filter_bar import FilterBar
from studbook.tui.widgets.vim_table import VimTable
from studbook.v1 import events_pb2, registry_pb2, resources_pb2

# (order_by sent to the daemon, label)
SORTS = (("", "newest first"), ("number", "oldest first"), ("create_time desc", "created"), ("semver desc", "semver"))
# `G` walks to the end in big pages: fewer round trips for a long history.
BULK_PAGE_SIZE = 1000
METRIC_COLUMNS = 3
MARK = "◆"


class VersionsScreen(RegistryScreen):
    """Rows arrive a page at a time; `space` marks versions, `d` diffs the two marked."""

    AUTO_FOCUS = "VimTable"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "filter", "Filter", id="versions.filter"),
        Binding("s", "sort", "Sort", id="versions.sort"),
        Binding("r", "reload", "Refresh", id="versions.refresh"),
        Binding("space", "mark", "Mark", id="versions.mark"),
        Binding("d", "diff", "Diff", id="versions.diff"),
        Binding("p", "promote", "Promote", id="versions.promote"),
        Binding("R", "rollback", "Rollback", id="versions.rollback"),
        Binding("a", "archived", "Archived", id="versions.archived"),
    ]

    class PageLoaded(Message, bubble=False):
        def __init__(self, page: registry_pb2.ListModelVersionsResponse, reset: bool, filter: str) -> None:
            super().__init__()
            self.page = page
            self.reset = reset
            self.filter = filter

    class ModelLoaded(Message, bubble=False):
        def __init__(self, model: resources_pb2.Model) -> None:
            super().__init__()
            self.model = model

    class Failed(Message, bubble=False):
        def __init__(self, error: StudbookError, filter: str) -> None:
            super().__init__()
            self.error = error
            self.filter = filter

    def __init__(self, model: str) -> None:
        super().__init__()
        self.model_id = model
        self.crumb = f"models › {model}"
        self.model: resources_pb2.Model | None = None
        self.versions: list[resources_pb2.ModelVersion] = []
        self.token = ""
        self.total = 0
        self.fetching = False
        self.filter_text = ""
        self.sort_index = 0
        self.show_archived = False
        self.metric_keys: tuple[str, ...] = ()
        self.marked: list[str] = []
        self._index: dict[str, int] = {}
        # Versions registered meanwhile whose place in the current order only the daemon knows.
        self.new_versions_waiting = 0

    def compose_body(self) -> ComposeResult:
        yield Static("", id="model-info", markup=False)
        yield FilterBar('filter, e.g. metrics.auc > 0.9 AND status = READY', id="filter")
        yield Static("", id="status", classes="status-line", markup=False)
        yield VimTable(id="versions")

    # ---- loading ----

    def reload(self) -> None:
        self.load_model()
        self.load_page(reset=True, filter=self.filter_text)

    @work(exclusive=True, group="versions-model")
    async def load_model(self) -> None:
        try:
            model = await self.registry.client.get_model(self.model_id)
        except StudbookError as error:
            self.post_message(self.Failed(error, ""))
            return
        self.post_message(self.ModelLoaded(model))

    @work(exclusive=True, group="versions-page")
    async def load_page(self, *, reset: bool, filter: str, to_end: bool = False) -> None:
        """One page after the last one shown (or the first, with `reset`); with `to_end`, every page left."""
        self.fetching = True
        token = "" if reset else self.token
        try:
            while True:
                page = await self.registry.client.list_versions(
                    self.model_id,
                    filter=filter,
                    order_by=SORTS[self.sort_index][0],
                    page_size=BULK_PAGE_SIZE if to_end else self.registry.settings.page_size,
                    page_token=token,
                    show_archived=self.show_archived,
                    summary_only=True,
                )
                self.post_message(self.PageLoaded(page, reset, filter))
                token, reset = page.next_page_token, False
                if not (to_end and token):
                    return
        except StudbookError as error:
            self.fetching = False
            self.post_message(self.Failed(error, filter))

    def on_versions_screen_page_loaded(self, message: PageLoaded) -> None:
        table = self.query_one(VimTable)
        page = message.page
        if message.reset:
            keep = self._cursor_name()
            self.filter_text = message.filter
            self.query_one(FilterBar).accepted(message.filter)
            self.versions = []
            self.new_versions_waiting = 0
            self._set_columns(page.versions)
            table.clear()
        else:
            keep = None
        self.versions.extend(page.versions)
        self.token = page.next_page_token
        self.total = page.total_size
        self.fetching = False
        table.add_rows([self._row(v) for v in page.versions])
        self._keys_from(len(self.versions) - len(page.versions))
        if keep is not None and keep in self._index:
            table.move_cursor(row=self._index[keep])
        self._show_status()

    def _cursor_name(self) -> str | None:
        row = self.query_one(VimTable).cursor_row
        return self.versions[row].name if 0 <= row < len(self.versions) else None

    def _keys_from(self, start: int) -> None:
        # DataTable.add_rows gives generated keys; our own index maps version names to rows.
        if start == 0:
            self._index.clear()
        for offset, version in enumerate(self.versions[start:], start):
            self._index[version.name] = offset

    def on_versions_screen_model_loaded(self, message: ModelLoaded) -> None:
        self.model = message.model
        self._show_model()
        self._refill()

    def on_versions_screen_failed(self, message: Failed) -> None:
        if message.error.reason in ("INVALID_FILTER", "INVALID_ARGUMENT", "INVALID_ORDER_BY") and message.filter:
            self.query_one(FilterBar).refused(f"{message.error.message} [{message.error.reason}]")
        else:
            self.show_error(message.error, self.model_id)

    def _set_columns(self, first_page: list[resources_pb2.ModelVersion]) -> None:
        chosen = self.registry.settings.version_metrics
        if not chosen:
            seen: dict[str, None] = {}
            for version in first_page:
                seen.update(dict.fromkeys(cells.latest_metrics(version.metrics)))
            chosen = tuple(list(seen)[:METRIC_COLUMNS])
        table = self.query_one(VimTable)
        if chosen != self.metric_keys or not table.columns:
            self.metric_keys = tuple(chosen)
            table.clear(columns=True)
            titles = ["", "VERSION", "SEMVER", "STAGE", "ALIASES", *(k.upper() for k in self.metric_keys)]
            table.add_columns(*titles, "FORMAT", "SIZE", "STATUS", "CREATED", "BY")

    def _row(self, version: resources_pb2.ModelVersion) -> list[Text]:
        paint = self.paint()
        metrics = cells.latest_metrics(version.metrics)
        stage_role = "good" if "production" in version.stages else "accent"
        return [
            paint(MARK if version.name in self.marked else "", "warn"),
            paint(str(version.number), "bold"),
            paint(version.semver),
            paint(" ".join(version.stages), stage_role),
            paint(" ".join(version.aliases), "secondary"),
            *(paint(cells.value(metrics.get(key))) for key in self.metric_keys),
            paint(cells.formats(version)),
            paint(cells.size(version.total_size)),
            cells.status_cell(version, paint),
            paint(self.registry.times.ago(version.create_time), "muted"),
            paint(version.created_by, "muted"),
        ]

    def _refill(self) -> None:
        """Redraw every loaded row from memory (marks, new versions on top, stage moves)."""
        table = self.query_one(VimTable)
        keep = self._cursor_name()
        row = table.cursor_row
        table.clear()
        table.add_rows([self._row(v) for v in self.versions])
        self._keys_from(0)
        table.move_cursor(row=self._index.get(keep or "", row) if keep else row)
        self._show_status()

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
        self.query_one("#model-info", Static).update("\n".join(lines))

    def _show_status(self) -> None:
        parts = [f"{len(self.versions)} of {self.total} loaded", f"sorted {SORTS[self.sort_index][1]}"]
        if self.filter_text:
            parts.append(f"filter: {self.filter_text}")
        if self.show_archived:
            parts.append("archived shown")
        if self.marked:
            parts.append("marked " + ", ".join(cells.number(n) for n in self.marked))
        if self.new_versions_waiting:
            parts.append(f"{self.new_versions_waiting} new — press r")
        self.query_one("#status", Static).update(" · ".join(parts))

    # ---- paging ----

    def on_vim_table_near_end(self) -> None:
        if self.token and not self.fetching:
            self.fetching = True
            self.load_page(reset=False, filter=self.filter_text)

    def on_vim_table_jumped_to_end(self) -> None:
        if self.token:
            self.fetching = True
            self.load_page(reset=False, filter=self.filter_text, to_end=True)

    # ---- live ----

    def concerns(self, event: events_pb2.Event) -> bool:
        return event.model in (self.model_id, f"models/{self.model_id}")

    def apply_event(self, event: events_pb2.Event) -> None:
        if event.type == "version.created" and event.HasField("version"):
            self._version_created(event.version)
        elif event.type.startswith("version.") and event.HasField("version"):
            self._version_updated(event.version)
        else:
            self.schedule_reload()

    def _version_created(self, version: resources_pb2.ModelVersion) -> None:
        if version.name in self._index:
            return
        if len(self.versions) <= self.registry.settings.page_size:
            self.schedule_reload()  # only the first page is shown: reading it again is cheap
            return
        if SORTS[self.sort_index][0] or self.filter_text:
            self.new_versions_waiting += 1  # its place in this order is the daemon's to say
            self._show_status()
            return
        self.versions.insert(0, version)
        self.total += 1
        self._refill()
        self.load_model()

    def _version_updated(self, version: resources_pb2.ModelVersion) -> None:
        row = self._index.get(version.name)
        if row is not None:
            self.versions[row] = version
            self._refill()

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
        self.sort_index = (self.sort_index + 1) % len(SORTS)
        self.load_page(reset=True, filter=self.filter_text)

    def action_archived(self) -> None:
        self.show_archived = not self.show_archived
        self.load_page(reset=True, filter=self.filter_text)

    def action_reload(self) -> None:
        self.reload()

    def action_mark(self) -> None:
        version = self.selected()
        if version is None:
            return
        if version.name in self.marked:
            self.marked.remove(version.name)
        else:
            self.marked = [*self.marked, version.name][-2:]
        self._refill()
        self.query_one(VimTable).action_cursor_down()

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


def _short(name: str) -> str:
    """`models/m/versions/3` -> `m@3`."""
    parts = name.split("/")
    return f"{parts[1]}@{parts[3]}" if len(parts) == 4 else name
