"""ModelsScreen: every model with its stage holders, latest version, key metric and last change."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from studbook.client.errors import StudbookError
from studbook.client.safe_text import safe
from studbook.tui import cells, collector
from studbook.tui.column_fit import fit_columns
from studbook.tui.screens.base import RegistryScreen
from studbook.tui.widgets.filter_bar import FilterBar
from studbook.tui.widgets.vim_table import VimTable
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Static

if TYPE_CHECKING:
    from studbook.v1 import events_pb2, registry_pb2, resources_pb2

# (order_by sent to the daemon, label)
SORTS = (("name", "name"), ("update_time desc", "recently changed"), ("create_time desc", "newest"), ("owner", "owner"))
MAX_MODELS = 1000
# Latest-version look-ups in flight at once.
LOOKUPS = 8
COLUMNS = ("MODEL", "PRODUCTION", "STAGING", "ALIASES", "LATEST", "VERSIONS", "KEY METRIC", "OWNER", "CHANGED")
# Which columns stay when the terminal is narrow, most useful first; the rest are left out whole.
RANKING = ("MODEL", "PRODUCTION", "LATEST", "KEY METRIC", "STAGING", "CHANGED", "VERSIONS", "ALIASES", "OWNER")


class ModelsScreen(RegistryScreen):
    """The first screen. `enter` opens a model's versions."""

    crumb = "models"
    AUTO_FOCUS = "VimTable"
    connects_after_first_load = True
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "filter", "Filter", id="models.filter"),
        Binding("s", "sort", "Sort", id="models.sort"),
        Binding("r", "reload", "Refresh", id="models.refresh"),
        Binding("d", "diff", "Diff", id="models.diff"),
        Binding("p", "promote", "Promote", id="models.promote"),
        Binding("R", "rollback", "Rollback", id="models.rollback"),
        # Not in the footer, which is full; `?` lists it.
        Binding("A", "approvals", "Pending approvals", show=False, id="models.approvals"),
    ]

    class Loaded(Message, bubble=False):
        def __init__(self, page: registry_pb2.ListModelsResponse, filter: str) -> None:
            super().__init__()
            self.page = page
            self.filter = filter

    class LatestLoaded(Message, bubble=False):
        def __init__(self, latest: dict[str, resources_pb2.ModelVersion]) -> None:
            super().__init__()
            self.latest = latest

    class BreachesLoaded(Message, bubble=False):
        def __init__(self, breached: dict[str, list[str]]) -> None:
            super().__init__()
            self.breached = breached

    class Failed(Message, bubble=False):
        def __init__(self, error: StudbookError, filter: str) -> None:
            super().__init__()
            self.error = error
            self.filter = filter

    def __init__(self) -> None:
        super().__init__()
        self.sort_index = 0
        self.filter_text = ""
        # The filter last asked for; its listing may still be on its way (`filter_text` is the one shown).
        self.wanted_filter = ""
        self.models: dict[str, resources_pb2.Model] = {}
        self.latest: dict[str, resources_pb2.ModelVersion] = {}
        # Model name -> its stages whose monitors are in breach, each shown as a badge.
        self.breached: dict[str, list[str]] = {}
        self.total = 0
        # The first rows have been drawn; until then, the models whose key metrics wait for that.
        self._rows_painted = False
        self._latest_pending: list[resources_pb2.Model] | None = None
        # The revision the rows shown reflect; the live connection starts right after it.
        self._revision: int | None = None

    def compose_body(self) -> ComposeResult:
        yield FilterBar('filter, e.g. tags.team = "risk" AND owner = "ana"', id="filter")
        yield Static("", id="status", classes="status-line", markup=False)
        yield VimTable(id="models")

    def on_mount(self) -> None:
        self._set_columns([(title, len(title)) for title in COLUMNS])

    def on_resize(self) -> None:
        # Columns are chosen for the table's width: choose again once it has its new size.
        if self.models:
            self.call_after_refresh(self._fill)

    def _set_columns(self, columns: list[tuple[str, int]]) -> None:
        """Each column as wide as its widest cell now, given rather than measured by DataTable,
        which only ever widens a column it keeps: widths would depend on which fills came first."""
        table = self.query_one(VimTable)
        if [(column.label.plain, column.width) for column in table.ordered_columns] != columns:
            table.clear(columns=True)
            for title, width in columns:
                # Text, not a str that DataTable reads as markup: the first markup read loads rich's
                # emoji table, a few ms before the first frame that nothing else here needs.
                table.add_column(Text(title), width=width)

    # ---- loading ----

    def reload(self) -> None:
        # The filter last asked for, not the one shown: a live reload begun while a new filter's
        # listing is on its way replaces that listing, so it must ask for the same rows.
        self.load_models(self.wanted_filter)

    @work(exclusive=True, group="models")
    async def load_models(self, filter: str) -> None:
        try:
            page = await self.registry.client.list_models(
                filter=filter, order_by=SORTS[self.sort_index][0], page_size=MAX_MODELS
            )
        except StudbookError as error:
            self.post_message(self.Failed(error, filter))
            return
        self.post_message(self.Loaded(page, filter))

    # A group of its own: a listing begun meanwhile is not cancelled; the next look-ups cancel these.
    @work(exclusive=True, group="latest")
    async def load_latest(self, models: list[resources_pb2.Model]) -> None:
        """The model carries no metrics: the latest version of each, summary only, gives its key metric."""
        client = self.registry.client
        gate = asyncio.Semaphore(LOOKUPS)

        async def latest(model: resources_pb2.Model) -> resources_pb2.ModelVersion | None:
            if not model.latest_version:
                return None
            async with gate:
                try:
                    found = await client.list_versions(model.name, page_size=1, summary_only=True, show_archived=True)
                except StudbookError:
                    return None
            return found.versions[0] if found.versions else None

        versions = await asyncio.gather(*(latest(m) for m in models))
        self.post_message(self.LatestLoaded({v.model: v for v in versions if v is not None}))

    @work(exclusive=True, group="models-breaches")
    async def load_breaches(self) -> None:
        """One call for every model's breaches; a daemon without monitors has none to show."""
        try:
            states = await self.registry.client.list_monitor_states(breached_only=True)
        except StudbookError as error:
            # Badges are extra: a daemon without monitors has none, and one that cannot be reached
            # is already said to be so by the listing (one notice, not two).
            if error.code not in ("UNIMPLEMENTED", "UNAVAILABLE"):
                self.show_error(error, "monitors")
            return
        breached: dict[str, list[str]] = {}
        for state in states:
            if state.breached:
                breached.setdefault(state.model, []).append(state.stage)
        self.post_message(self.BreachesLoaded({model: sorted(stages) for model, stages in breached.items()}))

    def on_models_screen_breaches_loaded(self, message: BreachesLoaded) -> None:
        if message.breached != self.breached:
            self.breached = message.breached
            self._fill()

    def on_models_screen_loaded(self, message: Loaded) -> None:
        self.filter_text = message.filter
        self.query_one(FilterBar).accepted(message.filter)
        self.models = {m.name: m for m in message.page.models}
        self.total = message.page.total_size
        # A daemon from before listings had revisions says 0 beside its rows: unknown, and Watch
        # from 0 would replay the whole log; it starts at the daemon's current revision instead.
        page = message.page
        self._revision = page.revision if page.revision or not page.models else None
        self._fill()
        models = list(message.page.models)
        if self._rows_painted or not models:
            self.load_latest(models)
            self.load_breaches()
            self.call_after_refresh(self._listing_shown)
            return
        # The first rows first, their key metrics after: the look-ups (one call per model) begin
        # once the layout that shows the rows has been drawn, so they never hold back that frame.
        # (An after-refresh callback can run before the table has even asked for its new layout.)
        if self._latest_pending is None:
            self.screen_layout_refresh_signal.subscribe(self, self._laid_out)
        self._latest_pending = models

    def _laid_out(self, screen: Screen[None]) -> None:
        if self._latest_pending is None or not self.query_one(VimTable).row_count:
            return
        self.screen_layout_refresh_signal.unsubscribe(self)
        models, self._latest_pending = self._latest_pending, None
        self._rows_painted = True
        self._listing_shown()
        self.load_latest(models)
        self.load_breaches()

    def _listing_shown(self) -> None:
        """A listing is on the terminal, rows or error. After the first, start-up is over (see
        collector) and the live connection starts (see RegistryScreen.connects_after_first_load)."""
        collector.resume()
        # From the rows' revision: whatever was committed since they were read is replayed.
        self.registry.connect(since=self._revision)

    def on_models_screen_latest_loaded(self, message: LatestLoaded) -> None:
        self.latest = message.latest
        self._fill()

    def on_models_screen_failed(self, message: Failed) -> None:
        self.call_after_refresh(self._listing_shown)
        if message.error.reason in ("INVALID_FILTER", "INVALID_ARGUMENT") and message.filter:
            self.wanted_filter = self.filter_text  # refused: the rows shown stay those asked for
            self.query_one(FilterBar).refused(f"{message.error.message} [{message.error.reason}]")
        else:
            self.show_error(message.error, "models")
            self.query_one("#status", Static).update(safe(f"could not list models: {message.error}"))

    def _fill(self) -> None:
        table = self.query_one(VimTable)
        keep, view = table.selected_key(), table.view()  # new columns clear the table: read them first
        paint = self.paint()
        times = self.registry.times
        preferred = self.registry.settings.key_metrics
        rows: dict[str, list[Text]] = {}
        for name, model in self.models.items():
            latest = self.latest.get(name)
            holders = model.stage_holders
            rows[name] = [
                _badged(paint(cells.model_id(name), "bold"), self.breached.get(name, []), paint),
                paint(cells.number(holders.get("production", "")), "good"),
                paint(cells.number(holders.get("staging", "")), "accent"),
                paint(cells.holders(model.aliases)),
                paint(f"v{model.latest_version} {latest.semver}" if latest else _latest(model)),
                paint(str(model.version_count)),
                paint(cells.key_metric(latest.metrics, preferred) if latest else ""),
                paint(model.owner),
                paint(times.ago(model.update_time), "muted"),
            ]
        # Whole columns of less use are left out when the terminal is narrow, never all of them cut.
        widths = {title: len(title) for title in COLUMNS}
        for row in rows.values():
            widths = {title: max(widths[title], cell.cell_len) for title, cell in zip(COLUMNS, row)}
        width = (table.size.width or self.app.size.width) - table.styles.scrollbar_size_vertical
        kept = fit_columns(widths, RANKING, width, always=("MODEL",))
        shown = [index for index, title in enumerate(COLUMNS) if title in kept]
        self._set_columns([(COLUMNS[index], widths[COLUMNS[index]]) for index in shown])
        names = list(rows)
        cursor = names.index(keep) if keep in rows else table.cursor_row
        table.refill(([row[index] for index in shown] for row in rows.values()), cursor=cursor, keys=names, view=view)
        self._show_status()

    def _show_status(self) -> None:
        shown = len(self.models)
        parts = [f"{shown} of {self.total} models" if self.total > shown else f"{shown} models"]
        parts.append(f"sorted by {SORTS[self.sort_index][1]}")
        if self.filter_text:
            parts.append(f"filter: {self.filter_text}")
        self.query_one("#status", Static).update(safe(" · ".join(parts)))

    # ---- live ----

    def concerns(self, event: events_pb2.Event) -> bool:
        # drift.detected and drift.cleared change the breach badges.
        return event.type.split(".")[0] in ("model", "version", "stage", "alias", "metrics", "drift")

    # ---- actions ----

    def selected_model(self) -> resources_pb2.Model | None:
        key = self.query_one(VimTable).selected_key()
        return self.models.get(key) if key else None

    @on(VimTable.RowSelected)
    def open_model(self, event: VimTable.RowSelected) -> None:
        model = self.models.get(str(event.row_key.value))
        if model is not None:
            self.registry.open_versions(cells.model_id(model.name))

    def action_filter(self) -> None:
        self.query_one(FilterBar).open()

    def on_filter_bar_applied(self, message: FilterBar.Applied) -> None:
        self.wanted_filter = message.text
        self.load_models(message.text)
        if not message.text:
            self.query_one(FilterBar).action_close()

    def on_filter_bar_closed(self) -> None:
        self.query_one(VimTable).focus()

    def action_sort(self) -> None:
        self.sort_index = (self.sort_index + 1) % len(SORTS)
        self.reload()

    def action_reload(self) -> None:
        self.reload()

    def action_diff(self) -> None:
        model = self.selected_model()
        if model is not None:
            name = cells.model_id(model.name)
            self.registry.open_diff(f"{name}@production", f"{name}@latest")

    def action_promote(self) -> None:
        model = self.selected_model()
        if model is not None:
            self.registry.start_promote(f"{cells.model_id(model.name)}@latest")

    def action_rollback(self) -> None:
        model = self.selected_model()
        if model is not None:
            self.registry.start_rollback(cells.model_id(model.name), "production")

    def action_approvals(self) -> None:
        self.registry.open_approvals()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("promote", "rollback") and self.registry.readonly:
            return False
        return True


def _badged(name: Text, stages: list[str], paint: cells.ThemeText) -> Text:
    """`fraud ⚠ production`: the stages whose monitors found a breach, after the model's name."""
    if not stages:
        return name
    return Text.assemble(name, " ", paint("⚠ " + ", ".join(stages), "bad"))


def _latest(model: resources_pb2.Model) -> str:
    return f"v{model.latest_version}" if model.latest_version else ""
