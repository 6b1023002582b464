"""What the user sees, pinned: the main screens at 120×32 over a registry seeded the same way every time.

Times come from the daemon's clock, so they are written as `…` here (TimeFormat(hidden=True)).
Update the pictures with `pytest tests/tui/test_snapshots.py --snapshot-update` after a deliberate change.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from studbook.client import calls
from studbook.client.clients import Client
from studbook.tui.app import StudbookApp
from studbook.tui.config import TuiSettings
from studbook.tui.live import ConnectionState
from studbook.tui.screens.diff import DiffScreen
from studbook.tui.screens.models import ModelsScreen
from studbook.tui.screens.promote import PromoteDialog
from studbook.tui.screens.version import VersionScreen
from studbook.tui.screens.versions import VersionsScreen
from studbook.tui.timefmt import TimeFormat
from studbook.tui.widgets.file_tree import FileTree
from studbook.v1 import resources_pb2
from textual.pilot import Pilot

SIZE = (120, 32)
CARD = "# Fraud detector\n\nGradient-boosted trees over card transactions.\n\n- owner: risk team\n"
ENVIRONMENT = resources_pb2.Environment(python_version="3.11.9", platform="Linux-6.1-x86_64",
                                        packages={"scikit-learn": "1.5.1", "numpy": "1.26.4"})  # fmt: skip
VERSIONS = (
    ("fraud-detector", {"auc": 0.912, "precision": 0.81}, {"max_depth": 6}, "initial"),
    ("fraud-detector", {"auc": 0.931, "precision": 0.84}, {"max_depth": 6}, "data"),
    ("fraud-detector", {"auc": 0.936, "precision": 0.83}, {"max_depth": 8}, "tuning"),
    ("churn-predictor", {"f1": 0.68}, {"C": 1.0}, "initial"),
)


@pytest.fixture(scope="module")
def registry(shared_daemon) -> str:  # type: ignore[no-untyped-def]
    """Two models, four versions, per-step losses and a production holder."""
    with Client(shared_daemon.address) as client:
        for model in ("fraud-detector", "churn-predictor"):
            client.create_model(model, description=f"The {model.replace('-', ' ')}.", owner="risk")
        for index, (model, metrics, params, kind) in enumerate(VERSIONS):
            request = calls.register_request(
                model, uri=f"s3://models/{model}/{index}/", metrics=metrics, params=params, tags={"team": "risk"},
                model_card=CARD, change_kind=kind, seed=7, data_versions={"transactions": "2026-01"},
                environment=ENVIRONMENT, git=False, created_from="test", entry_point="train.py",
            )  # fmt: skip
            request.version.created_by = "ana@lab"
            client.register_version(request)
        for step, loss in enumerate((0.9, 0.6, 0.45, 0.4, 0.38), 1):
            client.log_metrics("fraud-detector@3", {"loss": loss}, step=step * 100, split="train")
        client.promote("fraud-detector@2", "production", reason="beats v1")
    return str(shared_daemon.address)


def app_for(address: str) -> StudbookApp:
    return StudbookApp(address, settings=TuiSettings(), times=TimeFormat(hidden=True), live=False)


async def until(pilot: Pilot[None], condition: Callable[[], object]) -> None:
    """Until `condition` holds and then the screen stays the same for a moment: answers still
    arriving after the one waited for (a busy machine slows them) would change the picture."""
    for _ in range(400):
        if condition():
            break
        await pilot.pause(0.025)
    else:
        raise AssertionError("the screen never finished loading")
    shown = _shown(pilot)
    for _ in range(50):
        await pilot.pause(0.1)
        shown, before = _shown(pilot), shown
        if shown == before:
            return
    raise AssertionError(f"the screen never settled:\n{shown}")


def _shown(pilot: Pilot[None]) -> list[str]:
    return [strip.text for strip in pilot.app.screen._compositor.render_strips()]


def prepare(steps: Callable[[StudbookApp, Pilot[None]], Awaitable[None]]) -> Callable[[Pilot[None]], Awaitable[None]]:
    async def run_before(pilot: Pilot[None]) -> None:
        app: StudbookApp = pilot.app  # type: ignore[assignment]
        app.connection = ConnectionState.CONNECTED
        await until(pilot, lambda: isinstance(app.screen, ModelsScreen) and app.screen.latest)
        await steps(app, pilot)

    return run_before


def test_models_screen(registry: str, snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def steps(app: StudbookApp, pilot: Pilot[None]) -> None:
        pass

    assert snap_compare(app_for(registry), terminal_size=SIZE, run_before=prepare(steps))


def test_versions_screen(registry: str, snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def steps(app: StudbookApp, pilot: Pilot[None]) -> None:
        app.open_versions("fraud-detector")
        await until(pilot, lambda: isinstance(app.screen, VersionsScreen) and app.screen.model and app.screen.versions)
        await pilot.press("space")

    assert snap_compare(app_for(registry), terminal_size=SIZE, run_before=prepare(steps))


@pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=["120x40", "80x24"])
def test_versions_sorted_by_a_metric(registry: str, snap_compare, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    """Best auc first, the sorted column marked; at 80×24 whole columns are left out, none cut."""

    async def steps(app: StudbookApp, pilot: Pilot[None]) -> None:
        app.open_versions("fraud-detector")
        await until(pilot, lambda: isinstance(app.screen, VersionsScreen) and app.screen.model and app.screen.versions)
        screen = app.screen
        await pilot.press("S", *"auc", "enter")
        await until(pilot, lambda: screen.sort.metric == "auc" and not screen.fetching)

    assert snap_compare(app_for(registry), terminal_size=size, run_before=prepare(steps))


def test_version_overview(registry: str, snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def steps(app: StudbookApp, pilot: Pilot[None]) -> None:
        app.open_version("fraud-detector@3")
        await until(pilot, lambda: isinstance(app.screen, VersionScreen) and app.screen.metric_rows)

    assert snap_compare(app_for(registry), terminal_size=SIZE, run_before=prepare(steps))


def test_version_metrics_chart(registry: str, snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def steps(app: StudbookApp, pilot: Pilot[None]) -> None:
        app.open_version("fraud-detector@3", "metrics")
        await until(pilot, lambda: isinstance(app.screen, VersionScreen) and app.screen.metric_rows)
        app.screen.query_one("#metric-table").focus()
        await pilot.press("down")

    assert snap_compare(app_for(registry), terminal_size=SIZE, run_before=prepare(steps))


def test_a_kept_version_at_80_by_24(daemon, flagged_artifact: Path, snap_compare) -> None:  # type: ignore[no-untyped-def]
    """Uploaded, so no path of this machine shows; the overview says the registry keeps the files."""
    with Client(daemon.address) as client:
        request = calls.register_request("vision-encoder", path=flagged_artifact, environment=ENVIRONMENT,
                                         git=False, created_from="test", entry_point="train.py", allow_unsafe=True)  # fmt: skip
        request.version.created_by = "ana@lab"
        client.register_version(request, upload=True)

    async def steps(app: StudbookApp, pilot: Pilot[None]) -> None:
        app.open_version("vision-encoder@1")
        await until(pilot, lambda: isinstance(app.screen, VersionScreen) and app.screen.version)

    assert snap_compare(app_for(daemon.address), terminal_size=(80, 24), run_before=prepare(steps))


def test_version_files_tree(daemon, flagged_artifact: Path, snap_compare) -> None:  # type: ignore[no-untyped-def]
    """A fresh daemon, so this model leaves the other pictures alone; the folder's path is never shown here."""
    with Client(daemon.address) as client:
        request = calls.register_request("vision-encoder", path=flagged_artifact, environment=ENVIRONMENT,
                                         git=False, created_from="test", entry_point="train.py", allow_unsafe=True)  # fmt: skip
        client.register_version(request)

    async def steps(app: StudbookApp, pilot: Pilot[None]) -> None:
        app.open_version("vision-encoder@1", "files")
        await until(pilot, lambda: isinstance(app.screen, VersionScreen) and app.screen.version)
        weights = app.screen.query_one(FileTree).root.children[0]
        await pilot.press("j", "space")
        await until(pilot, lambda: len(weights.children) == 2)
        await pilot.press("G")  # the pickle, so its flags are explained under the tree

    assert snap_compare(app_for(daemon.address), terminal_size=SIZE, run_before=prepare(steps))


def test_diff_screen(registry: str, snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def steps(app: StudbookApp, pilot: Pilot[None]) -> None:
        app.open_diff("fraud-detector@production", "fraud-detector@3")
        await until(pilot, lambda: isinstance(app.screen, DiffScreen) and app.screen.diff)

    assert snap_compare(app_for(registry), terminal_size=SIZE, run_before=prepare(steps))


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_promote_dialog_opens_on_the_dry_run(registry: str, snap_compare, size) -> None:  # type: ignore[no-untyped-def]
    """The next stage picked, its gates listed; at 80×24 the reason, result and buttons still show."""

    async def steps(app: StudbookApp, pilot: Pilot[None]) -> None:
        app.start_promote("fraud-detector@3")
        await until(pilot, lambda: isinstance(app.screen, PromoteDialog) and app.screen.checked_target)
        await pilot.press(*"tuned candidate")

    assert snap_compare(app_for(registry), terminal_size=size, run_before=prepare(steps))


def test_versions_screen_for_a_viewer(registry: str, snap_compare) -> None:  # type: ignore[no-untyped-def]
    """Who the UI acts as, and read-only: no action that changes the registry is offered."""
    with Client(registry) as client:
        secret = client.create_token("auditor", "viewer").secret
    app = StudbookApp(registry, settings=TuiSettings(), times=TimeFormat(hidden=True), live=False, token=secret)

    async def steps(app: StudbookApp, pilot: Pilot[None]) -> None:
        await until(pilot, lambda: app.identity)
        app.open_versions("fraud-detector")
        await until(pilot, lambda: isinstance(app.screen, VersionsScreen) and app.screen.model and app.screen.versions)

    assert snap_compare(app, terminal_size=SIZE, run_before=prepare(steps))


def _llama_folder(folder: Path) -> Path:
    """A small Hugging Face folder whose weights carry a format record worth showing."""
    from unit.formats.builders import safetensors_bytes

    weights = safetensors_bytes({
        "model.embed_tokens.weight": ("BF16", [256, 64], bytes(256 * 64 * 2)),
        "model.layers.0.mlp.up_proj.weight": ("BF16", [128, 64], bytes(128 * 64 * 2)),
        "model.norm.weight": ("F32", [64], bytes(64 * 4)),
    })  # fmt: skip
    config = b'{"model_type": "llama", "architectures": ["LlamaForCausalLM"], "transformers_version": "4.44.0"}'
    folder.mkdir(parents=True)
    (folder / "config.json").write_bytes(config)
    (folder / "model.safetensors").write_bytes(weights)
    return folder


@pytest.mark.parametrize("size", [SIZE, (80, 24)], ids=["120x32", "80x24"])
def test_version_files_show_the_format_record_of_the_file_under_the_cursor(  # type: ignore[no-untyped-def]
    daemon, tmp_path: Path, snap_compare, size: tuple[int, int]
) -> None:
    with Client(daemon.address) as client:
        request = calls.register_request("tiny-llama", path=_llama_folder(tmp_path / "llama"), git=False,
                                         created_from="test", entry_point="train.py")  # fmt: skip
        client.register_version(request)

    async def steps(app: StudbookApp, pilot: Pilot[None]) -> None:
        app.open_version("tiny-llama@1", "files")
        await until(pilot, lambda: isinstance(app.screen, VersionScreen) and app.screen.version)
        await pilot.press("G")  # model.safetensors: its dtypes, parameters and largest tensors show below

    assert snap_compare(app_for(daemon.address), terminal_size=size, run_before=prepare(steps))


def _production_history(address: str) -> None:
    """v1 promoted, then replaced by v2, then rolled back to, with auc points every 4 hours of each tenure.

    The daemon runs on a simulated clock that moves 12 hours at each write, so the picture does
    not depend on how fast the test ran. A point may not lie after the daemon's time: writes of
    a training loss move that time on before the points of a tenure are sent.
    """
    from datetime import datetime, timedelta

    from studbook.v1 import production_pb2

    def held(client: Client, days: int) -> datetime:
        """When production last changed hands; then `days` pass on the daemon's clock."""
        at = client.stage_history("fraud-detector", stage="production").changes[0].time.ToDatetime()
        for _ in range(days * 2):
            client.log_metrics("fraud-detector@1", {"loss": 0.3}, step=1, split="train")
        return at

    def observe(client: Client, start: datetime, values: tuple[float, ...]) -> None:
        """One call (one write) for a tenure's points, so the clock moves as much whatever their number."""
        points = []
        for index, value in enumerate(values, 1):
            point = production_pb2.ProductionPoint(key="auc", value=value)
            point.window_end.FromDatetime(start + timedelta(hours=4 * index))
            points.append(point)
        client.observe("fraud-detector@production", points)

    with Client(address) as client:
        for index, auc in enumerate((0.931, 0.945)):
            request = calls.register_request("fraud-detector", uri=f"s3://models/fraud/{index}/", metrics={"auc": auc},
                                             git=False, created_from="test", request_id=f"prod-{index}")  # fmt: skip
            client.register_version(request)
        client.promote("fraud-detector@1", "production", reason="first")
        observe(client, held(client, 2), (0.93, 0.926, 0.928, 0.924, 0.921, 0.923, 0.918, 0.92, 0.916, 0.917, 0.913))
        client.promote("fraud-detector@2", "production", reason="better offline")
        observe(client, held(client, 1), (0.89, 0.87, 0.86, 0.85, 0.86))
        client.rollback("fraud-detector", "production", reason="worse in production")
        observe(client, held(client, 2), (0.912, 0.918, 0.921, 0.919, 0.924, 0.926, 0.923, 0.927, 0.925, 0.928, 0.929))


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_version_production_chart(daemon_factory, snap_compare, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    """v1's own record: two runs of points, never joined across v2's tenure; its promotion,
    replacement and rollback marked on the time axis; its evaluation auc dashed across."""
    daemon = daemon_factory("--simulated-days", "20", "--simulated-writes", "40")
    _production_history(str(daemon.address))

    async def steps(app: StudbookApp, pilot: Pilot[None]) -> None:
        from studbook.tui.widgets.production_pane import ProductionPane

        app.open_version("fraud-detector@1", "production")
        await until(pilot, lambda: isinstance(app.screen, VersionScreen)
                    and any(pane.choices for pane in app.screen.query(ProductionPane)))  # fmt: skip

    assert snap_compare(app_for(str(daemon.address)), terminal_size=size, run_before=prepare(steps))


def _staged_history(address: str) -> None:
    """v1 tried in staging (auc points over two days), replaced there by v2, then promoted to
    production (points over two more days); on the simulated clock of `_production_history`."""
    from datetime import timedelta

    from studbook.v1 import production_pb2

    def observe(client: Client, stage: str, values: tuple[float, ...]) -> None:
        start = client.stage_history("fraud-detector", stage=stage).changes[0].time.ToDatetime()
        for _ in range(4):
            client.log_metrics("fraud-detector@1", {"loss": 0.3}, step=1, split="train")
        points = []
        for index, value in enumerate(values, 1):
            point = production_pb2.ProductionPoint(key="auc", value=value)
            point.window_end.FromDatetime(start + timedelta(hours=4 * index))
            points.append(point)
        client.observe(f"fraud-detector@{stage}", points)

    with Client(address) as client:
        for index, auc in enumerate((0.931, 0.945)):
            request = calls.register_request("fraud-detector", uri=f"s3://models/fraud/{index}/", metrics={"auc": auc},
                                             git=False, created_from="test", request_id=f"staged-{index}")  # fmt: skip
            client.register_version(request)
        client.promote("fraud-detector@1", "staging", reason="try it")
        observe(client, "staging", (0.92, 0.915, 0.921, 0.918, 0.924, 0.919, 0.922, 0.925, 0.92, 0.923, 0.926))
        client.promote("fraud-detector@2", "staging", reason="next candidate")
        client.promote("fraud-detector@1", "production", reason="held up in staging")
        observe(client, "production", (0.928, 0.93, 0.926, 0.929, 0.931, 0.927, 0.93, 0.932, 0.929, 0.933, 0.931))


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_version_production_of_several_stages(daemon_factory, snap_compare, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    """v1 held staging, then production: the stage line names both, and `t` has switched the
    tab to staging's record (its one tenure, promoted and replaced); the footer offers the key."""
    daemon = daemon_factory("--simulated-days", "20", "--simulated-writes", "40")
    _staged_history(str(daemon.address))

    async def steps(app: StudbookApp, pilot: Pilot[None]) -> None:
        from studbook.tui.widgets.production_pane import ProductionPane

        def shown(stages: int, stage: str = "") -> bool:
            return isinstance(app.screen, VersionScreen) and any(
                len(pane.stages) >= stages and pane.choices and stage in ("", pane.stage)
                for pane in app.screen.query(ProductionPane))  # fmt: skip

        app.open_version("fraud-detector@1", "production")
        await until(pilot, lambda: shown(2))
        await pilot.press("t")
        await until(pilot, lambda: shown(2, "staging"))

    assert snap_compare(app_for(str(daemon.address)), terminal_size=size, run_before=prepare(steps))
