"""DiffScreen: the daemon's comparison of two versions, side by side, section by section."""

from __future__ import annotations

from typing import ClassVar

from studbook.client.errors import StudbookError
from studbook.client.safe_text import safe
from studbook.tui.diff_rows import card_diff_text, file_rows, metric_rows, signature_text, tensor_rows, value_rows
from studbook.tui.screens.base import RegistryScreen
from studbook.tui.widgets.change_table import ChangeTable
from studbook.v1 import events_pb2, registry_pb2
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widgets import Label, Static

SECTIONS = ("metrics", "params", "signature", "files", "tags", "environment", "card", "format", "tensors")
VALUE_TITLES = ("KEY", "BASE", "TARGET", "CHANGE")


class DiffScreen(RegistryScreen):
    """`u` shows only what differs; number keys jump to a section."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("u", "toggle_unchanged", "Only differences", id="diff.only_changes"),
        Binding("x", "swap", "Swap sides", id="diff.swap"),
        Binding("r", "reload", "Refresh", id="diff.refresh"),
        *(
            Binding(str(n), f"jump('{section}')", section.title(), show=False, id=f"diff.section.{section}")
            for n, section in enumerate(SECTIONS, 1)
        ),
    ]

    class Loaded(Message, bubble=False):
        def __init__(self, diff: registry_pb2.VersionDiff) -> None:
            super().__init__()
            self.diff = diff

    class Failed(Message, bubble=False):
        def __init__(self, error: StudbookError) -> None:
            super().__init__()
            self.error = error

    def __init__(self, base: str, target: str) -> None:
        super().__init__()
        self.base = base
        self.target = target
        self.crumb = f"diff › {base} → {target}"
        self.only_changes = False
        self.diff: registry_pb2.VersionDiff | None = None

    def compose_body(self) -> ComposeResult:
        yield Static("loading…", id="diff-title")
        with VerticalScroll(id="diff-body"):
            yield Label("1 Metrics", classes="section-title", id="title-metrics")
            yield ChangeTable(("METRIC", "BASE", "TARGET", "DELTA"), id="section-metrics")
            yield Label("2 Params", classes="section-title", id="title-params")
            yield ChangeTable(VALUE_TITLES, id="section-params")
            yield Label("3 Signature", classes="section-title", id="title-signature")
            yield Static("", id="section-signature")
            yield Label("4 Files (by content hash)", classes="section-title", id="title-files")
            yield ChangeTable(("PATH", "BASE", "TARGET", "CHANGE"), id="section-files")
            yield Label("5 Tags", classes="section-title", id="title-tags")
            yield ChangeTable(VALUE_TITLES, id="section-tags")
            yield Label("6 Environment", classes="section-title", id="title-environment")
            yield ChangeTable(VALUE_TITLES, id="section-environment")
            yield Label("7 Model card", classes="section-title", id="title-card")
            yield Static("", id="section-card")
            yield Label("8 Format", classes="section-title", id="title-format")
            yield ChangeTable(VALUE_TITLES, id="section-format")
            yield Label("9 Tensors (the largest of each side)", classes="section-title", id="title-tensors")
            yield ChangeTable(("TENSOR", "BASE", "TARGET", "CHANGE"), id="section-tensors")

    def reload(self) -> None:
        self.load_diff(self.base, self.target)

    @work(exclusive=True, group="diff")
    async def load_diff(self, base: str, target: str) -> None:
        try:
            diff = await self.registry.client.diff(base, target)
        except StudbookError as error:
            self.post_message(self.Failed(error))
            return
        self.post_message(self.Loaded(diff))

    def on_diff_screen_loaded(self, message: Loaded) -> None:
        self.diff = diff = message.diff
        paint = self.paint()
        self.query_one("#diff-title", Static).update(
            Content.from_markup(
                "[b]base[/b] $base [$text-muted]($bsem)[/]  →  [b]target[/b] $target [$text-muted]($tsem)[/]",
                base=diff.base.removeprefix("models/").replace("/versions/", " v"),
                bsem=diff.base_semver,
                target=diff.target.removeprefix("models/").replace("/versions/", " v"),
                tsem=diff.target_semver,
            )
        )
        self.query_one("#section-metrics", ChangeTable).show(metric_rows(diff.metrics, paint))
        self.query_one("#section-params", ChangeTable).show(value_rows(diff.params, paint))
        self.query_one("#section-tags", ChangeTable).show(value_rows(diff.tags, paint))
        self.query_one("#section-environment", ChangeTable).show(value_rows(diff.environment, paint))
        self.query_one("#section-files", ChangeTable).show(file_rows(diff.files, paint))
        self.query_one("#section-format", ChangeTable).show(value_rows(diff.format, paint))
        self.query_one("#section-tensors", ChangeTable).show(tensor_rows(diff.tensors, paint))
        self.query_one("#section-signature", Static).update(signature_text(diff.signature))
        self.query_one("#section-card", Static).update(card_diff_text(diff.model_card_diff, diff.model_card_truncated))

    def on_diff_screen_failed(self, message: Failed) -> None:
        error = message.error
        self.query_one("#diff-title", Static).update(
            Content.from_markup("[$text-error]$message[/]", message=safe(f"{error.message} [{error.reason}]"))
        )
        self.show_error(error, "diff")

    def concerns(self, event: events_pb2.Event) -> bool:
        # Registered content is immutable; only tags and stage holders (for `@production`) move.
        return event.type in ("version.updated", "stage.changed", "alias.changed", "alias.deleted")

    def action_toggle_unchanged(self) -> None:
        self.only_changes = not self.only_changes
        for table in self.query(ChangeTable):
            table.only_changes = self.only_changes
        self.notify("only differences" if self.only_changes else "everything", timeout=2)

    def action_swap(self) -> None:
        self.base, self.target = self.target, self.base
        self.crumb = f"diff › {self.base} → {self.target}"
        self.reload()

    def action_jump(self, section: str) -> None:
        title = self.query_one(f"#title-{section}")
        self.query_one("#diff-body", VerticalScroll).scroll_to_widget(title, top=True, animate=False)

    def action_reload(self) -> None:
        self.reload()
