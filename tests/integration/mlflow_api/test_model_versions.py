"""MLflow's model-version endpoints against a real daemon, over plain HTTP."""

from __future__ import annotations

import pytest
from conftest import Daemon
from studbook.client.clients import Client
from studbook.v1 import resources_pb2
from support.cli import runner
from support.mlflow_http import MlflowHttp


def new_model(api: MlflowHttp, name: str, versions: int = 0) -> list[dict]:
    api.ok("POST", "registered-models/create", name=name)
    return [
        api.ok("POST", "model-versions/create", name=name, source=f"s3://bucket/{name}/{n}", run_id=f"run-{n}",
               tags=[{"key": "n", "value": str(n)}])["model_version"]
        for n in range(1, versions + 1)
    ]  # fmt: skip


def test_create_records_a_foreign_source_and_answers_mlflow_shapes(api: MlflowHttp, model_id: str) -> None:
    api.ok("POST", "registered-models/create", name=model_id)
    version = api.ok("POST", "model-versions/create", name=model_id, source="s3://bucket/model",
                     run_id="abc123", run_link="http://tracking/run/abc123", description="first",
                     tags=[{"key": "stage-hint", "value": "none"}])["model_version"]  # fmt: skip
    assert version["version"] == "1"  # a string, as MLflow sends it
    assert version["name"] == model_id
    assert version["source"] == "s3://bucket/model"
    assert version["run_id"] == "abc123" and version["run_link"] == "http://tracking/run/abc123"
    assert version["status"] == "READY"
    assert version["current_stage"] == "None"
    assert version["description"] == "first"
    assert version["tags"] == [{"key": "stage-hint", "value": "none"}]
    assert isinstance(version["creation_timestamp"], int)
    assert "aliases" not in version

    got = api.ok("GET", "model-versions/get", name=model_id, version="1")["model_version"]
    assert got == version
    uri = api.ok("GET", "model-versions/get-download-uri", name=model_id, version="1")
    assert uri == {"artifact_uri": "s3://bucket/model"}


def test_update_and_tags(api: MlflowHttp, model_id: str) -> None:
    new_model(api, model_id, 1)
    updated = api.ok("PATCH", "model-versions/update", name=model_id, version="1", description="retrained")
    assert updated["model_version"]["description"] == "retrained"
    api.ok("POST", "model-versions/set-tag", name=model_id, version="1", key="owner", value="ana")
    api.ok("DELETE", "model-versions/delete-tag", name=model_id, version="1", key="n")
    got = api.ok("GET", "model-versions/get", name=model_id, version="1")["model_version"]
    assert got["tags"] == [{"key": "owner", "value": "ana"}]
    assert got["description"] == "retrained"


def test_a_deleted_version_is_gone_for_mlflow_and_kept_archived_by_studbook(
    mlflow_daemon: tuple[Daemon, MlflowHttp], model_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    daemon, api = mlflow_daemon
    new_model(api, model_id, 3)
    api.ok("POST", "model-versions/transition-stage", name=model_id, version="2", stage="Archived")

    assert api.ok("DELETE", "model-versions/delete", name=model_id, version="1") == {}

    # As MLflow answers after a delete: not found, and left out of searches and latest versions.
    gone = api.get("model-versions/get", name=model_id, version="1")
    assert gone.status == 404 and gone.error_code == "RESOURCE_DOES_NOT_EXIST"
    again = api.delete("model-versions/delete", name=model_id, version="1")
    assert again.status == 404 and again.error_code == "RESOURCE_DOES_NOT_EXIST"
    tagged = api.post("model-versions/set-tag", name=model_id, version="1", key="k", value="v")
    assert tagged.error_code == "RESOURCE_DOES_NOT_EXIST"
    found = api.ok("GET", "model-versions/search", filter=f"name = '{model_id}'")["model_versions"]
    assert [(v["version"], v["current_stage"]) for v in found] == [("3", "None"), ("2", "Archived")]
    every = api.ok("GET", "model-versions/search", max_results=200_000).get("model_versions", [])
    assert (model_id, "1") not in {(v["name"], v["version"]) for v in every}
    latest = api.ok("GET", "registered-models/get-latest-versions", name=model_id, stages=["Archived"])
    assert [v["version"] for v in latest["model_versions"]] == ["2"]

    # studbook keeps it, archived, saying who deleted it and where; so does the audit trail.
    with Client(daemon.address) as client:
        kept = client.get_version(f"{model_id}@1")
        archive = [r.event for r in client.export_audit_trail()
                   if r.event.subject == kept.name and r.event.type == "version.archived"]  # fmt: skip
    assert kept.status == resources_pb2.VERSION_STATUS_ARCHIVED
    assert kept.status_reason == "deleted through the MLflow API by mlflow-admin"
    assert [e.actor for e in archive] == ["mlflow-admin"]

    # Restored through studbook, MLflow's clients see it again.
    restored = runner(daemon.address, capsys)("unarchive", f"{model_id}@1")
    assert restored.code == 0, restored.err
    again_restored = runner(daemon.address, capsys)("unarchive", f"{model_id}@1")
    assert again_restored.code != 0 and "VERSION_NOT_ARCHIVED" in again_restored.err
    back = api.ok("GET", "model-versions/get", name=model_id, version="1")["model_version"]
    assert back["current_stage"] == "None"


def test_unknown_version_is_resource_does_not_exist(api: MlflowHttp, model_id: str) -> None:
    new_model(api, model_id, 1)
    answer = api.get("model-versions/get", name=model_id, version="7")
    assert answer.status == 404
    assert answer.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert "version=7" in answer.body["message"]


def test_creating_a_version_of_a_missing_model_is_refused(api: MlflowHttp, model_id: str) -> None:
    answer = api.post("model-versions/create", name=model_id, source="s3://b/m")
    assert answer.status == 404 and answer.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_search_filters_and_pages(api: MlflowHttp, model_id: str) -> None:
    new_model(api, model_id, 5)
    found = api.ok("GET", "model-versions/search", filter=f"name = '{model_id}'")["model_versions"]
    assert [v["version"] for v in found] == ["5", "4", "3", "2", "1"]
    one = api.ok("GET", "model-versions/search", filter=f"name='{model_id}' AND run_id = 'run-3'")
    assert [v["version"] for v in one["model_versions"]] == ["3"]
    some = api.ok("GET", "model-versions/search", filter=f"name = '{model_id}' AND run_id IN ('run-1', 'run-4')")
    assert sorted(v["version"] for v in some["model_versions"]) == ["1", "4"]
    tagged = api.ok("GET", "model-versions/search", filter=f"name = '{model_id}' AND tags.n != '2'")
    assert sorted(v["version"] for v in tagged["model_versions"]) == ["1", "3", "4", "5"]
    newer = api.ok("GET", "model-versions/search", filter=f"name = '{model_id}' AND version_number >= 4")
    assert sorted(v["version"] for v in newer["model_versions"]) == ["4", "5"]
    source = api.ok("GET", "model-versions/search", filter=f"source_path = 's3://bucket/{model_id}/2'")
    assert [v["version"] for v in source["model_versions"]] == ["2"]

    pages, token = [], None
    while True:
        query = {"filter": f"name = '{model_id}'", "max_results": 2, "order_by": ["version_number ASC"]}
        if token:
            query["page_token"] = token
        page = api.ok("GET", "model-versions/search", **query)
        pages.append([v["version"] for v in page["model_versions"]])
        token = page.get("next_page_token")
        if not token:
            break
    assert pages == [["1", "2"], ["3", "4"], ["5"]]


def test_like_and_ilike_match_as_sql_does_on_every_field_and_page(api: MlflowHttp, model_id: str) -> None:
    api.ok("POST", "registered-models/create", name=model_id)
    runs = ["a_c", "abc", "aXc", "ABC", "abbc", "ac"]
    for n, run_id in enumerate(runs, 1):
        api.ok("POST", "model-versions/create", name=model_id, source=f"s3://Bucket/{model_id}/{n}", run_id=run_id,
               tags=[{"key": "team", "value": f"Risk-{run_id}"}])  # fmt: skip

    def search(condition: str, **extra: object) -> list[str]:
        query = {"filter": f"name = '{model_id}' AND {condition}", "order_by": ["version_number ASC"], **extra}
        return [v["run_id"] for v in api.ok("GET", "model-versions/search", **query).get("model_versions", [])]

    # `_` is any one character, `%` any run, as in SQL; LIKE minds case, ILIKE does not.
    assert search("run_id LIKE 'a_c'") == ["a_c", "abc", "aXc"]
    assert search("run_id ILIKE 'a_c'") == ["a_c", "abc", "aXc", "ABC"]
    assert search("run_id LIKE 'a%c'") == ["a_c", "abc", "aXc", "abbc", "ac"]
    assert search("tags.team ILIKE 'risk-a_c'") == ["a_c", "abc", "aXc", "ABC"]
    assert search("tags.team ILIKE 'RISK-%'") == runs
    assert search("source_path ILIKE 's3://bucket/%/_'") == runs
    assert search(f"name ILIKE '{model_id.upper()[:-1]}_'") == runs

    # Pages of a refined search hold max_results matches each and together every match once.
    pages, token = [], ""
    while True:
        page = api.ok("GET", "model-versions/search", filter=f"name = '{model_id}' AND run_id ILIKE 'a_c'",
                      order_by=["version_number ASC"], max_results=1, **({"page_token": token} if token else {}))  # fmt: skip
        pages.append([v["run_id"] for v in page.get("model_versions", [])])
        token = page.get("next_page_token", "")
        if not token:
            break
    assert [run for page in pages for run in page] == ["a_c", "abc", "aXc", "ABC"]
    assert all(len(page) == 1 for page in pages[:4])
    forged = api.get("model-versions/search", filter="run_id LIKE 'a_c'", page_token="r1.not-base64!")
    assert forged.status == 400 and forged.error_code == "INVALID_PARAMETER_VALUE"


def test_registered_models_are_found_by_ilike_on_tags(api: MlflowHttp, model_id: str) -> None:
    for suffix, team in (("a", "Fraud-Core"), ("b", "fraud_ops"), ("c", "payments")):
        api.ok("POST", "registered-models/create", name=f"{model_id}-{suffix}", tags=[{"key": "team", "value": team}])

    found = api.ok("GET", "registered-models/search", filter=f"name LIKE '{model_id}-_' AND tags.team ILIKE 'FRAUD_%'")

    assert [m["name"] for m in found["registered_models"]] == [f"{model_id}-a", f"{model_id}-b"]
