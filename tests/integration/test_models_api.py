"""The model resource over real gRPC: create, read, list, update with etags, archive, delete."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask
from studbook.v1 import registry_pb2, resources_pb2
from support.rpc import error_info, register, stubs


@pytest.fixture
def api(shared_daemon):
    with shared_daemon.channel() as channel:
        yield stubs(channel)


def create(api, model_id, **fields):
    return api.models.CreateModel(
        registry_pb2.CreateModelRequest(model_id=model_id, model=resources_pb2.Model(**fields))
    )


def test_a_created_model_has_default_stages_and_an_etag(api, model_id):
    created = create(api, model_id, description="fraud scoring", owner="risk-team", tags={"team": "risk"})

    got = api.models.GetModel(registry_pb2.GetModelRequest(name=f"models/{model_id}"))

    assert got.name == f"models/{model_id}"
    assert list(got.stages) == ["development", "staging", "production"]
    assert got.tags["team"] == "risk"
    assert got.etag == created.etag != ""


def test_creating_a_taken_name_is_already_exists(api, model_id):
    create(api, model_id)

    with pytest.raises(grpc.RpcError) as raised:
        create(api, model_id)

    assert raised.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert error_info(raised.value).reason == "MODEL_EXISTS"


def test_a_retried_create_with_the_same_request_id_returns_the_first(api, model_id):
    request = registry_pb2.CreateModelRequest(model_id=model_id, request_id=f"req-{model_id}")

    first = api.models.CreateModel(request)
    second = api.models.CreateModel(request)

    assert first == second


@pytest.mark.parametrize("bad", ["Fraud", "-x", "a" * 65, "a/b", "", "dé", "a b"])
def test_an_invalid_model_name_is_invalid_argument_with_the_rule(api, bad):
    with pytest.raises(grpc.RpcError) as raised:
        create(api, bad)

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    info = error_info(raised.value)
    assert info.reason == "INVALID_NAME"
    assert "a-z" in raised.value.details()


def test_an_update_with_a_stale_etag_is_aborted_and_changes_nothing(api, model_id):
    created = create(api, model_id, description="v1")
    api.models.UpdateModel(registry_pb2.UpdateModelRequest(
        model=resources_pb2.Model(name=created.name, description="v2", etag=created.etag),
        update_mask=FieldMask(paths=["description"]),
    ))  # fmt: skip

    with pytest.raises(grpc.RpcError) as raised:
        api.models.UpdateModel(registry_pb2.UpdateModelRequest(
            model=resources_pb2.Model(name=created.name, description="v3", etag=created.etag),
            update_mask=FieldMask(paths=["description"]),
        ))  # fmt: skip

    assert raised.value.code() == grpc.StatusCode.ABORTED
    assert error_info(raised.value).reason == "STALE_ETAG"
    assert api.models.GetModel(registry_pb2.GetModelRequest(name=created.name)).description == "v2"


def test_list_models_filters_on_tags_and_pages(api, model_id):
    for i in range(5):
        create(api, f"{model_id}-{i}", tags={"team": "risk" if i % 2 == 0 else "ads", "batch": model_id})

    first = api.models.ListModels(registry_pb2.ListModelsRequest(
        filter=f'tags.batch = "{model_id}" AND tags.team = "risk"', order_by="name", page_size=2))  # fmt: skip
    second = api.models.ListModels(registry_pb2.ListModelsRequest(
        filter=f'tags.batch = "{model_id}" AND tags.team = "risk"', order_by="name", page_size=2,
        page_token=first.next_page_token))  # fmt: skip

    names = [m.name for m in first.models] + [m.name for m in second.models]
    assert names == [f"models/{model_id}-0", f"models/{model_id}-2", f"models/{model_id}-4"]
    assert first.total_size == 3
    assert second.next_page_token == ""


def test_pages_of_models_sorted_by_a_shared_owner_cover_each_model_once(api, model_id):
    for i, owner in enumerate(["bob", "ana", "bob", "ana", "bob"]):
        create(api, f"{model_id}-{i}", owner=owner, tags={"batch": model_id})
    request = registry_pb2.ListModelsRequest(filter=f'tags.batch = "{model_id}"', order_by="owner desc", page_size=2)

    pages = [api.models.ListModels(request)]
    while pages[-1].next_page_token:
        request.page_token = pages[-1].next_page_token
        pages.append(api.models.ListModels(request))

    names = [m.name.removeprefix(f"models/{model_id}-") for page in pages for m in page.models]
    assert names == ["0", "2", "4", "1", "3"]  # bob's, then ana's, each by name
    assert [page.total_size for page in pages] == [5, 5, 5]


def test_a_filter_syntax_error_points_at_the_column(api):
    with pytest.raises(grpc.RpcError) as raised:
        api.models.ListModels(registry_pb2.ListModelsRequest(filter="tags.team = "))

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    info = error_info(raised.value)
    assert info.reason == "INVALID_FILTER"
    assert info.metadata["column"] == "13"


def test_a_page_token_of_another_query_is_refused(api, model_id):
    for i in range(3):
        create(api, f"{model_id}-{i}", tags={"batch": model_id})
    page = api.models.ListModels(registry_pb2.ListModelsRequest(filter=f'tags.batch = "{model_id}"', page_size=1))

    with pytest.raises(grpc.RpcError) as raised:
        api.models.ListModels(registry_pb2.ListModelsRequest(page_token=page.next_page_token, page_size=1))

    assert error_info(raised.value).reason == "INVALID_PAGE_TOKEN"


def test_deleting_a_model_with_versions_needs_force(api, model_id):
    register(api, model_id)

    with pytest.raises(grpc.RpcError) as raised:
        api.models.DeleteModel(registry_pb2.DeleteModelRequest(name=f"models/{model_id}"))
    assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_info(raised.value).reason == "MODEL_NOT_EMPTY"

    deleted = api.models.DeleteModel(registry_pb2.DeleteModelRequest(name=f"models/{model_id}", force=True))
    assert deleted.deleted_versions == 1
    with pytest.raises(grpc.RpcError) as gone:
        api.models.GetModel(registry_pb2.GetModelRequest(name=f"models/{model_id}"))
    assert gone.value.code() == grpc.StatusCode.NOT_FOUND


def test_an_archived_model_accepts_no_versions_until_restored(api, model_id):
    register(api, model_id)
    api.models.ArchiveModel(registry_pb2.ArchiveModelRequest(name=f"models/{model_id}"))

    with pytest.raises(grpc.RpcError) as raised:
        register(api, model_id, storage_uri="s3://other")
    assert error_info(raised.value).reason == "MODEL_ARCHIVED"

    api.models.RestoreModel(registry_pb2.RestoreModelRequest(name=f"models/{model_id}"))
    assert register(api, model_id, storage_uri="s3://other").number == 2
