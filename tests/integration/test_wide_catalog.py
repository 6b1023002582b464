"""A daemon holds a bounded number of model records (`cache_models`), in its writer and in its
read cache, and every model's name: the others are read when asked for. Here it holds two,
against random histories over six models, and every answer must be what a plain record of the
history says: counts, holders, the stages shown on versions of models it dropped, deletions
and renames."""

from __future__ import annotations

import itertools
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import pytest
from conftest import start_daemon, stop_daemon
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from studbook.v1 import registry_pb2, resources_pb2, stages_pb2
from support.rpc import Stubs, error_info, register, stubs

MODELS = 6
_examples = itertools.count()


@pytest.fixture(scope="module")
def api() -> Iterator[Stubs]:
    root = Path(tempfile.mkdtemp(prefix="sb-wide-"))
    (root / "config.toml").write_text("[daemon]\ncache_models = 2\n")
    daemon = start_daemon(root / "data", root / "s.sock", "--config", str(root / "config.toml"))
    channel = daemon.channel()
    yield stubs(channel)
    channel.close()
    stop_daemon(daemon)
    shutil.rmtree(root, ignore_errors=True)


@dataclass
class Known:
    """What the history says of one model."""

    name: str
    versions: int = 0
    staging: int | None = None


@dataclass
class History:
    owner: str
    models: dict[int, Known] = field(default_factory=dict)
    renamed: int = 0

    def name(self, slot: int) -> str:
        return self.models[slot].name if slot in self.models else f"{self.owner}-m{slot}"


steps = st.lists(
    st.one_of(
        st.tuples(st.just("register"), st.integers(0, MODELS - 1)),
        st.tuples(st.just("promote"), st.integers(0, MODELS - 1)),
        st.tuples(st.just("delete"), st.integers(0, MODELS - 1)),
        st.tuples(st.just("rename"), st.integers(0, MODELS - 1)),
        st.tuples(st.just("look"), st.integers(0, MODELS - 1)),
    ),
    min_size=4,
    max_size=30,
)


def run(api: Stubs, history: History, step: tuple[str, int]) -> None:
    kind, slot = step
    known = history.models.get(slot)
    if kind == "register":
        if known is None:
            known = history.models[slot] = Known(history.name(slot))
            api.models.CreateModel(registry_pb2.CreateModelRequest(
                model_id=known.name, model=resources_pb2.Model(owner=history.owner)))  # fmt: skip
        register(api, known.name, storage_uri=f"s3://bucket/{known.name}/{known.versions + 1}")
        known.versions += 1
    elif kind == "promote" and known is not None and known.versions and known.staging != known.versions:
        # (a version that holds staging already is refused ALREADY_HOLDS_TARGET)
        api.stages.PromoteModelVersion(stages_pb2.PromoteModelVersionRequest(
            name=f"models/{known.name}/versions/{known.versions}", target="staging"))  # fmt: skip
        known.staging = known.versions
    elif kind == "delete" and known is not None:
        api.models.DeleteModel(registry_pb2.DeleteModelRequest(name=f"models/{known.name}", force=True))
        del history.models[slot]
        with pytest.raises(grpc.RpcError) as gone:
            api.models.GetModel(registry_pb2.GetModelRequest(name=f"models/{known.name}"))
        assert error_info(gone.value).reason == "MODEL_NOT_FOUND"
    elif kind == "rename" and known is not None:
        history.renamed += 1
        new = f"{history.owner}-r{history.renamed}"
        api.models.RenameModel(registry_pb2.RenameModelRequest(name=f"models/{known.name}", new_model_id=new))
        known.name = new
    elif kind == "look" and known is not None:
        check_model(api, known)


def check_model(api: Stubs, known: Known) -> None:
    model = api.models.GetModel(registry_pb2.GetModelRequest(name=f"models/{known.name}"))
    assert (model.version_count, model.latest_version) == (known.versions, known.versions)
    versions = api.versions.ListModelVersions(registry_pb2.ListModelVersionsRequest(
        parent=f"models/{known.name}", page_size=100)).versions  # fmt: skip
    assert {v.number: list(v.stages) for v in versions} == {
        n: ["staging"] if n == known.staging else [] for n in range(1, known.versions + 1)
    }
    if known.versions:
        latest = api.versions.GetModelVersion(registry_pb2.GetModelVersionRequest(
            name=f"models/{known.name}/versions/latest"))  # fmt: skip
        assert latest.number == known.versions


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=steps)
def test_a_daemon_holding_two_model_records_answers_for_many_as_the_history_says(api: Stubs,
                                                                                 history: list[tuple[str, int]]) -> None:  # fmt: skip
    known = History(owner=f"w{next(_examples)}")
    for step in history:
        run(api, known, step)

    listed = api.models.ListModels(registry_pb2.ListModelsRequest(filter=f'owner = "{known.owner}"', page_size=100))
    assert sorted((m.name, m.version_count) for m in listed.models) == sorted(
        (f"models/{k.name}", k.versions) for k in known.models.values()
    )
    everything = api.versions.ListModelVersions(registry_pb2.ListModelVersionsRequest(
        parent="models/-", filter=" OR ".join(f'model = "{k.name}"' for k in known.models.values()) or 'model = "-"',
        page_size=1000))  # fmt: skip
    assert sorted((v.model, v.number, list(v.stages)) for v in everything.versions) == sorted(
        (f"models/{k.name}", n, ["staging"] if n == k.staging else [])
        for k in known.models.values()
        for n in range(1, k.versions + 1)
    )
    for model in known.models.values():
        check_model(api, model)
