"""MLflow's registered-model endpoints against a real daemon, over plain HTTP."""

from __future__ import annotations

import uuid

import pytest
from support.mlflow_http import MlflowHttp


def test_create_then_get_answers_mlflow_shapes(api: MlflowHttp, model_id: str) -> None:
    created = api.ok("POST", "registered-models/create", name=model_id, description="fraud scorer",
                     tags=[{"key": "team", "value": "risk"}])  # fmt: skip
    model = created["registered_model"]
    assert model["name"] == model_id
    assert model["description"] == "fraud scorer"
    assert model["tags"] == [{"key": "team", "value": "risk"}]
    assert isinstance(model["creation_timestamp"], int) and model["creation_timestamp"] > 1_600_000_000_000
    assert "latest_versions" not in model and "aliases" not in model  # empty fields are left out

    got = api.ok("GET", "registered-models/get", name=model_id)["registered_model"]
    assert got["name"] == model_id and got["tags"] == model["tags"]


def test_update_tags_and_delete(api: MlflowHttp, model_id: str) -> None:
    api.ok("POST", "registered-models/create", name=model_id, tags=[{"key": "a", "value": "1"}])
    updated = api.ok("PATCH", "registered-models/update", name=model_id, description="now described")
    assert updated["registered_model"]["description"] == "now described"
    api.ok("POST", "registered-models/set-tag", name=model_id, key="b", value="2")
    api.ok("DELETE", "registered-models/delete-tag", name=model_id, key="a")
    got = api.ok("GET", "registered-models/get", name=model_id)["registered_model"]
    assert got["tags"] == [{"key": "b", "value": "2"}]
    api.ok("POST", "model-versions/create", name=model_id, source="s3://b/m")
    assert api.ok("DELETE", "registered-models/delete", name=model_id) == {}
    gone = api.get("registered-models/get", name=model_id)
    assert gone.status == 404 and gone.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert gone.body["message"] == f"Registered Model with name={model_id} not found"


def test_create_twice_is_resource_already_exists(api: MlflowHttp, model_id: str) -> None:
    api.ok("POST", "registered-models/create", name=model_id)
    again = api.post("registered-models/create", name=model_id)
    assert again.status == 400 and again.error_code == "RESOURCE_ALREADY_EXISTS"


def test_rename_answers_with_the_model_under_its_new_name(api: MlflowHttp, model_id: str) -> None:
    new = f"{model_id}-b"
    api.ok("POST", "registered-models/create", name=model_id, description="scores")
    api.ok("POST", "model-versions/create", name=model_id, source="s3://bucket/m/1")

    renamed = api.ok("POST", "registered-models/rename", name=model_id, new_name=new)["registered_model"]

    assert renamed["name"] == new and renamed["description"] == "scores"
    assert [v["name"] for v in renamed["latest_versions"]] == [new]
    assert isinstance(renamed["last_updated_timestamp"], int)
    assert api.get("registered-models/get", name=model_id).error_code == "RESOURCE_DOES_NOT_EXIST"
    assert api.ok("GET", "model-versions/get", name=new, version="1")["model_version"]["name"] == new


def test_rename_refusals_answer_in_mlflows_error_format(api: MlflowHttp, model_id: str) -> None:
    for name in (model_id, f"{model_id}-b"):
        api.ok("POST", "registered-models/create", name=name)

    taken = api.post("registered-models/rename", name=model_id, new_name=f"{model_id}-b")
    absent = api.post("registered-models/rename", name=f"{model_id}-absent", new_name=f"{model_id}-c")
    invalid = api.post("registered-models/rename", name=model_id, new_name="Not A Name")

    assert (taken.status, taken.error_code) == (400, "RESOURCE_ALREADY_EXISTS")
    assert (absent.status, absent.error_code) == (404, "RESOURCE_DOES_NOT_EXIST")
    assert (invalid.status, invalid.error_code) == (400, "INVALID_PARAMETER_VALUE")
    assert api.get("registered-models/get", name=model_id).status == 200


def test_search_filters_orders_and_pages(api: MlflowHttp) -> None:
    prefix = f"s{uuid.uuid4().hex[:6]}"
    for n, team in ((1, "risk"), (2, "ads"), (3, "risk"), (4, "risk")):
        api.ok("POST", "registered-models/create", name=f"{prefix}-{n}", tags=[{"key": "team", "value": team}])
    like = api.ok("GET", "registered-models/search", filter=f"name LIKE '{prefix}-%'")["registered_models"]
    assert [m["name"] for m in like] == [f"{prefix}-{n}" for n in (1, 2, 3, 4)]
    risk = api.ok("GET", "registered-models/search", filter=f"name LIKE '{prefix}%' AND tags.team = 'risk'",
                  order_by=["name DESC"])["registered_models"]  # fmt: skip
    assert [m["name"] for m in risk] == [f"{prefix}-{n}" for n in (4, 3, 1)]
    ilike = api.ok("GET", "registered-models/search", filter=f"name ILIKE '{prefix.upper()}-2'")
    assert [m["name"] for m in ilike["registered_models"]] == [f"{prefix}-2"]
    contains = api.ok("GET", "registered-models/search", filter=f"name LIKE '{prefix}%' AND tags.team ILIKE '%AD%'")
    assert [m["name"] for m in contains["registered_models"]] == [f"{prefix}-2"]
    exact = api.ok("GET", "registered-models/search", filter=f"name = '{prefix}-3'")
    assert [m["name"] for m in exact["registered_models"]] == [f"{prefix}-3"]

    seen, token = [], ""
    for _ in range(5):
        query = {"filter": f"name LIKE '{prefix}%'", "max_results": 3, **({"page_token": token} if token else {})}
        page = api.ok("GET", "registered-models/search", **query)
        seen.append([m["name"] for m in page["registered_models"]])
        token = page.get("next_page_token", "")
        if not token:
            break
    assert seen == [[f"{prefix}-1", f"{prefix}-2", f"{prefix}-3"], [f"{prefix}-4"]]


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ({"filter": "owner = 'x'"}, "unknown attribute"),
        ({"filter": "name = 'a' OR name = 'b'"}, "AND"),
        ({"filter": "name = unquoted"}, "quoted string"),
        ({"order_by": ["size DESC"]}, "order_by"),
        ({"max_results": 5000}, "max_results"),
        ({"page_token": "not-a-token"}, "page_token"),
    ],
)
def test_bad_searches_are_invalid_parameter_values(api: MlflowHttp, query: dict, fragment: str) -> None:
    answer = api.get("registered-models/search", **query)
    assert answer.status == 400 and answer.error_code == "INVALID_PARAMETER_VALUE", answer.body
    assert fragment in answer.body["message"]
