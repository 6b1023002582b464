"""VersionScreen: one version in tabs: overview, metrics, params, lineage, files, card, environment, history, production."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import ClassVar

from studbook.client.errors import StudbookError
from studbook.client.safe_text import safe, safe_lines
from studbook.tui import cells
from studbook.tui.as_of import Holding, answer_text, holdings, missing
from studbook.tui.messages import Resynced
from studbook.tui.production_text import breach_lines, candidate_of, holder_of, next_stage, production_stages
from studbook.tui.screens.base import RegistryScreen
from studbook.tui.screens.decision import DecisionDialog
from studbook.tui.version_text import (
    MetricRow,
    change_fields,
    history_rows,
    metric_series,
    metric_summary,
    overview_text,
    version_series,
)
from studbook.tui.widgets.as_of_bar import AsOfBar, AsOfInput
from studbook.tui.widgets.detail_pane import DetailPane
from studbook.tui.widgets.file_tree import FileNodeData, FileTree
from studbook.tui.widgets.filled_table import FilledTable
from studbook.tui.widgets.key_value_table import KeyValueTable
from studbook.tui.widgets.line_chart import LineChart
from studbook.tui.widgets.lineage_tree import LineageNodeData, LineageTree
from studbook.tui.widgets.production_pane import STAGE_KEY, ProductionPane
from studbook.v1 import events_pb2, production_pb2, resources_pb2, stages_pb2
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Markdown, Static, TabbedContent, TabPane, Tree
from textual.widgets.tree import TreeNode

TABS = ("overview", "metrics", "params", "lineage", "files", "card", "environment", "history", "production")
# Events that change only what the production tab and the breach notice show: they reload those alone.
PRODUCTION_EVENTS = ("production", "drift")
UNIMPLEMENTED = "UNIMPLEMENTED"
# Versions charted across, newest first.
CHART_VERSIONS = 200
# Stage changes read per call when looking for the change that made a past holder.
AS_OF_PAGE = 1000
AS_OF_WHAT = "who held each stage"


class VersionScreen(RegistryScreen):
    """Opened on a reference (`fraud@3`, `fraud@production`); shows the canonical version it names."""

    BINDINGS: ClassVar[list[BindingType]] = [
        *(
            Binding(str(n), f"tab('{tab}')", tab.title(), show=False, id=f"version.tab.{tab}")
            for n, tab in enumerate(TABS, 1)
        ),
        # In the footer only while a stage of the model is in breach with a candidate to put back,
        # and first there, so a narrow terminal never cuts it.
        Binding("c", "candidate", "Candidate", id="version.candidate"),
        # In the footer only on the production tab of a version that held several stages.
        Binding(STAGE_KEY, "next_stage", "Next stage", id="version.next_stage"),
        Binding("r", "reload", "Refresh", id="version.refresh"),
        Binding("d", "diff", "Diff vs prod", id="version.diff"),
        Binding("p", "promote", "Promote", id="version.promote"),
        Binding("R", "rollback", "Rollback", id="version.rollback"),
        Binding("s", "save_files", "Save files", id="version.save"),
        # Not in the footer, which is full: the history tab names the key beside its input.
        Binding("a", "as_of", "Who held stages when", show=False, id="version.as_of"),
    ]

    class Loaded(Message, bubble=False):
        def __init__(self, version: resources_pb2.ModelVersion) -> None:
            super().__init__()
            self.version = version

    class MetricsLoaded(Message, bubble=False):
        def __init__(
            self, series: list[resources_pb2.Metric], chart_versions: list[resources_pb2.ModelVersion]
        ) -> None:
            super().__init__()
            self.series = series
            self.chart_versions = chart_versions

    class HistoryLoaded(Message, bubble=False):
        def __init__(self, history: stages_pb2.GetStageHistoryResponse) -> None:
            super().__init__()
            self.history = history

    class ProductionLoaded(Message, bubble=False):
        def __init__(self, stage: str, record: production_pb2.ProductionRecord | None, stages: list[str]) -> None:
            super().__init__()
            self.stage = stage
            self.record = record
            # Every stage whose record concerns the version, as known when it was read.
            self.stages = stages

    class MonitorsLoaded(Message, bubble=False):
        def __init__(self, states: list[production_pb2.MonitorState]) -> None:
            super().__init__()
            self.states = states

    class AsOfAnswered(Message, bubble=False):
        def __init__(self, at: datetime, holdings: list[Holding]) -> None:
            super().__init__()
            self.at = at
            self.holdings = holdings

    class Failed(Message, bubble=False):
        def __init__(self, error: StudbookError, what: str) -> None:
            super().__init__()
            self.error = error
            self.what = what

    def __init__(self, ref: str, tab: str = "overview") -> None:
        super().__init__()
        self.ref = ref
        self.crumb = f"models › {ref.replace('@', ' › v', 1) if '@' in ref else ref}"
        self.first_tab = tab if tab in TABS else "overview"
        self.version: resources_pb2.ModelVersion | None = None
        self.series: list[resources_pb2.Metric] = []
        self.chart_versions: list[resources_pb2.ModelVersion] = []
        self.chart_key = ""
        self.metric_rows: list[MetricRow] = []
        self.history_changes: list[stages_pb2.StageChange] = []
        # The last as-of answer: the moment asked about and who held what then.
        self.held_at: tuple[datetime, list[Holding]] | None = None
        # The model's stages in breach (their findings and candidates), from the policy's monitors.
        self.breaches: list[production_pb2.MonitorState] = []
        # The stage the production tab shows, once the user chose one ("": the one it holds or held last).
        self.production_stage = ""
        # The next reload reads everything; False when only production figures changed since.
        self._whole = True

    def compose_body(self) -> ComposeResult:
        # Above every tab: a breach is news wherever the user is looking.
        yield Static("", id="breach", markup=False)
        with TabbedContent(initial=self.first_tab, id="tabs"):
            with TabPane("1 Overview", id="overview"):
                yield VerticalScroll(Static("loading…", id="overview-text"))
            with TabPane("2 Metrics", id="metrics"):
                with Horizontal():
                    yield FilledTable(id="metric-table", cursor_type="row", zebra_stripes=True)
                    with Vertical(id="charts"):
                        yield LineChart(id="across-versions")
                        yield LineChart(id="per-step")
            with TabPane("3 Params", id="params"):
                yield KeyValueTable("PARAM", "VALUE", id="params-table")
            with TabPane("4 Lineage", id="lineage"):
                yield LineageTree(id="lineage-tree")
            with TabPane("5 Files", id="files"):
                yield Static("", id="files-header", markup=False)
                yield FileTree(id="file-tree")
                yield Static("", id="file-detail", markup=False)
            with TabPane("6 Card", id="card"):
                yield VerticalScroll(Markdown("", id="card-text"))
            with TabPane("7 Environment", id="environment"):
                yield KeyValueTable("PACKAGE", "VERSION", id="environment-table")
            with TabPane("8 History", id="history"):
                # The table first, so the tab's keys go to it; the bar is docked above it.
                yield FilledTable(id="history-table", cursor_type="row", zebra_stripes=True)
                yield DetailPane(id="history-detail")
                yield AsOfBar(self.registry.times.parse, id="as-of")
            with TabPane("9 Production", id="production"):
                yield ProductionPane(id="production-pane")

    def on_mount(self) -> None:
        self.query_one("#metric-table", DataTable).add_columns("METRIC", "SPLIT", "LATEST", "STEPS")
        self.query_one("#history-table", DataTable).add_columns(
            "TIME", "STAGE", "VERSION", "PREVIOUS", "ACTOR", "REASON"
        )
        self.query_one(ProductionPane).stage_key = self._stage_key()
        if self.first_tab != "overview":
            # Opened on a tab (`:lineage fraud@3`): its keys should work at once, as after pressing its number.
            self.call_after_refresh(self.action_tab, self.first_tab)

    # ---- loading ----

    def reload(self) -> None:
        whole, self._whole = self._whole, False
        if whole or self.version is None:
            self.load_version()
        else:
            self.load_production(self.version)

    def on_resynced(self, message: Resynced) -> None:
        # Textual then runs RegistryScreen's own handler, which schedules the reload.
        self._whole = True

    @work(exclusive=True, group="version")
    async def load_version(self) -> None:
        client = self.registry.client
        try:
            version = await client.get_version(self.ref)
        except StudbookError as error:
            self.post_message(self.Failed(error, self.ref))
            return
        self.post_message(self.Loaded(version))
        self.load_metrics(version)
        self.load_history(version)
        self.load_production(version)

    @work(exclusive=True, group="version-metrics")
    async def load_metrics(self, version: resources_pb2.ModelVersion) -> None:
        client = self.registry.client
        try:
            series = await client.list_metrics(version.name)
            siblings = await client.list_versions(version.model, page_size=CHART_VERSIONS, summary_only=True)
        except StudbookError as error:
            self.post_message(self.Failed(error, "metrics"))
            return
        self.post_message(self.MetricsLoaded(series, list(siblings.versions)))

    @work(exclusive=True, group="version-history")
    async def load_history(self, version: resources_pb2.ModelVersion) -> None:
        try:
            history = await self.registry.client.stage_history(version.model, page_size=200)
        except StudbookError as error:
            self.post_message(self.Failed(error, "history"))
            return
        self.post_message(self.HistoryLoaded(history))

    @work(exclusive=True, group="version-production")
    async def load_production(self, version: resources_pb2.ModelVersion) -> None:
        """The version's production record in the stage it holds (or held), and the model's breaches."""
        client = self.registry.client
        try:
            changes = self.history_changes
            if not version.stages and not changes:
                # Which stage it held (if it holds none now) is in the history, which may still be loading.
                changes = list((await client.stage_history(version.model, page_size=200)).changes)
            stages = production_stages(version, changes)
            stage = self.production_stage if self.production_stage in stages else stages[0]
            record = await client.production_record(version.model, stage=stage, version=version.name)
        except StudbookError as error:
            # A daemon older than production records has none to show: the tab says so, quietly.
            if error.code != UNIMPLEMENTED:
                self.post_message(self.Failed(error, "production"))
                return
            record = None
        self.post_message(self.ProductionLoaded(stage, record, stages))
        try:
            states = await client.list_monitor_states(version.model, breached_only=True)
        except StudbookError as error:
            if error.code != UNIMPLEMENTED:
                self.post_message(self.Failed(error, "monitors"))
                return
            states = []
        self.post_message(self.MonitorsLoaded(states))

    @work(exclusive=True, group="version-as-of")
    async def ask_as_of(self, model: str, at: datetime) -> None:
        """The daemon names the holders; the changes that made them are read page by page until found."""
        client = self.registry.client
        try:
            page = await client.stage_history(model, at=at, page_size=AS_OF_PAGE)
            holders, changes = dict(page.holders_at), list(page.changes)
            found = holdings(holders, changes, at)
            while missing(found) and page.next_page_token:
                page = await client.stage_history(model, page_size=AS_OF_PAGE, page_token=page.next_page_token)
                changes += page.changes
                found = holdings(holders, changes, at)
        except StudbookError as error:
            self.post_message(self.Failed(error, AS_OF_WHAT))
            return
        self.post_message(self.AsOfAnswered(at, found))

    @work(group="version-lineage")
    async def load_lineage(self, tree: LineageTree, node: TreeNode[LineageNodeData]) -> None:
        data = node.data
        if data is None:
            return
        try:
            response = await self.registry.client.get_lineage(data.name, direction=data.direction, depth=1)
        except StudbookError as error:
            tree.failed(node, f"{error.message} [{error.reason}]")
            return
        tree.fill(node, response)

    # ---- showing ----

    def on_version_screen_loaded(self, message: Loaded) -> None:
        first = self.version is None or self.version.name != message.version.name
        self.version = version = message.version
        self.query_one("#overview-text", Static).update(overview_text(version, self.registry.times))
        self.query_one("#params-table", KeyValueTable).show(sorted(version.params.items()))
        card = safe_lines(version.model_card) or "*No model card was registered with this version.*"
        self.query_one("#card-text", Markdown).update(card)
        env = version.environment
        pairs = [("python", env.python_version), ("platform", env.platform), *sorted(env.packages.items())]
        pairs += [("requirement", line) for line in env.requirements]
        self.query_one("#environment-table", KeyValueTable).show([p for p in pairs if p[1]])
        if first:
            # Registered files never change, so the tree (what is open, the cursor) survives reloads.
            model = cells.model_id(version.model)
            self.query_one(LineageTree).start(version.name, f"{model} v{version.number} ({version.semver})")
            self._show_files(version, f"{model} v{version.number}")

    def _show_files(self, version: resources_pb2.ModelVersion, label: str) -> None:
        tree = self.query_one(FileTree)
        tree.show(version.files, label, version.format_info)
        self.query_one("#files-header", Static).update(tree.header())
        self.query_one("#file-detail", Static).update(tree.describe(tree.root))

    @on(Tree.NodeHighlighted, "#file-tree")
    def file_highlighted(self, event: Tree.NodeHighlighted[FileNodeData]) -> None:
        self.query_one("#file-detail", Static).update(self.query_one(FileTree).describe(event.node))

    def on_version_screen_metrics_loaded(self, message: MetricsLoaded) -> None:
        self.series = message.series
        self.chart_versions = message.chart_versions
        paint = self.paint()
        self.metric_rows = metric_summary(self.series or list(self.version.metrics if self.version else []))
        self.query_one("#metric-table", FilledTable).fill(
            (paint(row.key, "bold"), paint(row.split), paint(cells.value(row.value)), paint(row.steps))
            for row in self.metric_rows
        )
        keys = [row.key for row in self.metric_rows]
        self._chart(self.chart_key if self.chart_key in keys else (keys[0] if keys else ""))

    @on(DataTable.RowHighlighted, "#metric-table")
    def metric_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if 0 <= event.cursor_row < len(self.metric_rows):
            self._chart(self.metric_rows[event.cursor_row].key)

    def _chart(self, key: str) -> None:
        self.chart_key = key
        across = self.query_one("#across-versions", LineChart)
        steps = self.query_one("#per-step", LineChart)
        across.title = f"{key} across versions" if key else "no metrics"
        across.series = version_series(self.chart_versions, key)
        steps.series = metric_series(self.series, key)
        steps.title = f"{key} per step" if steps.series else f"{key}: no per-step values"

    def on_version_screen_history_loaded(self, message: HistoryLoaded) -> None:
        self.history_changes = list(message.history.changes)
        table = self.query_one("#history-table", FilledTable)
        row = table.cursor_row
        mine = self.version.name if self.version else ""
        paint = self.paint()
        table.fill(
            [paint(cell, "accent" if involved else None) for cell in cells_]
            for cells_, involved in history_rows(message.history, mine, self.registry.times)
        )
        if self.history_changes:
            table.move_cursor(row=min(max(row, 0), len(self.history_changes) - 1))
        self.show_change()
        pane = self.query_one(ProductionPane)
        if self.version is not None and pane.stage:
            # The history may name stages the version left, unknown when its record was read.
            pane.offer_stages(production_stages(self.version, self.history_changes))

    @on(DataTable.RowHighlighted, "#history-table")
    def show_change(self) -> None:
        """The change under the cursor, whole: its reason, actor and promotion are cut in the table."""
        row = self.query_one("#history-table", DataTable).cursor_row
        pane = self.query_one("#history-detail", DetailPane)
        if not 0 <= row < len(self.history_changes):
            pane.clear("no stage or alias of this model has changed hands yet")
            return
        pane.show(change_fields(self.history_changes[row], self.registry.times, self.paint()))

    def on_as_of_bar_asked(self, message: AsOfBar.Asked) -> None:
        if self.version is not None:
            self.query_one(AsOfBar).answer("asking the registry…")
            self.ask_as_of(self.version.model, message.moment)

    def on_version_screen_production_loaded(self, message: ProductionLoaded) -> None:
        mine = self.version.name if self.version else ""
        pane = self.query_one(ProductionPane)
        if message.record is None:
            pane.unavailable("this daemon keeps no production records: it predates them")
            return
        # The history, once loaded, knows every stage the version held; until then the read's own list.
        stages = production_stages(self.version, self.history_changes) if self.version and self.history_changes \
            else message.stages  # fmt: skip
        pane.show(holder_of(message.record, mine), message.stage, self.registry.times, self.paint(), stages)

    def on_version_screen_monitors_loaded(self, message: MonitorsLoaded) -> None:
        self.breaches = message.states
        mine = self.version.name if self.version else ""
        hint = "" if self.registry.readonly else "c puts it back"
        lines = breach_lines(self.breaches, mine, self.registry.times, hint=hint)
        notice = self.query_one("#breach", Static)
        notice.update("\n".join(safe(line) for line in lines))
        notice.set_class(bool(lines), "-breached")
        self.refresh_bindings()

    def on_version_screen_as_of_answered(self, message: AsOfAnswered) -> None:
        model = self.version.model if self.version else ""
        self.held_at = (message.at, message.holdings)
        answer = answer_text(model, message.at, message.holdings, self.registry.times, self.paint())
        self.query_one(AsOfBar).answer(answer)
        # The cursor goes to the change that made the first holder, so the pane explains it whole.
        made = next((h.change for h in message.holdings if h.change is not None), None)
        revisions = [c.revision for c in self.history_changes]
        table = self.query_one("#history-table", DataTable)
        if made is not None and made.revision in revisions:
            table.move_cursor(row=revisions.index(made.revision))
        # Back to the list, its keys in the footer; `a` asks again.
        table.focus()

    def on_as_of_input_done(self, message: AsOfInput.Done) -> None:
        self.query_one("#history-table", DataTable).focus()

    def on_version_screen_failed(self, message: Failed) -> None:
        self.show_error(message.error, message.what)
        if message.what == AS_OF_WHAT:
            self.query_one(AsOfBar).fail(safe(f"{message.error.message} [{message.error.reason}]"))
        if message.what == "production":
            # The tab says why it shows nothing (or last figures), e.g. a record too long to read whole.
            self.query_one(ProductionPane).unavailable(safe(f"{message.error.message} [{message.error.reason}]"))
        if self.version is None:
            self.query_one("#overview-text", Static).update(safe(f"{message.error.message} [{message.error.reason}]"))

    def on_lineage_tree_expand_requested(self, message: LineageTree.ExpandRequested) -> None:
        self.load_lineage(message.tree, message.node)

    def on_lineage_tree_version_chosen(self, message: LineageTree.VersionChosen) -> None:
        # Opened on its lineage tab, so following a chain of versions keeps the same view.
        self.registry.open_version(message.ref, "lineage")

    # ---- live ----

    def concerns(self, event: events_pb2.Event) -> bool:
        model = self.version.model if self.version else ""
        return bool(model) and cells.model_id(model) == cells.model_id(event.model)

    def apply_event(self, event: events_pb2.Event) -> None:
        # Production figures arrive often (every window of every stage): they redraw the chart and
        # the breach notice, not the whole screen. Anything else reads the version again.
        if event.type.split(".")[0] not in PRODUCTION_EVENTS:
            self._whole = True
        elif event.HasField("production_metrics") and self.version is not None:
            if self.version.name not in event.production_metrics.versions:
                return  # points of other holders: nothing this screen shows changed
        self.schedule_reload()

    # ---- actions ----

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab
        # Keys then go to what the pane shows (table rows, tree nodes), not to the tab strip.
        focusable = [w for w in self.query_one(f"TabPane#{tab}").query("*") if w.focusable]
        if focusable:
            focusable[0].focus()

    def action_reload(self) -> None:
        self._whole = True
        self.reload()

    def action_as_of(self) -> None:
        self.action_tab("history")
        self.query_one(AsOfBar).ask()

    def _short(self) -> str | None:
        if self.version is None:
            return None
        return f"{cells.model_id(self.version.model)}@{self.version.number}"

    def action_diff(self) -> None:
        short = self._short()
        if short is not None:
            self.registry.open_diff(f"{short.split('@')[0]}@production", short)

    def action_promote(self) -> None:
        short = self._short()
        if short is not None:
            self.registry.start_promote(short)

    def action_rollback(self) -> None:
        if self.version is not None:
            stage = next(iter(self.version.stages), "production")
            self.registry.start_rollback(cells.model_id(self.version.model), stage)

    def _stage_key(self) -> str:
        """The next stage's key as the footer writes it: the user's keymap may have moved it."""
        keys = self.registry.settings.keymap.get("version.next_stage", STAGE_KEY)
        return self.app.get_key_display(Binding(keys.split(",")[0].strip(), "next_stage"))

    def action_next_stage(self) -> None:
        """The production tab shows the record of the next stage the version held; reloads keep it."""
        pane = self.query_one(ProductionPane)
        chosen = next_stage(pane.stages, pane.stage)
        if self.version is not None and chosen != pane.stage:
            self.production_stage = chosen
            pane.unavailable(f"loading {chosen}…")
            self.load_production(self.version)

    @on(TabbedContent.TabActivated, "#tabs")
    def _tab_activated(self) -> None:
        # The stage key belongs to the production tab: the footer follows the tab shown.
        self.refresh_bindings()

    def action_candidate(self) -> None:
        breach = candidate_of(self.breaches)
        if breach is not None:
            candidate = breach.candidate
            self.registry.start_rollback(
                cells.model_id(breach.model or candidate.model), breach.stage, candidate.version, candidate.summary
            )

    def action_save_files(self) -> None:
        version = self.version
        if version is None:
            return
        if not version.kept:
            self.notify("this version is referenced, not kept: the registry holds no copy of its files to save",
                        severity="warning")  # fmt: skip
            return
        title = f"Save the {len(version.files)} files of {cells.model_id(version.model)} v{version.number}"

        def chosen(folder: str | None) -> None:
            if folder:
                self.save_files(version.name, folder)

        self.app.push_screen(
            DecisionDialog(title, "into the folder (created if missing)", "Save", required=True), chosen
        )

    @work(group="version-save")
    async def save_files(self, name: str, folder: str) -> None:
        """Writes the version's files, each checked against its sha256 before it takes its name."""
        dest = Path(folder).expanduser()
        try:
            pulled = await self.registry.client.download(name, dest)
        except (StudbookError, OSError) as error:
            failure = (
                error if isinstance(error, StudbookError) else StudbookError("UNKNOWN", "WRITE_FAILED", str(error))
            )
            self.show_error(failure, "saving files")
            return
        fresh = sum(1 for p in pulled if not p.skipped)
        self.notify(f"{fresh} file(s) written to {dest}" + (f", {len(pulled) - fresh} already there" if fresh < len(pulled) else ""),
                    title="files saved")  # fmt: skip

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("promote", "rollback", "candidate") and self.registry.readonly:
            return False
        if action == "candidate":
            return candidate_of(self.breaches) is not None
        if action == "next_stage":
            tabs = self.query(TabbedContent)
            return bool(tabs) and tabs.first().active == "production" and len(self.query_one(ProductionPane).stages) > 1
        return True
