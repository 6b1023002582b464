"""The Python client against a stand-in gRPC server on a temp socket: requests, errors, retries, streams.

The real daemon is exercised in tests/integration; here a few scripted servicers pin down
what the client itself promises, whatever the daemon does.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import threading
import uuid
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status
from studbook.client import AsyncClient, Client, StudbookError, calls, environment
from studbook.client import clients as client_module
from studbook.v1 import (
    events_pb2,
    events_pb2_grpc,
    registry_pb2,
    registry_pb2_grpc,
    resources_pb2,
    stages_pb2,
    stages_pb2_grpc,
)

BIG = 5 * 1024 * 1024  # above gRPC's default 4 MiB receive limit


def abort_with_info(context: grpc.ServicerContext, code: int, message: str, reason: str, **metadata: str) -> None:
    info = error_details_pb2.ErrorInfo(reason=reason, domain="studbook", metadata=metadata)
    detail = any_pb2.Any()
    detail.Pack(info)
    context.abort_with_status(rpc_status.to_status(status_pb2.Status(code=code, message=message, details=[detail])))


class Models(registry_pb2_grpc.ModelServiceServicer):
    def GetModel(self, request: registry_pb2.GetModelRequest, context: grpc.ServicerContext) -> resources_pb2.Model:
        if request.name == "models/missing":
            abort_with_info(
                context, code_pb2.NOT_FOUND, "model 'missing' not found", "MODEL_NOT_FOUND", model="missing"
            )
        if request.name == "models/plain-error":
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "bad name")
        if request.name == "models/big":
            return resources_pb2.Model(name=request.name, description="x" * BIG)
        return resources_pb2.Model(name=request.name)

    def ListModels(self, request: registry_pb2.ListModelsRequest, context: grpc.ServicerContext) -> Any:
        # Three pages of two models each, the page token being the next offset.
        offset = int(request.page_token or 0)
        models = [resources_pb2.Model(name=f"models/m{i}") for i in range(offset, offset + 2)]
        next_token = str(offset + 2) if offset + 2 < 6 else ""
        return registry_pb2.ListModelsResponse(models=models, next_page_token=next_token, total_size=6)


class Versions(registry_pb2_grpc.VersionServiceServicer):
    def __init__(self) -> None:
        self.register_requests: list[registry_pb2.RegisterModelVersionRequest] = []
        self.failures_before_success = 0
        self.release = threading.Event()

    def RegisterModelVersion(self, request: Any, context: grpc.ServicerContext) -> Any:
        self.register_requests.append(request)
        if len(self.register_requests) <= self.failures_before_success:
            context.abort(grpc.StatusCode.UNAVAILABLE, "restarting")
        version = resources_pb2.ModelVersion(name=f"{request.parent}/versions/1", number=1)
        return registry_pb2.RegisterModelVersionResponse(version=version, created=True)

    def GetModelVersion(self, request: Any, context: grpc.ServicerContext) -> resources_pb2.ModelVersion:
        if request.name.endswith("/slow"):
            self.release.wait(timeout=30)
        return resources_pb2.ModelVersion(name=request.name)


class Stages(stages_pb2_grpc.StageServiceServicer):
    def __init__(self) -> None:
        self.rollbacks = 0

    def RollbackStage(self, request: Any, context: grpc.ServicerContext) -> stages_pb2.Promotion:
        self.rollbacks += 1
        context.abort(grpc.StatusCode.UNAVAILABLE, "restarting")
        raise AssertionError("abort raises")


class Events(events_pb2_grpc.EventServiceServicer):
    def __init__(self) -> None:
        self.cancelled = threading.Event()

    def Watch(self, request: events_pb2.WatchRequest, context: grpc.ServicerContext) -> Iterator[Any]:
        context.add_callback(self.cancelled.set)
        start = max(request.start_revision, 0)
        for revision in range(start + 1, start + 4):
            yield events_pb2.WatchResponse(event=events_pb2.Event(revision=revision, type="version.created"))
        yield events_pb2.WatchResponse(bookmark=start + 3)
        # Then nothing happens until the client goes away.
        self.cancelled.wait(timeout=30)


class StandInServer:
    def __init__(self) -> None:
        self.folder = tempfile.mkdtemp(prefix="sb-", dir="/tmp")  # short: socket paths are limited
        self.address = f"unix://{self.folder}/s.sock"
        self.versions, self.stages, self.events = Versions(), Stages(), Events()
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
        registry_pb2_grpc.add_ModelServiceServicer_to_server(Models(), self.server)
        registry_pb2_grpc.add_VersionServiceServicer_to_server(self.versions, self.server)
        stages_pb2_grpc.add_StageServiceServicer_to_server(self.stages, self.server)
        events_pb2_grpc.add_EventServiceServicer_to_server(self.events, self.server)
        self.server.add_insecure_port(self.address)
        self.server.start()

    def stop(self) -> None:
        self.versions.release.set()
        self.events.cancelled.set()
        self.server.stop(grace=None)
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture
def server() -> Iterator[StandInServer]:
    running = StandInServer()
    yield running
    running.stop()


@pytest.fixture
def client(server: StandInServer) -> Iterator[Client]:
    with Client(server.address) as sync_client:
        yield sync_client


@pytest.fixture
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client_module, "RETRY_DELAYS", (0.0, 0.0, 0.0))


# ---- errors -------------------------------------------------------------------------


def test_a_refusal_carries_the_code_reason_message_and_metadata_of_the_daemon(client: Client) -> None:
    with pytest.raises(StudbookError) as raised:
        client.get_model("missing")

    error = raised.value
    assert (error.code, error.reason, error.message) == ("NOT_FOUND", "MODEL_NOT_FOUND", "model 'missing' not found")
    assert error.metadata == {"model": "missing"}
    assert str(error) == "model 'missing' not found [MODEL_NOT_FOUND]"


def test_an_error_without_error_info_uses_its_code_as_reason(client: Client) -> None:
    with pytest.raises(StudbookError) as raised:
        client.get_model("plain-error")

    assert (raised.value.code, raised.value.reason, raised.value.message) == (
        "INVALID_ARGUMENT",
        "INVALID_ARGUMENT",
        "bad name",
    )


def test_no_daemon_is_unavailable_and_names_the_address(no_backoff: None) -> None:
    address = f"unix:///tmp/sb-none-{uuid.uuid4().hex[:8]}.sock"

    with Client(address) as nowhere, pytest.raises(StudbookError) as raised:
        nowhere.get_model("fraud")

    assert raised.value.code == "UNAVAILABLE"
    assert address in raised.value.message


def test_a_call_past_its_deadline_fails_with_deadline_exceeded(server: StandInServer) -> None:
    with Client(server.address, timeout=0.2) as impatient, pytest.raises(StudbookError) as raised:
        impatient.get_version("fraud", "slow")

    assert raised.value.code == "DEADLINE_EXCEEDED"


# ---- retries ------------------------------------------------------------------------


def test_register_is_resent_after_unavailable_with_the_same_request_id(
    client: Client, server: StandInServer, no_backoff: None
) -> None:
    server.versions.failures_before_success = 2

    version = client.register("fraud", uri="s3://bucket/model", git=False, environment=False)

    sent = server.versions.register_requests
    assert version.name == "models/fraud/versions/1"
    assert len(sent) == 3
    assert len({request.request_id for request in sent}) == 1 and sent[0].request_id


def test_resends_stop_after_a_few_attempts(client: Client, server: StandInServer, no_backoff: None) -> None:
    server.versions.failures_before_success = 100

    with pytest.raises(StudbookError) as raised:
        client.register("fraud", uri="s3://bucket/model", git=False, environment=False)

    assert raised.value.code == "UNAVAILABLE"
    assert len(server.versions.register_requests) == 1 + len(client_module.RETRY_DELAYS)


def test_a_call_without_request_id_is_never_resent(client: Client, server: StandInServer, no_backoff: None) -> None:
    with pytest.raises(StudbookError):
        client.rollback("fraud", "production", reason="bad release")

    assert server.stages.rollbacks == 1


# ---- results ------------------------------------------------------------------------


def test_messages_larger_than_the_grpc_default_get_through(client: Client) -> None:
    model = client.get_model("big")

    assert len(model.description) == BIG


def test_iter_models_follows_page_tokens_to_the_end(client: Client) -> None:
    names = [model.name for model in client.iter_models(page_size=2)]

    assert names == [f"models/m{i}" for i in range(6)]


def test_get_version_accepts_a_model_and_a_stage(client: Client) -> None:
    assert client.get_version("fraud", "production").name == "models/fraud/versions/production"
    assert client.get_version("fraud@3").name == "models/fraud/versions/3"


def test_watch_yields_events_and_bookmarks_and_leaving_cancels_the_stream(
    client: Client, server: StandInServer
) -> None:
    received = []
    for response in client.watch(10):
        received.append(response)
        if response.HasField("bookmark"):
            break

    assert [r.event.revision for r in received[:3]] == [11, 12, 13]
    assert received[3].bookmark == 13
    assert server.events.cancelled.wait(timeout=10)


# ---- the async client ---------------------------------------------------------------


def test_async_client_creates_its_channel_inside_the_running_loop(server: StandInServer) -> None:
    async_client = AsyncClient(server.address)  # no loop is running here

    async def use() -> tuple[str, str, list[int]]:
        async with async_client:
            model = await async_client.get_model("fraud")
            with pytest.raises(StudbookError) as raised:
                await async_client.get_model("missing")
            revisions = []
            async for response in async_client.watch(0):
                if response.HasField("bookmark"):
                    break
                revisions.append(response.event.revision)
            return model.name, raised.value.reason, revisions

    assert asyncio.run(use()) == ("models/fraud", "MODEL_NOT_FOUND", [1, 2, 3])


def test_async_client_survives_a_new_event_loop(server: StandInServer) -> None:
    async_client = AsyncClient(server.address)

    async def name() -> str:
        return (await async_client.get_model("fraud")).name

    first, second = asyncio.run(name()), asyncio.run(name())

    assert first == second == "models/fraud"


# ---- the register request -----------------------------------------------------------


@pytest.fixture
def fixed_git(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(environment, "git_state", lambda cwd=None: ("abc123", True))


def test_register_request_fills_training_provenance_and_source(
    fixed_git: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    request = calls.register_request(
        "fraud",
        path="out/model.onnx",
        metrics={"auc": 0.93},
        params={"lr": 0.01, "layers": [64, 32], "optimizer": "adam", "early_stop": True},
        seed=42,
        data_versions={"census": "2026-01"},
    )

    version = request.version
    assert request.source_path == str(tmp_path / "out" / "model.onnx")
    assert request.parent == "models/fraud"
    assert dict(version.params) == {"lr": "0.01", "layers": "[64, 32]", "optimizer": "adam", "early_stop": "true"}
    assert (version.training.seed, dict(version.training.data_versions)) == (42, {"census": "2026-01"})
    assert (version.training.code_commit, version.training.code_dirty) == ("abc123", True)
    assert [(d.name, d.version) for d in version.datasets] == [("census", "2026-01")]
    assert version.created_from == "python-client"
    assert "@" in version.created_by
    assert version.environment.python_version and version.environment.platform


def test_register_request_ids_are_fresh_unless_given(fixed_git: None) -> None:
    first = calls.register_request("fraud", uri="s3://b/m")
    second = calls.register_request("fraud", uri="s3://b/m")
    given = calls.register_request("fraud", uri="s3://b/m", request_id="run-7")

    assert first.request_id != second.request_id
    assert uuid.UUID(first.request_id)
    assert given.request_id == "run-7"


def test_register_request_by_uri_is_metadata_only(fixed_git: None) -> None:
    request = calls.register_request("fraud", uri="s3://bucket/fraud/3/", environment=False, git=False)

    assert (request.source_path, request.version.storage_uri) == ("", "s3://bucket/fraud/3/")
    assert not request.version.HasField("environment")
    assert request.version.training.code_commit == ""


@pytest.mark.parametrize("where", [{}, {"path": "m.onnx", "uri": "s3://b/m"}])
def test_register_request_needs_exactly_one_of_path_and_uri(where: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="exactly one"):
        calls.register_request("fraud", **where)


def test_register_request_refuses_metrics_that_are_not_numbers(fixed_git: None) -> None:
    with pytest.raises(ValueError, match="auc"):
        calls.register_request("fraud", uri="s3://b/m", metrics={"auc": "high"})  # type: ignore[dict-item]


def test_register_request_reads_change_kinds_and_parent_relations(fixed_git: None) -> None:
    request = calls.register_request(
        "sentiment",
        uri="s3://b/m",
        change_kind="data",
        parents=["base@3", ("base@4", "fine_tuned_from")],
        datasets=["reviews@v2", {"name": "extra", "uri": "s3://d/extra"}],
    )

    version = request.version
    assert version.change_kind == resources_pb2.CHANGE_KIND_DATA
    assert [(p.version, p.relation) for p in version.parents] == [
        ("models/base/versions/3", resources_pb2.PARENT_RELATION_DERIVED_FROM),
        ("models/base/versions/4", resources_pb2.PARENT_RELATION_FINE_TUNED_FROM),
    ]
    assert [(d.name, d.version, d.uri) for d in version.datasets] == [
        ("reviews", "v2", ""),
        ("extra", "", "s3://d/extra"),
    ]


def test_an_unknown_change_kind_lists_the_choices(fixed_git: None) -> None:
    with pytest.raises(ValueError, match="schema, data, tuning"):
        calls.register_request("fraud", uri="s3://b/m", change_kind="rewrite")


def test_an_explicit_environment_is_sent_as_given(fixed_git: None) -> None:
    given = resources_pb2.Environment(python_version="3.10.1", packages={"torch": "2.1.0"})

    request = calls.register_request("fraud", uri="s3://b/m", environment=given)

    assert request.version.environment == given
