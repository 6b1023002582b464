"""The drop-in calls of `Client` and `AsyncClient` against a real daemon watching a real folder.

One daemon watches one root for the module; every test drops into its own model folder.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import Daemon, start_daemon, stop_daemon
from google.protobuf import timestamp_pb2
from studbook.client import AsyncClient, Client, StudbookError, calls
from studbook.client.clients import drop_settled
from studbook.v1 import drops_pb2
from support.waiting import DEADLINE, wait_for


@pytest.fixture(scope="module")
def root_and_daemon() -> Iterator[tuple[Path, Daemon]]:
    base = Path(tempfile.mkdtemp(prefix="sb-"))  # short: socket paths are limited
    root = base / "drops"
    root.mkdir()
    daemon = start_daemon(base / "data", base / "s.sock", "--watch", str(root), "--quiet-seconds", "0.2",
                          "--config", str(base / "none.toml"))  # fmt: skip
    try:
        yield root, daemon
    finally:
        stop_daemon(daemon)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def root(root_and_daemon: tuple[Path, Daemon]) -> Path:
    return root_and_daemon[0]


@pytest.fixture
def sb(root_and_daemon: tuple[Path, Daemon]) -> Iterator[Client]:
    with Client(root_and_daemon[1].address) as client:
        yield client


@pytest.fixture
def model() -> str:
    return f"m-{uuid.uuid4().hex[:8]}"


def orphan_drop(root: Path, model: str) -> Path:
    """A drop quarantined as PARENT_NOT_FOUND until `{model}-base` has a version 1."""
    unit = root / model / "1"
    unit.mkdir(parents=True)
    (unit / "model.bin").write_bytes(b"child weights")
    (unit / "studbook.json").write_text(json.dumps({"parents": [{"version": f"models/{model}-base/versions/1"}]}))
    return unit


def quarantined_at(sb: Client, model: str, unit: Path) -> drops_pb2.Drop | None:
    return next((d for d in sb.list_quarantined_drops(model=model).drops if d.path == str(unit)), None)


# ---- the sync client -------------------------------------------------------------------


def test_a_quarantined_drop_is_listed_by_every_listing_with_its_reason(sb: Client, root: Path, model: str) -> None:
    unit = orphan_drop(root, model)

    drop = wait_for(lambda: quarantined_at(sb, model, unit), "the quarantine")
    everything = sb.list_drops(model=f"models/{model}")
    iterated = list(sb.iter_drops(model=model, quarantined_only=True, page_size=1))

    assert drop.state == drops_pb2.DROP_STATE_QUARANTINED and drop.reason == "PARENT_NOT_FOUND"
    assert drop.model == f"models/{model}" and drop.details["field"] == "parents"
    assert [d.name for d in everything.drops] == [drop.name] and everything.total_size == 1
    assert [d.name for d in iterated] == [drop.name]


def test_retry_by_path_then_waiting_gives_the_new_verdict(sb: Client, root: Path, model: str) -> None:
    unit = orphan_drop(root, model)
    before = wait_for(lambda: quarantined_at(sb, model, unit), "the quarantine")
    sb.register(f"{model}-base", uri="s3://bucket/base", git=False, environment=False)

    asked = sb.retry_drop(path=unit)
    verdict = sb.wait_for_drop(asked, timeout=DEADLINE)

    assert asked.name == before.name
    assert verdict.state == drops_pb2.DROP_STATE_REGISTERED and verdict.version == f"models/{model}/versions/1"
    assert sb.get_version(model, 1).parents[0].version == f"models/{model}-base/versions/1"


def test_without_a_new_verdict_waiting_ends_at_the_timeout_with_the_standing_one(
    sb: Client, root: Path, model: str
) -> None:
    unit = orphan_drop(root, model)
    drop = wait_for(lambda: quarantined_at(sb, model, unit), "the quarantine")

    # Nothing asked the watcher to look again and nothing changed on disk: no new verdict.
    standing = sb.wait_for_drop(drop, timeout=0.3)

    assert standing == drop


def test_retrying_an_unknown_drop_raises_not_found(sb: Client, root: Path) -> None:
    with pytest.raises(StudbookError) as caught:
        sb.retry_drop(path=root / "nobody" / "1")

    assert (caught.value.code, caught.value.reason) == ("NOT_FOUND", "DROP_NOT_FOUND")


def test_the_watch_status_names_the_root_and_its_observer(sb: Client, root: Path) -> None:
    status = sb.get_watch_status()

    assert [(r.path, r.observer) for r in status.roots] == [(str(root.resolve()), "inotify")]
    assert not status.degraded and status.quiet_seconds == 0.2


# ---- the async client ------------------------------------------------------------------


def test_the_async_client_lists_retries_and_reads_the_watch_status(
    root_and_daemon: tuple[Path, Daemon], sb: Client, model: str
) -> None:
    root, daemon = root_and_daemon
    unit = orphan_drop(root, model)
    wait_for(lambda: quarantined_at(sb, model, unit), "the quarantine")

    async def scenario() -> tuple[drops_pb2.ListQuarantinedDropsResponse, drops_pb2.ListDropsResponse,
                                  drops_pb2.Drop, drops_pb2.WatchStatus]:  # fmt: skip
        async with AsyncClient(daemon.address) as client:
            quarantined = await client.list_quarantined_drops(model=model)
            everything = await client.list_drops(model=model, page_size=10)
            retried = await client.retry_drop(quarantined.drops[0].name)
            return quarantined, everything, retried, await client.get_watch_status()

    quarantined, everything, retried, status = asyncio.run(scenario())

    assert [d.path for d in quarantined.drops] == [str(unit)]
    assert [d.name for d in everything.drops] == [quarantined.drops[0].name]
    assert retried.path == str(unit)
    assert [r.path for r in status.roots] == [str(root.resolve())]


# ---- requests and verdicts, without a daemon -------------------------------------------


@pytest.mark.parametrize("where", [{}, {"name": "drops/abc", "path": "/tmp/x"}])
def test_a_retry_names_exactly_one_of_the_drop_and_its_path(where: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="name"):
        calls.retry_drop(where.get("name", ""), path=where.get("path"))


def test_a_retry_by_path_sends_it_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)

    call = calls.retry_drop(path="fraud/3")

    assert call.request.path == str(tmp_path / "fraud" / "3") and call.request.name == ""
    assert call.idempotent  # looking again is safe to ask twice


@pytest.mark.parametrize(("given", "sent"), [("fraud", "fraud"), ("models/fraud", "fraud"), ("-", ""), ("", ""),
                                             ("Bad Model", "Bad Model")])  # fmt: skip
def test_drop_listings_take_a_model_id_valid_or_not(given: str, sent: str) -> None:
    assert calls.list_drops(model=given).request.model == sent
    assert calls.list_quarantined_drops(model=given).request.model == sent


def _drop(state: int, seconds: int) -> drops_pb2.Drop:
    return drops_pb2.Drop(state=state, update_time=timestamp_pb2.Timestamp(seconds=seconds))


QUARANTINED, PENDING, REGISTERED = (drops_pb2.DROP_STATE_QUARANTINED, drops_pb2.DROP_STATE_PENDING,
                                    drops_pb2.DROP_STATE_REGISTERED)  # fmt: skip


@pytest.mark.parametrize(
    ("before", "now", "settled"),
    [
        (_drop(QUARANTINED, 1), _drop(QUARANTINED, 1), False),  # the old verdict still stands
        (_drop(QUARANTINED, 1), _drop(QUARANTINED, 2), True),  # judged again, refused again
        (_drop(QUARANTINED, 1), _drop(REGISTERED, 2), True),
        (_drop(QUARANTINED, 1), _drop(PENDING, 2), False),  # being looked at
        (_drop(PENDING, 1), _drop(QUARANTINED, 1), True),
        (_drop(REGISTERED, 1), _drop(REGISTERED, 1), True),  # nothing to wait for
    ],
)
def test_a_drop_counts_as_judged_again_only_with_a_newer_verdict(
    before: drops_pb2.Drop, now: drops_pb2.Drop, settled: bool
) -> None:
    assert drop_settled(before, now) is settled
