"""No input, however odd, crashes the daemon or earns an INTERNAL error."""

from __future__ import annotations

import grpc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from studbook.v1 import events_pb2, lineage_pb2, registry_pb2, resources_pb2, stages_pb2
from support.rpc import stubs

# Statuses a user can act on; INTERNAL or UNKNOWN would mean an unhandled case.
ACTIONABLE = {
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.ALREADY_EXISTS,
    grpc.StatusCode.FAILED_PRECONDITION,
    grpc.StatusCode.ABORTED,
    grpc.StatusCode.OUT_OF_RANGE,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
}

odd_text = st.one_of(
    st.text(max_size=300),
    st.sampled_from(["", "models/", "models/-", "models/a/versions/latest", "../../etc", "\x00", "models/a/versions/"
                     "99999999999999999999", "a" * 5000, "models/ä/versions/1", "tags.x = ", "((((((((", "*"]),
)  # fmt: skip


def calls(api, text: str, number: int):  # type: ignore[no-untyped-def]
    small = max(min(number, 2**31 - 1), -(2**31))  # int32 fields
    yield lambda: api.models.GetModel(registry_pb2.GetModelRequest(name=text))
    yield lambda: api.models.CreateModel(registry_pb2.CreateModelRequest(model_id=text))
    yield lambda: api.models.ListModels(
        registry_pb2.ListModelsRequest(filter=text, order_by=text[:20], page_size=small)
    )
    yield lambda: api.versions.GetModelVersion(registry_pb2.GetModelVersionRequest(name=text))
    yield lambda: api.versions.ListModelVersions(registry_pb2.ListModelVersionsRequest(
        parent="models/-", filter=text, page_token=text[:50], page_size=small))  # fmt: skip
    yield lambda: api.versions.RegisterModelVersion(registry_pb2.RegisterModelVersionRequest(
        parent=f"models/{text}", source_path=text, semver=text[:10], number=number,
        version=resources_pb2.ModelVersion(tags={text[:10] or "k": text}, storage_uri="s3://x")))  # fmt: skip
    yield lambda: api.versions.DiffModelVersions(registry_pb2.DiffModelVersionsRequest(base=text, target=text))
    yield lambda: api.stages.PromoteModelVersion(stages_pb2.PromoteModelVersionRequest(name=text, target=text[:30]))
    yield lambda: api.stages.GetStageHistory(stages_pb2.GetStageHistoryRequest(model=text, page_token=text[:10]))
    yield lambda: api.stages.ListPromotions(stages_pb2.ListPromotionsRequest(parent=text, filter=text))
    yield lambda: api.lineage.GetLineage(lineage_pb2.GetLineageRequest(name=text, depth=small))
    yield lambda: next(iter(api.events.Watch(events_pb2.WatchRequest(start_revision=number, filter=text), timeout=2)))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=odd_text, number=st.one_of(st.integers(-5, 5), st.integers(-(2**62), 2**62)))
def test_odd_requests_get_actionable_errors(shared_daemon, text: str, number: int) -> None:
    with shared_daemon.channel() as channel:
        api = stubs(channel)
        for call in calls(api, text, number):
            try:
                call()
            except grpc.RpcError as error:
                if error.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
                    continue  # an idle Watch that was accepted
                assert error.code() in ACTIONABLE, f"{error.code()}: {error.details()}"
    assert shared_daemon.process.poll() is None


def test_an_oversized_message_is_refused_not_fatal(shared_daemon) -> None:
    with shared_daemon.channel() as channel:
        api = stubs(channel)
        with pytest.raises(grpc.RpcError) as raised:
            api.versions.RegisterModelVersion(registry_pb2.RegisterModelVersionRequest(
                parent="models/big", version=resources_pb2.ModelVersion(model_card="x" * (65 * 2**20))))  # fmt: skip
        assert raised.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert api.models.ListModels(registry_pb2.ListModelsRequest()) is not None
