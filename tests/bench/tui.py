"""Terminal UI figures: process start to a painted models screen, and `G` to the end of 100,000 versions.

First paint is measured on a pseudo-terminal: the real `studbook` script runs with the real
driver, and the clock stops when a model's row reaches the terminal, so nothing inside the
child has to be trusted or hooked. Its floors (bare interpreter, `import textual`, a bare Textual
app painting a one-row table) are started and read the same way.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from studbook.tui.app import StudbookApp
from studbook.tui.config import DEFAULT_PAGE_SIZE
from studbook.tui.screens.models import ModelsScreen
from studbook.tui.screens.versions import VersionsScreen
from studbook.tui.widgets.window_table import WindowTable
from studbook.v1 import registry_pb2, registry_pb2_grpc, resources_pb2

from tests.bench.seed import seed_catalog
from tests.bench.timing import percentiles, timed
from tests.bench.tui_driver import MARKER as FLOOR_MARKER
from tests.conftest import Daemon, start_daemon, stop_daemon

BIG_MODEL = "model-0"  # seed_catalog's name for its first model
BIG_VERSIONS = 100_000
SMALL_MODELS = 5
SMALL_VERSIONS = 3
PAINT_RUNS = 5
ROWS, COLUMNS = 40, 120
# Bytes the models screen's first frame holds, rows or not: its table's first column header.
FRAME_MARKER = b"MODEL"
# Bytes that only a painted row holds: the model's name cell, and its key metric once the latest versions arrived.
ROW_MARKER = f" {BIG_MODEL} ".encode()
METRIC_MARKER = b"auc "
READY_MARKER = "floor-ready"
CHILD_TIMEOUT_S = 30.0
# A pseudo-terminal that nobody reads fills up and stalls the child: keep reading until it is gone.
EXIT_GRACE_S = 5.0
QUIT_KEY = b"\x11"  # ctrl+q
PAGE_SAMPLES = 50
# The daemon floor walks every page this large.
BULK_PAGE_SIZE = 1000
# `G` gets this long to reach the last version; a slower UI is reported as incomplete.
JUMP_TIMEOUT_S = 90.0
# Page keys pressed after `G` (and after `g`): with 40 rows a press, about 1,400 rows, past the window.
SCROLL_PAGES = 40
POLL_S = 0.002
PROBE_TICK_S = 0.01
STALL_MS = 100.0


def bench_tui(workdir: Path) -> dict[str, float]:
    """Seeds one model of 100,000 versions and a few small ones, starts a daemon, and returns
    milliseconds (`*_rpcs`, `*_rows_*`, `*_complete`, `*_on_version_1`, `*_runs`, `*_pages`,
    `ui_stalls_*` are counts or 0/1 flags; `rss_growth_mib` is MiB); prints nothing.

    First paint, `PAINT_RUNS` fresh processes each: paint_frame_p50/max (process start until
    the models screen's first frame, its column headers, is on the terminal), paint_rows_p50/max
    (until the models table's first row is), paint_metrics_p50/max (until its key metrics
    are too); floors measured the same way: floor_python_*, floor_import_textual_*,
    floor_textual_table_* (a bare Textual app painting a one-row table); paint_rows_vs_floor
    (p50 over p50), paint_frame_vs_floor, and the same in CPU time, which a busy machine barely
    moves: paint_rows_cpu_p50_ms, paint_frame_cpu_p50_ms, floor_textual_table_cpu_p50_ms,
    paint_rows_cpu_vs_floor, paint_frame_cpu_vs_floor.

    Versions screen (it holds a window of pages, never the whole history): open_first_page_ms,
    open_rpcs; one `G`, as a person presses it: jump_key_handled_ms, walk_cursor_ms (until the
    cursor is on version 1 and painted; the name `make bench` prints), walk_rpcs (round trips
    it took), jump_rpc_sum_ms, jump_complete, jump_cursor_on_version_1, jump_window_at_end,
    jump_rows_held; then page up from the end and, after `g`, page down from the top,
    `SCROLL_PAGES` presses each (prefixes up_from_end_ and down_from_top_): *_ms, *_rows_moved,
    *_rpcs, *_ms_per_page (wall time per page fetched, keys and repaint included), *_rpc_p50_ms,
    *_max_rows_held, *_cursor_consistent (cursor on the version its position says, window in
    order); top_cursor_on_newest; over all of that: ui_max_stall_ms, ui_stalls_over_100ms,
    ui_stalled_ms (how long the event loop could not take a key), rss_growth_mib. Their floors,
    the daemon alone over gRPC: daemon_page_p50_ms (one page of 100), daemon_skip_to_end_p50_ms
    (the last page of 100, by `skip`), daemon_last_page_p50_ms, daemon_walk_ms (every page of 1000).
    """
    data = workdir / "tui-bench-data"
    data.mkdir(parents=True)
    seed_catalog(data / "catalog.duckdb", models=1, versions_per_model=BIG_VERSIONS, metrics_per_version=10)
    daemon = start_daemon(data, workdir / "tui-bench.sock", "--log-level", "WARNING")
    try:
        _register_small_models(daemon)
        figures = _daemon_floors(daemon)
        figures |= _first_paint(daemon.address, workdir)
        figures |= asyncio.run(_open_and_jump(daemon.address))
    finally:
        stop_daemon(daemon)
    return figures


def _register_small_models(daemon: Daemon) -> None:
    """A few ordinary models next to the big one, so the models screen is a list, not one row."""
    with daemon.channel() as channel:
        versions = registry_pb2_grpc.VersionServiceStub(channel)
        for model in range(SMALL_MODELS):
            for number in range(SMALL_VERSIONS):
                versions.RegisterModelVersion(registry_pb2.RegisterModelVersionRequest(
                    parent=f"models/small-{model}", request_id=f"tui-bench-{model}-{number}",
                    version=resources_pb2.ModelVersion(storage_uri=f"s3://b/small-{model}/{number}",
                                                       metrics=[resources_pb2.Metric(key="auc", value=0.9)])))  # fmt: skip


# ---- the daemon alone: what the versions screen cannot beat --------------------------------


def _daemon_floors(daemon: Daemon) -> dict[str, float]:
    """The screen's first page (default size), and every bulk page in turn (what `G` asks for)."""
    parent = f"models/{BIG_MODEL}"
    with daemon.channel() as channel:
        versions = registry_pb2_grpc.VersionServiceStub(channel)

        def page(size: int, token: str = "", skip: int = 0) -> registry_pb2.ListModelVersionsResponse:
            request = registry_pb2.ListModelVersionsRequest(parent=parent, page_size=size, page_token=token,
                                                            summary_only=True, skip=skip)  # fmt: skip
            return versions.ListModelVersions(request)

        first = timed(lambda: page(DEFAULT_PAGE_SIZE), PAGE_SAMPLES)
        # What `G` asks for: the last page, straight away.
        end = timed(lambda: page(DEFAULT_PAGE_SIZE, skip=BIG_VERSIONS - DEFAULT_PAGE_SIZE), PAGE_SAMPLES)
        started = time.perf_counter()
        token, last_token, pages = "", "", 0
        while True:
            reply = page(BULK_PAGE_SIZE, token)
            pages += 1
            if not reply.next_page_token:
                break
            token = last_token = reply.next_page_token
        walk = time.perf_counter() - started
        last = timed(lambda: page(BULK_PAGE_SIZE, last_token), 10)
    return {
        "daemon_page_p50_ms": _p50(first),
        "daemon_skip_to_end_p50_ms": _p50(end),
        "daemon_last_page_p50_ms": _p50(last),
        "daemon_walk_ms": walk * 1000,
        "daemon_walk_pages": float(pages),
    }


# ---- first paint, on a pseudo-terminal ------------------------------------------------------


def _first_paint(address: str, workdir: Path) -> dict[str, float]:
    config = workdir / "tui-bench-config"  # an empty config dir: default settings, never the user's
    config.mkdir()
    # Bytecode may be written: the floors' packages were compiled when installed, and studbook's
    # own modules are too after a person's first start; compiling them on every run is no paint cost.
    env = {k: v for k, v in os.environ.items()
           if k not in ("NO_COLOR", "PYTHONDONTWRITEBYTECODE") and not k.startswith("TEXTUAL")}  # fmt: skip
    env |= {"TERM": "xterm-256color", "XDG_CONFIG_HOME": str(config), "COLUMNS": str(COLUMNS), "LINES": str(ROWS)}
    studbook = Path(sys.executable).with_name("studbook")
    command = [str(studbook)] if studbook.exists() else [sys.executable, "-m", "studbook.cli.commands"]
    driver = str(Path(__file__).with_name("tui_driver.py"))
    # One start of each, unmeasured: what a person's second start finds (bytecode, page cache).
    _until_painted([*command, "--address", address], [ROW_MARKER], env)
    _until_painted([sys.executable, driver], [FLOOR_MARKER.encode()], env)
    frames, rows, metrics, python, textual, table = [], [], [], [], [], []
    # CPU seconds the process had used when its marker showed: unlike wall time, barely moved
    # by other work on the machine, so the ratio to the floor holds on a busy machine too.
    studbook_cpu: list[float] = []
    table_cpu: list[float] = []
    # Interleaved, so a noisy moment on the machine lands on every figure alike.
    for _ in range(PAINT_RUNS):
        markers = [FRAME_MARKER, ROW_MARKER, METRIC_MARKER]
        frame_at, row_at, metric_at = _until_painted([*command, "--address", address], markers, env, cpu=studbook_cpu)
        frames.append(frame_at)
        rows.append(row_at)
        metrics.append(metric_at)
        python.append(
            _until_painted([sys.executable, "-c", f"print({READY_MARKER!r})"], [READY_MARKER.encode()], env)[0]
        )
        textual.append(_until_painted([sys.executable, "-c", f"import textual; print({READY_MARKER!r})"],
                                      [READY_MARKER.encode()], env)[0])  # fmt: skip
        table.append(_until_painted([sys.executable, driver], [FLOOR_MARKER.encode()], env, cpu=table_cpu)[0])
    figures = {"paint_runs": float(PAINT_RUNS)}
    for name, samples in (("paint_frame", frames), ("paint_rows", rows), ("paint_metrics", metrics),
                          ("floor_python", python), ("floor_import_textual", textual),
                          ("floor_textual_table", table)):  # fmt: skip
        figures[f"{name}_p50_ms"] = _p50(samples)
        figures[f"{name}_max_ms"] = max(samples) * 1000
    # Each studbook run gave three CPU readings, one per marker: first frame, rows, key metric.
    figures["paint_frame_cpu_p50_ms"] = _p50(studbook_cpu[0::3])
    figures["paint_rows_cpu_p50_ms"] = _p50(studbook_cpu[1::3])
    figures["floor_textual_table_cpu_p50_ms"] = _p50(table_cpu)
    for name in ("paint_frame", "paint_rows"):
        figures[f"{name}_vs_floor"] = figures[f"{name}_p50_ms"] / figures["floor_textual_table_p50_ms"]
        figures[f"{name}_cpu_vs_floor"] = figures[f"{name}_cpu_p50_ms"] / figures["floor_textual_table_cpu_p50_ms"]
    return figures


def _until_painted(
    argv: list[str], markers: list[bytes], env: dict[str, str], *, cpu: list[float] | None = None
) -> list[float]:
    """Seconds from just before the process starts until each marker reached its terminal, in order.

    With `cpu`, the CPU seconds the process had used by each marker are appended to it.
    """
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))
    started = time.perf_counter()
    process = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True)
    os.close(slave)
    seen: list[float] = []
    output = bytearray()
    try:
        deadline = started + CHILD_TIMEOUT_S
        while len(seen) < len(markers) and time.perf_counter() < deadline:
            chunk = _read(master, deadline)
            if chunk is None:
                break
            output += chunk
            # Look back a little: a marker can straddle two reads.
            while len(seen) < len(markers) and markers[len(seen)] in output[-(len(chunk) + 64) :]:
                seen.append(time.perf_counter() - started)
                if cpu is not None:
                    cpu.append(_cpu_seconds(process.pid))
        if len(seen) < len(markers):
            raise RuntimeError(f"{argv[0]} never painted {markers[len(seen)]!r}:\n{output[-2000:]!r}")
        _finish(process, master)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(master)
    return seen


def _read(master: int, deadline: float) -> bytes | None:
    """The next bytes on the terminal, or None once the child closed it or the deadline passed."""
    ready, _, _ = select.select([master], [], [], max(0.0, deadline - time.perf_counter()))
    if not ready:
        return None
    try:
        return os.read(master, 65536) or None
    except OSError:  # EIO: every writer is gone
        return None


def _finish(process: subprocess.Popen[bytes], master: int) -> None:
    """Quit the way a person would, reading its last screen writes so it never blocks on a full terminal."""
    if process.poll() is None:
        os.write(master, QUIT_KEY)
    deadline = time.perf_counter() + EXIT_GRACE_S
    while process.poll() is None and time.perf_counter() < deadline:
        if _read(master, min(deadline, time.perf_counter() + 0.1)) is None:
            time.sleep(0.01)  # the terminal is closed; the process is on its way out
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    process.wait(timeout=EXIT_GRACE_S)


# ---- the versions screen: first page, then `G` to the end --------------------------------


class _CountedCalls:
    """Wraps the app client's ListModelVersions to count round trips and time each, as the screen sees them."""

    def __init__(self, app: StudbookApp) -> None:
        self.seconds: list[float] = []
        self._call = app.client.list_versions
        app.client.list_versions = self

    async def __call__(self, *args: Any, **kwargs: Any) -> registry_pb2.ListModelVersionsResponse:
        started = time.perf_counter()
        try:
            return await self._call(*args, **kwargs)
        finally:
            self.seconds.append(time.perf_counter() - started)


async def _open_and_jump(address: str) -> dict[str, float]:
    """Opens the big model's versions in a headless app with default settings, then goes to the end and back.

    As a person would: one `G`, then page up `SCROLL_PAGES` times (far enough to cross the whole
    window, so pages are loaded above and dropped below), then `g` and page down as far.
    """
    app = StudbookApp(address)
    calls = _CountedCalls(app)
    figures: dict[str, float] = {}
    async with app.run_test(size=(COLUMNS, ROWS)) as pilot:
        await _until(lambda: isinstance(app.screen, ModelsScreen) and app.screen.latest, 30.0)
        await pilot.pause()
        rss_before = _rss_mib()

        calls.seconds.clear()
        started = time.perf_counter()
        screen = await _open_versions(app)
        figures["open_first_page_ms"] = (time.perf_counter() - started) * 1000
        await _until(lambda: not screen.fetching, 30.0)
        await pilot.pause()
        figures["open_rpcs"] = float(len(calls.seconds))

        table = screen.query_one(WindowTable)
        calls.seconds.clear()
        probe = _LoopProbe()
        started = time.perf_counter()
        await pilot.press("G")
        figures["jump_key_handled_ms"] = (time.perf_counter() - started) * 1000
        complete = await _until(lambda: _on_version(screen, 1) and not screen.fetching, JUMP_TIMEOUT_S, quiet=True)
        await asyncio.wait_for(screen.wait_for_refresh(), 10.0)
        figures["jump_complete"] = float(complete)
        figures["jump_cursor_on_version_1"] = float(_on_version(screen, 1))
        # Kept under the names `make bench` prints: `G` to the cursor on the last version, painted.
        figures["walk_cursor_ms"] = (time.perf_counter() - started) * 1000
        figures["walk_rpcs"] = float(len(calls.seconds))
        figures["jump_rpc_sum_ms"] = sum(calls.seconds) * 1000
        figures["jump_rows_held"] = float(table.row_count)
        figures["jump_window_at_end"] = float(screen.first_row + len(screen.versions) == BIG_VERSIONS)

        figures |= await _scroll(pilot, screen, calls, "pageup", "up_from_end")
        await pilot.press("g")
        await _until(lambda: screen.first_row == 0 and not screen.fetching, 30.0)
        figures["top_cursor_on_newest"] = float(_on_version(screen, BIG_VERSIONS))
        figures |= await _scroll(pilot, screen, calls, "pagedown", "down_from_top")

        stalls = await probe.stop()
        figures["ui_max_stall_ms"] = max(stalls, default=0.0)
        figures["ui_stalls_over_100ms"] = float(sum(1 for s in stalls if s > STALL_MS))
        figures["ui_stalled_ms"] = sum(s for s in stalls if s > STALL_MS)
        figures["rss_growth_mib"] = _rss_mib() - rss_before
    return figures


def _on_version(screen: VersionsScreen, number: int) -> bool:
    chosen = screen.selected()
    return chosen is not None and chosen.number == number


async def _scroll(pilot: Any, screen: VersionsScreen, calls: _CountedCalls, key: str, name: str) -> dict[str, float]:
    """`key` pressed `SCROLL_PAGES` times, each time until its page (if any) arrived: the cost per page
    fetched, the most rows the table held, and whether the cursor stayed on the version it should."""
    table = screen.query_one(WindowTable)
    calls.seconds.clear()
    held, started = table.row_count, time.perf_counter()
    before = screen.first_row + table.cursor_row
    for _ in range(SCROLL_PAGES):
        await pilot.press(key)
        await _until(lambda: not screen.fetching, 30.0)
        held = max(held, table.row_count)
    await asyncio.wait_for(screen.wait_for_refresh(), 10.0)
    elapsed = time.perf_counter() - started
    moved = abs(screen.first_row + table.cursor_row - before)
    chosen = screen.selected()
    numbers = [v.number for v in screen.versions]
    in_order = numbers == list(range(numbers[0], numbers[0] - len(numbers), -1)) if numbers else False
    expected = BIG_VERSIONS - (screen.first_row + table.cursor_row)
    return {
        f"{name}_ms": elapsed * 1000,
        f"{name}_rows_moved": float(moved),
        f"{name}_rpcs": float(len(calls.seconds)),
        f"{name}_ms_per_page": elapsed * 1000 / max(1, len(calls.seconds)),
        f"{name}_rpc_p50_ms": _p50(calls.seconds) if calls.seconds else 0.0,
        f"{name}_max_rows_held": float(held),
        f"{name}_cursor_consistent": float(chosen is not None and chosen.number == expected and in_order),
    }


async def _open_versions(app: StudbookApp) -> VersionsScreen:
    """Opens the big model and returns its screen once the first page is painted."""
    app.open_versions(BIG_MODEL)
    await _until(lambda: isinstance(app.screen, VersionsScreen) and bool(app.screen.versions), 30.0)
    screen = app.screen
    assert isinstance(screen, VersionsScreen)
    await asyncio.wait_for(screen.wait_for_refresh(), 5.0)
    return screen


async def _until(condition: Callable[[], object], timeout: float, *, quiet: bool = False) -> bool:
    """Let the app run until `condition()` holds; True when it did, False (quiet) or TimeoutError when not."""
    deadline = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > deadline:
            if quiet:
                return False
            raise TimeoutError(f"the terminal UI never reached {condition}")
        await asyncio.sleep(POLL_S)
    return True


class _LoopProbe:
    """Ticks on the app's event loop; a tick that comes late is a time no key or repaint could be handled."""

    def __init__(self) -> None:
        self._lateness: list[float] = []
        self._task = asyncio.create_task(self._tick())

    def restart(self) -> None:
        self._lateness.clear()

    async def _tick(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(PROBE_TICK_S)
            self._lateness.append((time.perf_counter() - before - PROBE_TICK_S) * 1000)

    async def stop(self) -> list[float]:
        """Milliseconds each tick came late."""
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        return self._lateness


# ---- small helpers ----------------------------------------------------------------------------


def _p50(samples: list[float]) -> float:
    return percentiles(samples)[0]


def _cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a running process, from /proc (its threads included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mib() -> float:
    for entry in Path("/proc/self/status").read_text().splitlines():
        if entry.startswith("VmRSS:"):
            return int(entry.split()[1]) / 1024
    return 0.0


if __name__ == "__main__":
    import json
    import shutil
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="sb-"))
    begun = time.perf_counter()
    try:
        results = bench_tui(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    results["bench_total_s"] = time.perf_counter() - begun
    print(json.dumps(results, indent=2))
