"""MLflow's artifact proxy over studbook's artifact store: files uploaded by path, versions
registered from them (kept, like any upload), and a version's files read back as MLflow does."""

from __future__ import annotations

import hashlib
import json
import uuid

from support.mlflow_http import MlflowHttp

ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts"
FILES = {
    "MLmodel": b"artifact_path: model\nflavors:\n  python_function:\n    loader_module: mlflow.sklearn\n",
    "conda.yaml": b"name: env\ndependencies:\n  - python=3.11\n",
    "data/config.json": json.dumps({"alpha": 0.5}).encode(),
}


def upload_model(api: MlflowHttp, folder: str) -> None:
    for path, data in FILES.items():
        answer = api.call("PUT", f"{ARTIFACTS}/{folder}/{path}", data=data, role="contributor")
        assert answer.status == 200, answer.body


def listing(api: MlflowHttp, path: str) -> list[dict]:
    answer = api.call("GET", ARTIFACTS, query={"path": path}, role="viewer")
    assert answer.status == 200, answer.body
    return list(answer.body.get("files", []))


def test_uploaded_files_are_listed_and_read_back(api: MlflowHttp) -> None:
    folder = f"up/{uuid.uuid4().hex[:8]}/model"
    upload_model(api, folder)
    assert listing(api, folder) == [
        {"path": "MLmodel", "is_dir": False, "file_size": len(FILES["MLmodel"])},
        {"path": "conda.yaml", "is_dir": False, "file_size": len(FILES["conda.yaml"])},
        {"path": "data", "is_dir": True},
    ]
    assert listing(api, f"{folder}/data") == [
        {"path": "config.json", "is_dir": False, "file_size": len(FILES["data/config.json"])}
    ]
    assert listing(api, "up/nothing-here") == []
    read = api.call("GET", f"{ARTIFACTS}/{folder}/data/config.json", role="viewer")
    assert read.status == 200 and read.raw == FILES["data/config.json"]
    missing = api.call("GET", f"{ARTIFACTS}/{folder}/absent.bin", role="viewer")
    assert missing.status == 404 and missing.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_a_version_registered_from_uploads_is_kept_and_served_back(api: MlflowHttp, model_id: str) -> None:
    folder = f"up/{uuid.uuid4().hex[:8]}/model"
    upload_model(api, folder)
    api.ok("POST", "registered-models/create", name=model_id)
    version = api.ok("POST", "model-versions/create", name=model_id, source=f"mlflow-artifacts:/{folder}")
    assert version["model_version"]["source"] == f"mlflow-artifacts:/{folder}"
    uri = api.ok("GET", "model-versions/get-download-uri", name=model_id, version="1")["artifact_uri"]
    assert uri == f"mlflow-artifacts:/studbook/models/{model_id}/versions/1"
    root = uri.removeprefix("mlflow-artifacts:/")
    assert [f["path"] for f in listing(api, root)] == ["MLmodel", "conda.yaml", "data"]
    for path, data in FILES.items():
        read = api.call("GET", f"{ARTIFACTS}/{root}/{path}", role="viewer")
        assert read.status == 200, read.body
        assert hashlib.sha256(read.raw).hexdigest() == hashlib.sha256(data).hexdigest()

    # The uploads may change afterwards; the version's bytes do not.
    api.call("PUT", f"{ARTIFACTS}/{folder}/MLmodel", data=b"replaced", role="contributor")
    assert api.call("GET", f"{ARTIFACTS}/{root}/MLmodel", role="viewer").raw == FILES["MLmodel"]

    # Another model may be made of this version's files: studbook reaches them.
    copy = f"{model_id}-copy"
    api.ok("POST", "registered-models/create", name=copy)
    api.ok("POST", "model-versions/create", name=copy, source=f"models:/{model_id}/1")
    copied = api.ok("GET", "model-versions/get-download-uri", name=copy, version="1")["artifact_uri"]
    assert copied == f"mlflow-artifacts:/studbook/models/{copy}/versions/1"


def test_the_files_of_a_deleted_version_registered_again_name_the_version_to_restore(
    api: MlflowHttp, model_id: str
) -> None:
    folder = f"up/{uuid.uuid4().hex[:8]}/model"
    upload_model(api, folder)
    api.ok("POST", "registered-models/create", name=model_id)
    api.ok("POST", "model-versions/create", name=model_id, source=f"mlflow-artifacts:/{folder}")
    api.ok("DELETE", "model-versions/delete", name=model_id, version="1")

    again = api.post("model-versions/create", name=model_id, source=f"mlflow-artifacts:/{folder}")

    assert again.status == 400 and again.error_code == "RESOURCE_ALREADY_EXISTS"
    assert f"studbook unarchive {model_id}@1" in again.body["message"]
    assert api.get("model-versions/get", name=model_id, version="1").status == 404


def test_a_source_with_nothing_uploaded_is_refused(api: MlflowHttp, model_id: str) -> None:
    api.ok("POST", "registered-models/create", name=model_id)
    answer = api.post("model-versions/create", name=model_id, source="mlflow-artifacts:/up/never-uploaded")
    assert answer.status == 404 and answer.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_uploads_need_a_contributor_and_stay_out_of_registered_versions(api: MlflowHttp) -> None:
    viewer = api.call("PUT", f"{ARTIFACTS}/up/x/file.bin", data=b"x", role="viewer")
    assert viewer.status == 403 and viewer.error_code == "PERMISSION_DENIED"
    anonymous = api.call("GET", ARTIFACTS, query={"path": "up"}, token="")
    assert anonymous.status == 401
    ours = api.call("PUT", f"{ARTIFACTS}/studbook/models/m/versions/1/evil.bin", data=b"x", role="contributor")
    assert ours.status == 400 and ours.error_code == "INVALID_PARAMETER_VALUE"
