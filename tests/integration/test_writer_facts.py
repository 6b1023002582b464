"""What the writer decides registrations on holds across restarts and failed groups.

The daemon reads those facts (request ids, content digests, semvers, statuses) from the
catalog per model when first needed, not from an index built at start-up: each test here
writes, restarts the daemon (or fails a group), then asks again through gRPC.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import grpc
import pytest
from conftest import Daemon, fill
from studbook.daemon.app.state import WriterState
from studbook.daemon.domain.model import Model, ModelVersion, VersionStatus
from studbook.daemon.domain.semver import SemVer
from studbook.daemon.store.catalog import Catalog
from studbook.v1 import registry_pb2, resources_pb2, stages_pb2
from support.rpc import Stubs, error_info, register, stubs

MODEL = "fraud"


def registration(model: str = MODEL, **fields: object) -> registry_pb2.RegisterModelVersionRequest:
    request_id = str(fields.pop("request_id", ""))
    semver = str(fields.pop("semver", ""))
    source_path = str(fields.pop("source_path", ""))
    if not source_path:
        fields.setdefault("storage_uri", f"s3://bucket/{model}")
    return registry_pb2.RegisterModelVersionRequest(
        parent=f"models/{model}", version=resources_pb2.ModelVersion(**fields), request_id=request_id,
        semver=semver, source_path=source_path,
    )  # fmt: skip


def refused(call) -> grpc.RpcError:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.RpcError) as raised:
        call()
    return raised.value


def semvers(api: Stubs, model: str = MODEL) -> dict[int, str]:
    found = api.versions.ListModelVersions(registry_pb2.ListModelVersionsRequest(
        parent=f"models/{model}", page_size=1000, show_archived=True))  # fmt: skip
    return {v.number: v.semver for v in found.versions}


@pytest.fixture
def restart(daemon_factory) -> Iterator:  # type: ignore[no-untyped-def]
    """Starts a daemon; calling `restart()` again stops the running one and starts another on the same data."""
    running: list[Daemon] = []

    def again(data_dir: Path | None = None) -> Stubs:
        if running:
            running[-1].kill()
        running.append(daemon_factory(data_dir=data_dir))
        return stubs(channel_of(running[-1]))

    channels: list[grpc.Channel] = []

    def channel_of(daemon: Daemon) -> grpc.Channel:
        channels.append(daemon.channel())
        return channels[-1]

    yield again
    for channel in channels:
        channel.close()


def test_a_request_id_seen_before_a_restart_returns_the_same_version(restart) -> None:
    api = restart()
    first = api.versions.RegisterModelVersion(registration(request_id="train-1", storage_uri="s3://b/1"))
    register(api, MODEL, request_id="train-2", storage_uri="s3://b/2")
    register(api, "other", request_id="train-1", storage_uri="s3://b/other")  # request ids are per model

    api = restart()
    again = api.versions.RegisterModelVersion(registration(request_id="train-1", storage_uri="s3://b/retry"))
    fresh = api.versions.RegisterModelVersion(registration(request_id="train-3", storage_uri="s3://b/3"))

    assert first.created and not again.created
    assert again.version.name == first.version.name == f"models/{MODEL}/versions/1"
    assert again.version.storage_uri == "s3://b/1", "the version as registered, not the retry's fields"
    assert fresh.created and fresh.version.number == 3


def test_content_registered_before_a_restart_is_not_registered_again(restart, tmp_path: Path) -> None:
    artifact = tmp_path / "model.bin"
    artifact.write_bytes(b"weights" * 1000)
    api = restart()
    first = api.versions.RegisterModelVersion(registration(source_path=artifact))
    register(api, MODEL, storage_uri="s3://b/other-content")

    api = restart()
    again = api.versions.RegisterModelVersion(registration(source_path=artifact))

    assert first.created and not again.created
    assert again.version.name == first.version.name
    assert again.version.content_digest == first.version.content_digest
    assert api.models.GetModel(registry_pb2.GetModelRequest(name=f"models/{MODEL}")).version_count == 2


def test_semvers_after_a_restart_bump_the_highest_and_stay_unique(restart) -> None:
    api = restart()
    register(api, MODEL, storage_uri="s3://b/1")  # 1.0.0
    register(api, MODEL, storage_uri="s3://b/2", semver="3.0.0")
    register(api, MODEL, storage_uri="s3://b/3", semver="2.5.0")  # a fix to an older line, below the highest

    api = restart()
    taken = refused(lambda: register(api, MODEL, storage_uri="s3://b/dup", semver="2.5.0"))
    bumped = register(api, MODEL, storage_uri="s3://b/4", change_kind=resources_pb2.CHANGE_KIND_TUNING)

    assert taken.code() == grpc.StatusCode.ALREADY_EXISTS and error_info(taken).reason == "SEMVER_EXISTS"
    assert bumped.semver == "3.0.1", "the bump applies to the highest semver, not to the newest version's"
    assert semvers(api) == {1: "1.0.0", 2: "3.0.0", 3: "2.5.0", 4: "3.0.1"}


def test_a_status_changed_before_a_restart_decides_promotions_after_it(restart) -> None:
    api = restart()
    register(api, MODEL, storage_uri="s3://b/1")
    register(api, MODEL, storage_uri="s3://b/2")
    api.versions.ArchiveModelVersion(registry_pb2.ArchiveModelVersionRequest(name=f"models/{MODEL}/versions/1"))

    api = restart()
    archived = refused(lambda: api.stages.PromoteModelVersion(stages_pb2.PromoteModelVersionRequest(
        name=f"models/{MODEL}/versions/1", target="staging")))  # fmt: skip
    missing = refused(lambda: api.stages.PromoteModelVersion(stages_pb2.PromoteModelVersionRequest(
        name=f"models/{MODEL}/versions/9", target="staging")))  # fmt: skip
    promoted = api.stages.PromoteModelVersion(stages_pb2.PromoteModelVersionRequest(
        name=f"models/{MODEL}/versions/2", target="staging"))  # fmt: skip

    assert archived.code() == grpc.StatusCode.FAILED_PRECONDITION and "ready" in (archived.details() or "")
    assert missing.code() == grpc.StatusCode.NOT_FOUND
    assert promoted.version == f"models/{MODEL}/versions/2"


def test_a_group_that_failed_leaves_nothing_behind(small_disk: Path, restart) -> None:
    """Registrations refused on a full disk were rolled back: once there is room their request
    ids, semvers, numbers and new model are free, as if they had never been asked for."""
    api = restart(small_disk / "data")
    for i in range(3):
        register(api, MODEL, request_id=f"ok-{i}", storage_uri=f"s3://b/ok/{i}")
    filler = fill(small_disk)
    first_refused = None
    for i in range(50):  # the first ones may still fit in the log's last page
        try:
            register(api, MODEL, request_id=f"full-{i}", storage_uri=f"s3://b/full/{i}", semver=f"9.0.{i}")
        except grpc.RpcError as error:
            assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            first_refused = i
            break
    assert first_refused is not None, "50 registrations went through on a full disk"
    new_model = refused(lambda: register(api, "ghost", request_id="g-1", storage_uri="s3://b/g"))
    assert new_model.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    filler.unlink()

    retried = api.versions.RegisterModelVersion(registration(
        request_id=f"full-{first_refused}", storage_uri="s3://b/after", semver=f"9.0.{first_refused}"))  # fmt: skip
    ghost = api.versions.RegisterModelVersion(registration("ghost", request_id="g-1", storage_uri="s3://b/g"))
    api = restart(small_disk / "data")
    numbers = sorted(semvers(api))
    again = api.versions.RegisterModelVersion(registration(request_id=f"full-{first_refused}"))

    assert retried.created, "the refused request id was not remembered"
    assert retried.version.semver == f"9.0.{first_refused}", "nor its semver"
    assert numbers == list(range(1, 3 + first_refused + 2)), "no number was taken by a refused registration"
    assert retried.version.number == numbers[-1]
    assert ghost.created and ghost.version.number == 1
    assert api.models.GetModel(registry_pb2.GetModelRequest(name="models/ghost")).version_count == 1
    assert not again.created and again.version.name == retried.version.name


def test_concurrent_registrations_decide_on_each_other_within_one_commit(daemon) -> None:
    """Concurrent writes commit together; each sees what the ones before it in the group did."""
    requests = [registration("fresh", request_id="same", storage_uri=f"s3://b/same/{i}") for i in range(12)]
    requests += [registration("fresh", semver="7.0.0", storage_uri=f"s3://b/semver/{i}") for i in range(12)]

    def send(request: registry_pb2.RegisterModelVersionRequest) -> object:
        with daemon.channel() as channel:
            try:
                return stubs(channel).versions.RegisterModelVersion(request)
            except grpc.RpcError as error:
                return error

    with ThreadPoolExecutor(len(requests)) as pool:
        replies = list(pool.map(send, requests))

    same, semver = replies[:12], replies[12:]
    assert all(isinstance(r, registry_pb2.RegisterModelVersionResponse) for r in same)
    assert sum(r.created for r in same) == 1  # type: ignore[union-attr]
    assert len({r.version.name for r in same}) == 1  # type: ignore[union-attr]
    taken = [r for r in semver if isinstance(r, grpc.RpcError)]
    assert len(semver) - len(taken) == 1
    assert all(error_info(r).reason == "SEMVER_EXISTS" for r in taken)
    with daemon.channel() as channel:
        assert sorted(semvers(stubs(channel), "fresh")) == [1, 2]


def test_facts_dropped_to_bound_memory_are_read_again_with_the_uncommitted_writes(tmp_path: Path) -> None:
    """The writer keeps a bounded number of versions' facts; a model's facts dropped in the
    middle of a group come back through the group's own transaction, its writes included."""
    catalog = Catalog(tmp_path / "catalog.duckdb")
    state = WriterState(max_fact_versions=2)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    tx = catalog.transaction()
    tx.begin()
    try:
        for name in ("a", "b"):
            tx.insert_model(Model(name=name, create_time=now, update_time=now), "")
            state.models[name] = Model(name=name)
            state.facts_of_new_model(name)
            for number in (1, 2):
                version = ModelVersion(model=name, number=number, semver=f"1.0.{number}", request_id=f"r{number}",
                                       content_digest=f"{name}{number}", create_time=now, update_time=now)  # fmt: skip
                tx.insert_version(version)
                state.add_version(name, number, version.status, SemVer.parse(version.semver), version.request_id,
                                  version.content_digest)  # fmt: skip
        # "a" was used least recently and "b" fills the budget: "a" is gone from memory.
        assert state.held_models() == ["b"]

        again = state.facts(tx, "a")

        assert again.request_ids == {"r1": 1, "r2": 2}
        assert again.digests == {"a1": 1, "a2": 2}
        assert again.highest_semver == SemVer.parse("1.0.2")
        assert state.status_of(tx, "a", 2) == VersionStatus.READY and state.status_of(tx, "a", 3) is None
        assert state.held_models() == ["a"]
    finally:
        tx.rollback()
        catalog.close()


def test_model_records_past_the_bound_are_dropped_between_groups_and_read_again(tmp_path: Path) -> None:
    """The writer holds a bounded number of model records: past it, those used least recently
    are dropped after a commit (with what it kept for judging their next version) and read
    again through the next group's transaction, as committed."""
    catalog = Catalog(tmp_path / "catalog.duckdb")
    state = WriterState()
    state.models.limit = 1
    now = datetime(2026, 1, 1, tzinfo=UTC)
    tx = catalog.transaction()
    tx.begin()
    state.models.read_through(tx)
    for name in ("a", "b"):
        tx.insert_model(Model(name=name, description=f"about {name}", create_time=now, update_time=now), "")
        state.models[name] = Model(name=name, description=f"about {name}")
    state.latest["a"] = ModelVersion(model="a", number=1)
    tx.commit()

    state.trim_models()

    assert list(state.models) == ["b"] and "a" not in state.latest
    tx = catalog.transaction()
    tx.begin()
    try:
        state.models.read_through(tx)
        assert state.models["a"].description == "about a"
        assert "gone" not in state.models and state.models.get("gone") is None
        assert list(state.models) == ["b", "a"]
    finally:
        tx.rollback()
        catalog.close()


def test_request_ids_of_a_creation_and_a_promotion_seen_before_a_restart_return_the_first(restart) -> None:
    """The writer looks request ids up in the catalog: a retry after a restart is answered with
    what the first call made, and the same id on another model's promotion is that model's own."""
    api = restart()
    created = api.models.CreateModel(registry_pb2.CreateModelRequest(model_id=MODEL, request_id="create-1"))
    register(api, MODEL, storage_uri="s3://b/1")
    register(api, "other", storage_uri="s3://b/other")

    def promote(model: str) -> stages_pb2.Promotion:
        return api.stages.PromoteModelVersion(stages_pb2.PromoteModelVersionRequest(
            name=f"models/{model}/versions/1", target="staging", request_id="promote-1"))  # fmt: skip

    first = promote(MODEL)

    api = restart()
    again = api.models.CreateModel(registry_pb2.CreateModelRequest(model_id=MODEL, request_id="create-1"))
    taken = refused(lambda: api.models.CreateModel(registry_pb2.CreateModelRequest(model_id=MODEL,
                                                                                   request_id="create-2")))  # fmt: skip
    retried, other = promote(MODEL), promote("other")

    assert again.name == created.name and again.create_time == created.create_time
    assert error_info(taken).reason == "MODEL_EXISTS"
    assert retried.name == first.name
    assert other.name.startswith("models/other/promotions/") and other.name != first.name
