"""ApprovalsScreen: promotions waiting for approval, each gate's verdict, and approve or reject."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import ClassVar

from rich.text import Text
from studbook.cli.promotion_text import approvals_text, gate_counts, gates_text
from studbook.client import calls
from studbook.client.errors import StudbookError
from studbook.client.names import short_promotion
from studbook.client.safe_text import safe
from studbook.tui import cells
from studbook.tui.cells import ThemeText
from studbook.tui.screens.base import RegistryScreen
from studbook.tui.screens.decision import DecisionDialog
from studbook.tui.screens.promote import promotion_summary
from studbook.tui.timefmt import TimeFormat
from studbook.tui.widgets.detail_pane import DetailPane, Field
from studbook.tui.widgets.vim_table import VimTable
from studbook.v1 import events_pb2, resources_pb2, stages_pb2
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Static

COLUMNS = ("PROMOTION", "VERSION", "TARGET", "ASKED BY", "REASON", "GATES", "APPROVALS", "ASKED")
REASON_WIDTH = 32
# Promotions waiting for a person are few; the status line says when there are more.
PAGE_SIZE = 500


# A promotion's target: (model, stage or alias, whether an alias).
Target = tuple[str, str, bool]


class ApprovalsScreen(RegistryScreen):
    """`a` approves and `x` rejects the promotion under the cursor; its gates show below the list."""

    crumb = "promotions › pending approval"
    AUTO_FOCUS = "VimTable"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "approve", "Approve", id="approvals.approve"),
        Binding("x", "reject", "Reject", id="approvals.reject"),
        Binding("r", "reload", "Refresh", id="approvals.refresh"),
    ]

    class Loaded(Message, bubble=False):
        def __init__(self, promotions: list[stages_pb2.Promotion], more: bool, held: dict[Target, str]) -> None:
            super().__init__()
            self.promotions = promotions
            self.more = more
            self.held = held

    class Decided(Message, bubble=False):
        def __init__(self, promotion: stages_pb2.Promotion, verb: str) -> None:
            super().__init__()
            self.promotion = promotion
            self.verb = verb

    class Failed(Message, bubble=False):
        def __init__(self, error: StudbookError, what: str) -> None:
            super().__init__()
            self.error = error
            self.what = what

    def __init__(self) -> None:
        super().__init__()
        self.promotions: list[stages_pb2.Promotion] = []
        # Who holds each pending promotion's target now ("" for nobody): approving replaces that
        # version, which may no longer be the one held when the promotion was asked for.
        self.held: dict[Target, str] = {}

    def compose_body(self) -> ComposeResult:
        yield Static("", id="status", classes="status-line", markup=False)
        yield VimTable(id="approvals")
        yield DetailPane(id="gate-details")

    def on_mount(self) -> None:
        table = self.query_one(VimTable)
        for title in COLUMNS:
            # A long reason must not push the gates and approvals off screen; the pane has it whole.
            table.add_column(title, width=REASON_WIDTH if title == "REASON" else None)

    def concerns(self, event: events_pb2.Event) -> bool:
        return event.type.startswith("promotion.") or event.type.startswith("stage.")

    def reload(self) -> None:
        self.load_promotions()

    # ---- calls ----

    @work(exclusive=True, group="approvals")
    async def load_promotions(self) -> None:
        client = self.registry.client
        try:
            page = await client.list_promotions(filter=calls.PENDING_FILTER, page_size=PAGE_SIZE)
        except StudbookError as error:
            self.post_message(self.Failed(error, "pending approvals"))
            return

        async def model_of(name: str) -> resources_pb2.Model | None:
            try:
                return await client.get_model(name)
            except StudbookError:
                return None  # deleted meanwhile, or unreachable: the pane says what was asked

        promotions = list(page.promotions)
        found = await asyncio.gather(*(model_of(name) for name in {p.model for p in promotions}))
        models = {model.name: model for model in found if model is not None}
        held = {}
        for p in promotions:
            if (model := models.get(p.model)) is not None:
                holders_now = model.aliases if p.is_alias else model.stage_holders
                held[(p.model, p.target, p.is_alias)] = holders_now.get(p.target, "")
        self.post_message(self.Loaded(promotions, bool(page.next_page_token), held))

    @work(group="approvals-decide")
    async def decide(self, promotion: stages_pb2.Promotion, verb: str, text: str) -> None:
        client = self.registry.client
        try:
            if verb == "approve":
                decided = await client.approve_promotion(promotion.name, comment=text)
            else:
                decided = await client.reject_promotion(promotion.name, reason=text)
        except StudbookError as error:
            self.post_message(self.Failed(error, f"{verb} {short_promotion(promotion.name)}"))
            return
        self.post_message(self.Decided(decided, verb))

    # ---- messages ----

    def on_approvals_screen_loaded(self, message: Loaded) -> None:
        self.promotions, self.held = message.promotions, message.held
        paint = self.paint()
        table = self.query_one(VimTable)
        rows = []
        for p in self.promotions:
            failed = gate_counts(p)[1]
            rows.append(
                [
                    paint(short_promotion(p.name), "accent"),
                    paint(cells.number(p.version)),
                    paint(p.target + (" (alias)" if p.is_alias else "")),
                    paint(p.actor),
                    paint(p.reason),
                    paint(gates_text(p), "bad" if failed else "good"),
                    paint(approvals_text(p), "warn"),
                    paint(self.registry.times.ago(p.create_time), "muted"),
                ]
            )
        table.refill(rows, cursor=table.cursor_row)
        count = len(self.promotions)
        more = " (more than shown)" if message.more else ""
        status = f"{count} promotion{'s' if count != 1 else ''} waiting for approval{more}"
        self.query_one("#status", Static).update(status if count else "no promotions waiting for approval")
        self.show_gates()

    def on_approvals_screen_decided(self, message: Decided) -> None:
        title = "approved" if message.verb == "approve" else "rejected"
        self.notify(promotion_summary(message.promotion), title=title)
        self.reload()

    def on_approvals_screen_failed(self, message: Failed) -> None:
        self.show_error(message.error, message.what)
        self.query_one("#status", Static).update(
            safe(f"{message.what}: {message.error.message} [{message.error.reason}]")
        )

    @on(VimTable.RowHighlighted)
    def show_gates(self) -> None:
        """The promotion under the cursor, whole: why it was asked, each gate's verdict and figures, approvals."""
        promotion = self.selected()
        pane = self.query_one(DetailPane)
        if promotion is None:
            pane.clear("nothing waits for approval")
            return
        now = self.held.get((promotion.model, promotion.target, promotion.is_alias))
        pane.show(promotion_fields(promotion, self.registry.times, self.paint(), now),
                  title=f"Promotion {short_promotion(promotion.name)}")  # fmt: skip

    # ---- actions ----

    def selected(self) -> stages_pb2.Promotion | None:
        row = self.query_one(VimTable).cursor_row
        return self.promotions[row] if 0 <= row < len(self.promotions) else None

    def action_approve(self) -> None:
        promotion = self.selected()
        if promotion is not None:
            dialog = DecisionDialog(f"Approve {promotion_summary(promotion)}?", "Comment (optional)", "Approve")
            self.app.push_screen(dialog, partial(self._decided, promotion, "approve"))

    def action_reject(self) -> None:
        promotion = self.selected()
        if promotion is not None:
            dialog = DecisionDialog(f"Reject {promotion_summary(promotion)}?", "Reason", "Reject", required=True)
            self.app.push_screen(dialog, partial(self._decided, promotion, "reject"))

    def _decided(self, promotion: stages_pb2.Promotion, verb: str, text: str | None) -> None:
        if text is not None:
            self.decide(promotion, verb, text)

    def action_reload(self) -> None:
        self.reload()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("approve", "reject") and self.registry.readonly:
            return False
        return True


def promotion_fields(
    promotion: stages_pb2.Promotion, times: TimeFormat, paint: ThemeText, held_now: str | None = None
) -> list[Field]:
    """Every fact the one-line row cuts: one field per gate and per approval, each wrapped beside its label.

    `held_now`: the target's holder now ("" for nobody; None if unknown), which approving replaces.
    """
    target = promotion.target + (" (alias)" if promotion.is_alias else "")
    held = replacing(promotion.previous_version, held_now)
    fields: list[Field] = [
        ("version", paint(f"{cells.model_id(promotion.model)} {cells.number(promotion.version)} → {target}{held}")),
        ("asked by", paint(f"{promotion.actor}, {times.both(promotion.create_time)}")),
        ("reason", paint(promotion.reason or "(none given)")),
    ]
    for gate in promotion.gate_results:
        verdict = paint("pass", "good") if gate.passed else paint("FAIL", "bad")
        fields.append(("gate", Text.assemble(verdict, " ", paint(gate.gate, "bold"), "  ", paint(gate.detail))))
    if not promotion.gate_results:
        fields.append(("gate", paint("no gates apply", "muted")))
    fields.append(("approvals", paint(f"{approvals_text(promotion)} given", "warn")))
    for approval in promotion.approvals:
        said = f": {approval.comment}" if approval.comment else ""
        fields.append(("approved by", paint(f"{approval.actor}, {times.both(approval.time)}{said}", "good")))
    return fields


def replacing(when_asked: str, now: str | None) -> str:
    """ ", replacing v9" — and when the holder changed since the promotion was asked for, both:
    ", replacing v9 now (v10 when asked)"."""
    if now is None or now == when_asked:
        return f", replacing {cells.number(when_asked)}" if when_asked else ""
    now_text = cells.number(now) if now else "nothing"
    asked_text = cells.number(when_asked) if when_asked else "nothing"
    return f", replacing {now_text} now ({asked_text} when asked)"
