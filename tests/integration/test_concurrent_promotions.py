"""32 promotions of one model at once over real gRPC: etags let one win, and the history stays one chain."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import grpc
import pytest
from studbook.v1 import registry_pb2, stages_pb2
from support.rpc import error_info, register, stubs

CALLERS = 32
T = TypeVar("T")


@pytest.fixture
def api(shared_daemon):
    with shared_daemon.channel() as channel:
        yield stubs(channel)


def all_at_once(daemon, call: Callable[[object, int], T]) -> list[T | grpc.RpcError]:
    """Runs `call(stubs, n)` for n = 1..CALLERS, each on its own thread and channel, released together."""
    start = threading.Barrier(CALLERS)

    def caller(number: int) -> T | grpc.RpcError:
        with daemon.channel() as channel:
            api = stubs(channel)
            # Connect first, so the barrier releases calls rather than handshakes.
            grpc.channel_ready_future(channel).result(timeout=30)
            start.wait(timeout=30)
            try:
                return call(api, number)
            except grpc.RpcError as error:
                return error

    with ThreadPoolExecutor(CALLERS) as pool:
        return list(pool.map(caller, range(1, CALLERS + 1)))


def promote(api, model, number, target="production", **fields):
    return api.stages.PromoteModelVersion(stages_pb2.PromoteModelVersionRequest(
        name=f"models/{model}/versions/{number}", target=target, **fields))  # fmt: skip


def get_model(api, model):
    return api.models.GetModel(registry_pb2.GetModelRequest(name=f"models/{model}"))


def production_history(api, model):
    return list(api.stages.GetStageHistory(stages_pb2.GetStageHistoryRequest(
        model=f"models/{model}", stage="production", page_size=1000)).changes)  # fmt: skip


def register_versions(api, model):
    for number in range(1, CALLERS + 1):
        register(api, model, storage_uri=f"s3://b/{model}/{number}")


def test_with_one_etag_read_by_all_exactly_one_promotion_wins_and_the_rest_are_aborted(api, shared_daemon, model_id):
    register_versions(api, model_id)
    etag = get_model(api, model_id).etag

    results = all_at_once(shared_daemon, lambda stub, n: promote(stub, model_id, n, expected_etag=etag))

    won = [r for r in results if isinstance(r, stages_pb2.Promotion)]
    lost = [r for r in results if isinstance(r, grpc.RpcError)]
    assert len(won) == 1 and len(lost) == CALLERS - 1
    assert {(e.code(), error_info(e).reason) for e in lost} == {(grpc.StatusCode.ABORTED, "STALE_ETAG")}
    assert dict(get_model(api, model_id).stage_holders) == {"production": won[0].version}
    assert [c.version for c in production_history(api, model_id)] == [won[0].version]


def test_without_etags_every_promotion_applies_and_the_history_is_one_chain(api, shared_daemon, model_id):
    register_versions(api, model_id)
    # Versions already holding other stages must leave them as they move to production.
    promote(api, model_id, 1, "staging")
    promote(api, model_id, 2, "development")

    results = all_at_once(shared_daemon, lambda stub, n: promote(stub, model_id, n))

    failures = [r for r in results if isinstance(r, grpc.RpcError)]
    assert failures == []
    assert {r.state for r in results} == {stages_pb2.PROMOTION_STATE_APPLIED}
    holders = dict(get_model(api, model_id).stage_holders)
    changes = production_history(api, model_id)[::-1]  # oldest first
    assert len(changes) == CALLERS
    assert {c.version for c in changes} == {f"models/{model_id}/versions/{n}" for n in range(1, CALLERS + 1)}
    assert [c.previous_version for c in changes] == [""] + [c.version for c in changes[:-1]]
    assert holders == {"production": changes[-1].version}
    assert len(set(holders.values())) == len(holders), "a version holds two stages"
    # What each caller was told it replaced is what the history recorded.
    assert {r.version: r.previous_version for r in results} == {c.version: c.previous_version for c in changes}
