"""MLflow's registered-model endpoints against a real daemon, over plain HTTP."""

from __future__ import annotations

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
