"""The Python client against a real daemon: register, read, search, promote, roll back, diff, watch."""

from __future__ import annotations

import asyncio
import hashlib
import json
import struct
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from studbook.client import AsyncClient, Client, StudbookError, calls
from studbook.v1 import resources_pb2, stages_pb2


def unique(prefix: str) -> str:
    """A model id no other test uses, whatever the scope of the daemon fixture."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def write_safetensors(path: Path, values: tuple[float, ...] = (0.5, -1.0)) -> Path:
    """A tiny, valid safetensors file: an 8-byte header length, a JSON header, then the data."""
    data = struct.pack(f"<{len(values)}f", *values)
    header = json.dumps({"w": {"dtype": "F32", "shape": [len(values)], "data_offsets": [0, len(data)]}}).encode()
    path.write_bytes(struct.pack("<Q", len(header)) + header + data)
    return path


@pytest.fixture
def sb(shared_daemon: Any) -> Iterator[Client]:
    # One daemon for the module: every test works on its own, uniquely named models.
    with Client(shared_daemon.address) as client:
        yield client


def register(sb: Client, model: str, auc: float, **options: Any) -> resources_pb2.ModelVersion:
    return sb.register(model, uri=f"s3://bucket/{model}/{auc}", metrics={"auc": auc}, git=False, **options)


def test_three_lines_register_a_file_with_metrics_params_and_provenance(sb: Client, tmp_path: Path) -> None:
    model = unique("fraud")
    artifact = write_safetensors(tmp_path / "model.safetensors")

    version = sb.register(
        model,
        path=artifact,
        metrics={"auc": 0.93},
        params={"lr": 0.01},
        seed=42,
        data_versions={"census": "2026-01"},
    )

    assert version.name == f"models/{model}/versions/1"
    assert version.status == resources_pb2.VERSION_STATUS_READY
    assert [(m.key, m.value) for m in version.metrics] == [("auc", 0.93)]
    assert dict(version.params) == {"lr": "0.01"}
    assert version.training.seed == 42
    assert dict(version.training.data_versions) == {"census": "2026-01"}
    assert version.environment.python_version and version.environment.platform
    assert version.created_from == "python-client" and "@" in version.created_by
    assert [f.sha256 for f in version.files] == [hashlib.sha256(artifact.read_bytes()).hexdigest()]


def test_a_resent_registration_returns_the_first_version(sb: Client) -> None:
    model = unique("fraud")
    request = calls.register_request(model, uri="s3://bucket/m", metrics={"auc": 0.9}, git=False)

    first = sb.register_version(request)
    again = sb.register_version(request)

    assert (first.created, again.created) == (True, False)
    assert again.version.name == first.version.name
    assert sb.get_model(model).version_count == 1


def test_versions_are_found_by_number_latest_and_alias_spellings(sb: Client) -> None:
    model = unique("fraud")
    register(sb, model, 0.90)
    second = register(sb, model, 0.92)

    by_pair = sb.get_version(model, 2)
    by_ref = sb.get_version(f"{model}@2")
    latest = sb.get_version(model)

    assert by_pair.name == by_ref.name == latest.name == second.name


def test_list_versions_filters_and_orders_on_the_daemon(sb: Client) -> None:
    model = unique("fraud")
    for auc in (0.85, 0.95, 0.91):
        register(sb, model, auc)

    page = sb.list_versions(model, filter="metrics.auc > 0.9", order_by="metrics.auc desc")

    assert [v.number for v in page.versions] == [2, 3]


def test_promote_then_roll_back_and_read_the_history(sb: Client) -> None:
    model = unique("fraud")
    register(sb, model, 0.90)
    register(sb, model, 0.92)

    first = sb.promote(f"{model}@1", "production", reason="first release")
    second = sb.promote(f"{model}@2", "production", reason="better auc")
    back = sb.rollback(model, "production", reason="latency regression")

    assert first.state == second.state == back.state == stages_pb2.PROMOTION_STATE_APPLIED
    assert back.rollback and back.version == f"models/{model}/versions/1"
    assert sb.get_version(model, "production").number == 1
    history = sb.stage_history(model, stage="production")
    assert [c.reason for c in history.changes] == ["latency regression", "better auc", "first release"]


def test_a_dry_run_promotion_changes_nothing(sb: Client) -> None:
    model = unique("fraud")
    register(sb, model, 0.90)

    checked = sb.promote(f"{model}@1", "staging", reason="check", validate_only=True)

    assert checked.state == stages_pb2.PROMOTION_STATE_VALIDATED
    assert "staging" not in sb.get_model(model).stage_holders


def test_a_missing_model_is_not_found_with_a_reason(sb: Client) -> None:
    with pytest.raises(StudbookError) as raised:
        sb.get_model(unique("absent"))

    assert raised.value.code == "NOT_FOUND"
    assert raised.value.reason.isupper() and raised.value.message


def test_an_invalid_model_name_is_an_invalid_argument_naming_the_rule(sb: Client) -> None:
    with pytest.raises(StudbookError) as raised:
        sb.get_model("Not A Valid Name")

    assert (raised.value.code, raised.value.reason) == ("INVALID_ARGUMENT", "INVALID_NAME")


def test_diff_reports_the_metric_delta(sb: Client) -> None:
    model = unique("fraud")
    register(sb, model, 0.90)
    register(sb, model, 0.95)

    diff = sb.diff(f"{model}@1", f"{model}@2")

    (auc,) = [m for m in diff.metrics if m.key == "auc"]
    assert auc.delta == pytest.approx(0.05)


def test_lineage_shows_the_dataset_a_version_was_trained_on(sb: Client) -> None:
    model = unique("fraud")
    register(sb, model, 0.90, data_versions={"census": "2026-01"})

    lineage = sb.get_lineage(f"{model}@1", direction="upstream")

    assert "datasets/census@2026-01" in {node.name for node in lineage.nodes}


def test_watch_replays_the_registration_of_a_version(sb: Client) -> None:
    model = unique("fraud")
    version = register(sb, model, 0.90)

    for response in sb.watch(0, filter=f'model = "{model}"'):
        if response.HasField("event") and response.event.type == "version.created":
            break

    assert response.event.subject == version.name


def test_the_async_client_reads_what_the_sync_client_wrote(shared_daemon: Any, sb: Client) -> None:
    model = unique("fraud")
    register(sb, model, 0.90)

    async def read() -> tuple[str, int]:
        async with AsyncClient(shared_daemon.address) as client:
            found = await client.get_model(model)
            versions = await client.list_versions(model)
            return found.name, len(versions.versions)

    assert asyncio.run(read()) == (f"models/{model}", 1)


def test_register_many_answers_each_request_and_returns_refusals_instead_of_raising(sb: Client) -> None:
    model = unique("batch")
    requests = [
        calls.register_request(model, uri=f"s3://bucket/{model}/{i}", metrics={"auc": 0.8 + i / 100}, git=False)
        for i in range(3)
    ]
    requests.insert(1, calls.register_request("Not A Name", uri="s3://x", git=False))

    results = sb.register_many(requests)
    again = sb.register_many(requests)  # the request ids register_request made: a resend is harmless

    refused = results[1]
    assert isinstance(refused, StudbookError)
    assert (refused.code, refused.reason) == ("INVALID_ARGUMENT", "INVALID_NAME")
    assert "Not A Name" in refused.message
    registered = [r for r in results if not isinstance(r, StudbookError)]
    assert [r.version.name for r in registered] == [f"models/{model}/versions/{n}" for n in (1, 2, 3)]
    assert [r.created for r in registered] == [True] * 3
    assert [r.created for r in again if not isinstance(r, StudbookError)] == [False] * 3
    assert sb.get_model(model).version_count == 3


def test_register_many_refuses_more_than_the_daemon_takes_in_one_call(sb: Client) -> None:
    model = unique("batch")
    requests = [calls.register_request(model, uri=f"s3://b/{i}", git=False, environment=False) for i in range(501)]

    with pytest.raises(StudbookError) as raised:
        sb.register_many(requests)

    assert raised.value.reason == "TOO_MANY_REGISTRATIONS"


def test_the_async_client_registers_many_too(shared_daemon: Any) -> None:
    model = unique("batch")

    async def run() -> list[Any]:
        async with AsyncClient(shared_daemon.address) as client:
            return await client.register_many(
                [calls.register_request(model, uri=f"s3://b/{i}", git=False) for i in range(2)]
            )

    results = asyncio.run(run())
    assert [r.version.number for r in results] == [1, 2]
