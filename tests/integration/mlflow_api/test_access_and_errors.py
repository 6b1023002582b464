"""Who may call the MLflow endpoint (gRPC's tokens and roles), and MLflow's error JSON for
requests it cannot serve."""

from __future__ import annotations

import pytest
from conftest import Daemon  # type: ignore[import-not-found]
from studbook.v1 import audit_pb2, audit_pb2_grpc
from support.mlflow_http import MlflowHttp


def test_a_call_without_a_token_is_unauthenticated(api: MlflowHttp) -> None:
    answer = api.call("GET", "/api/2.0/mlflow/registered-models/search", token="")
    assert answer.status == 401 and answer.error_code == "UNAUTHENTICATED"
    assert "MLFLOW_TRACKING_TOKEN" in answer.body["message"]
    assert answer.body["details"]["reason"] == "TOKEN_MISSING"


def test_an_unknown_token_is_unauthenticated(api: MlflowHttp) -> None:
    forged = "sbk_0123456789ab_" + "x" * 43
    answer = api.call("GET", "/api/2.0/mlflow/registered-models/search", token=forged)
    assert answer.status == 401 and answer.error_code == "UNAUTHENTICATED"


@pytest.mark.parametrize(
    ("role", "method", "endpoint", "allowed"),
    [
        ("viewer", "GET", "registered-models/search", True),
        ("viewer", "POST", "registered-models/create", False),
        ("contributor", "POST", "registered-models/create", True),
        ("maintainer", "DELETE", "registered-models/delete", False),
        ("viewer", "POST", "model-versions/create", False),
    ],
)
def test_roles_are_those_of_the_grpc_methods(api: MlflowHttp, model_id: str, role: str, method: str, endpoint: str,
                                             allowed: bool) -> None:  # fmt: skip
    api.ok("POST", "registered-models/create", name=f"{model_id}-x")
    body = {"name": model_id if endpoint.endswith("create") else f"{model_id}-x", "source": "s3://b/m"}
    if method == "GET":
        answer = api.get(endpoint, role=role)
    else:
        answer = api.call(method, f"/api/2.0/mlflow/{endpoint}", body, role=role)
    if allowed:
        assert answer.status == 200, answer.body
    else:
        assert answer.status == 403 and answer.error_code == "PERMISSION_DENIED", answer.body
        assert role in answer.body["message"]


def test_refusals_are_in_the_audit_trail(mlflow_daemon: tuple[Daemon, MlflowHttp], model_id: str) -> None:
    daemon, api = mlflow_daemon
    api.post("registered-models/create", role="viewer", name=model_id)
    with daemon.channel() as channel:
        records = list(audit_pb2_grpc.AuditServiceStub(channel).ExportAuditTrail(audit_pb2.ExportAuditTrailRequest()))
    denials = [r.event for r in records if r.event.type == "access.denied"]
    assert any(e.subject == "POST mlflow/registered-models/create" and e.actor == "mlflow-viewer" for e in denials)


def test_missing_parameters_and_bad_json(api: MlflowHttp) -> None:
    missing = api.get("registered-models/get")
    assert missing.status == 400 and missing.error_code == "INVALID_PARAMETER_VALUE"
    assert "'name'" in missing.body["message"]
    bad = api.call("POST", "/api/2.0/mlflow/registered-models/create", data=b"{not json")
    assert bad.status == 400 and bad.error_code == "MALFORMED_REQUEST"
    version = api.get("model-versions/get", name="m", version="one")
    assert version.status == 400 and "version" in version.body["message"]


def test_unknown_endpoints_and_methods(api: MlflowHttp) -> None:
    unknown = api.get("experiments/list")
    assert unknown.status == 404 and unknown.error_code == "ENDPOINT_NOT_FOUND"
    wrong = api.call("GET", "/api/2.0/mlflow/registered-models/create")
    assert wrong.status == 405 and wrong.error_code == "ENDPOINT_NOT_FOUND"


def test_studbook_naming_rules_come_back_as_invalid_parameter(api: MlflowHttp) -> None:
    answer = api.post("registered-models/create", name="Has Spaces")
    assert answer.status == 400 and answer.error_code == "INVALID_PARAMETER_VALUE"
    assert "a-z" in answer.body["message"]
