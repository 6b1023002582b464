"""An MLflow registry read from its tracking server, through MLflow's REST API (urllib only).

Credentials and TLS as MLflow's own clients take them: $MLFLOW_TRACKING_TOKEN as a bearer token,
else $MLFLOW_TRACKING_USERNAME and $MLFLOW_TRACKING_PASSWORD; $MLFLOW_TRACKING_SERVER_CERT_PATH
names the CA to trust, $MLFLOW_TRACKING_INSECURE_TLS=true turns verification off. Files come through the server's artifact
proxy (`mlflow-artifacts:/`), or straight from disk when the server records local paths.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import ssl
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlencode, urlparse, urlunparse

from studbook.cli.importers.mlflow_source import (
    STAGE_DELETED,
    ArtifactsUnavailable,
    MetricPoint,
    SourceError,
    SourceModel,
    SourceRun,
    SourceVersion,
    dataset_inputs,
    local_path,
)

API = "/api/2.0/mlflow"
ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts"
PAGE = 1000
METRIC_PAGE = 25_000
TIMEOUT_S = 60.0
CHUNK = 1 << 20


class RestSource:
    """`http(s)://host:port[/prefix]` of an `mlflow server`."""

    def __init__(self, url: str) -> None:
        parsed = urlparse(url)
        self.base = urlunparse(parsed._replace(netloc=parsed.netloc.rpartition("@")[2])).rstrip("/")
        self.label = self.base
        self._headers = _auth_headers(parsed.username, parsed.password)
        self._tls = _tls_context()
        self._runs: dict[str, SourceRun | None] = {}
        self._get(f"{API}/registered-models/search", max_results=1)  # fails early on a wrong URL

    def _open(self, endpoint: str, **query: object) -> Any:
        url = f"{self.base}{endpoint}" + (f"?{urlencode(query)}" if query else "")
        request = urllib.request.Request(url, headers=self._headers)
        try:
            return urllib.request.urlopen(request, timeout=TIMEOUT_S, context=self._tls)  # noqa: S310 - the user's server
        except urllib.error.HTTPError as exc:
            raise SourceError(f"{self.label} answered {exc.code} to {endpoint}: {_error_text(exc)}") from exc
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise SourceError(f"no MLflow tracking server answers at {self.label}: {reason}") from exc

    def _get(self, endpoint: str, **query: object) -> dict[str, Any]:
        with self._open(endpoint, **query) as answer:
            try:
                loaded: dict[str, Any] = json.load(answer)
            except ValueError as exc:
                raise SourceError(
                    f"{self.label} is not an MLflow tracking server: {endpoint} did not answer JSON"
                ) from exc
        return loaded

    def _pages(self, endpoint: str, key: str, **query: object) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        token = ""
        while True:
            page = self._get(endpoint, **query, **({"page_token": token} if token else {}))
            found.extend(page.get(key, []))
            token = page.get("next_page_token", "")
            if not token:
                return found

    def models(self) -> list[SourceModel]:
        models = []
        for item in self._pages(f"{API}/registered-models/search", "registered_models", max_results=PAGE):
            model = SourceModel(
                item["name"], int(item.get("creation_timestamp", 0)), int(item.get("last_updated_timestamp", 0)),
                item.get("description", ""), _pairs(item.get("tags")),
                {a["alias"]: int(a["version"]) for a in item.get("aliases", [])},
            )  # fmt: skip
            listed = self._pages(f"{API}/model-versions/search", "model_versions",
                                 filter=f"name = {_quoted(model.name)}", max_results=PAGE)  # fmt: skip
            model.versions = sorted(
                (_version(v) for v in listed if v.get("current_stage") != STAGE_DELETED), key=lambda v: v.version
            )
            models.append(model)
        return sorted(models, key=lambda m: m.name)

    def run(self, run_id: str) -> SourceRun | None:
        if run_id in self._runs:
            return self._runs[run_id]
        try:
            item = self._get(f"{API}/runs/get", run_id=run_id)["run"]
        except SourceError as exc:
            if "RESOURCE_DOES_NOT_EXIST" not in str(exc):
                raise
            self._runs[run_id] = None
            return None
        info, data = item.get("info", {}), item.get("data", {})
        tags = _pairs(data.get("tags"))
        found = SourceRun(
            run_id, info.get("run_name", ""), info.get("user_id", ""), info.get("status", ""),
            int(info.get("start_time", 0)), int(info.get("end_time", 0) or 0), info.get("artifact_uri", ""),
            str(info.get("experiment_id", "")), tags.get("mlflow.source.name", ""),
            tags.get("mlflow.source.git.commit", ""), tags.get("mlflow.project.entryPoint", ""),
            _pairs(data.get("params")), tags,
        )  # fmt: skip
        found.datasets = dataset_inputs(item.get("inputs", {}).get("dataset_inputs"))
        for key in sorted({m["key"] for m in data.get("metrics", [])}):
            history = self._pages(f"{API}/metrics/get-history", "metrics", run_id=run_id, metric_key=key,
                                  max_results=METRIC_PAGE)  # fmt: skip
            found.metrics += [
                MetricPoint(key, float(m["value"]), int(m.get("step", 0)), int(m.get("timestamp", 0))) for m in history
            ]
        self._runs[run_id] = found
        return found

    def fetch_artifacts(self, version: SourceVersion, scratch: Path) -> Path:
        uri = self._get(f"{API}/model-versions/get-download-uri", name=version.model,
                        version=str(version.version)).get("artifact_uri", "")  # fmt: skip
        if uri.startswith("runs:/"):  # as registered; the run says where its files went
            run_id, _, inner = uri.removeprefix("runs:/").partition("/")
            run = self.run(run_id)
            if run is None or not run.artifact_uri:
                raise ArtifactsUnavailable(f"its files are at {uri}, and MLflow no longer knows run {run_id}")
            uri = f"{run.artifact_uri.rstrip('/')}/{inner}" if inner else run.artifact_uri
        path = local_path(uri)
        if path is not None:  # a server that records local paths, on this machine
            if not Path(path).exists():
                raise ArtifactsUnavailable(f"its files are at {path}, which is not on this machine")
            return Path(path)
        if not uri.startswith("mlflow-artifacts:"):
            raise ArtifactsUnavailable(f"its files are at {uri}, which this importer cannot read from here")
        root = urlparse(uri).path.lstrip("/")
        target = scratch / f"{version.version}"
        shutil.rmtree(target, ignore_errors=True)
        self._download_tree(root, "", target)
        return target

    def _download_tree(self, root: str, relative: str, target: Path) -> None:
        listed = self._get(ARTIFACTS, path=f"{root}/{relative}".rstrip("/")).get("files", [])
        if not listed and not relative:
            # A single file is listed as nothing: fetch it as one.
            target.mkdir(parents=True, exist_ok=True)
            self._download(root, target / Path(root).name)
            return
        for entry in listed:
            name = entry["path"].rsplit("/", 1)[-1]
            inner = f"{relative}/{name}".lstrip("/")
            if name in ("", ".", "..") or "\\" in name:
                raise ArtifactsUnavailable(f"the server lists a file named {entry['path']!r}, which is not a safe path")
            if entry.get("is_dir"):
                self._download_tree(root, inner, target)
            else:
                self._download(f"{root}/{inner}", target / inner)

    def _download(self, path: str, destination: Path) -> None:
        destination.parent.mkdir(parents=True, exist_ok=True)
        with self._open(f"{ARTIFACTS}/{quote(path)}") as answer, open(destination, "wb") as out:
            while chunk := answer.read(CHUNK):
                out.write(chunk)

    def close(self) -> None:
        return None


def _version(item: dict[str, Any]) -> SourceVersion:
    return SourceVersion(
        item["name"], int(item["version"]), int(item.get("creation_timestamp", 0)),
        int(item.get("last_updated_timestamp", 0)), item.get("description", ""), item.get("user_id", ""),
        item.get("current_stage", "None"), item.get("source", ""), item.get("storage_location", ""),
        item.get("run_id", ""), item.get("run_link", ""), item.get("status", "READY"), _pairs(item.get("tags")),
    )  # fmt: skip


def _pairs(items: list[dict[str, Any]] | None) -> dict[str, str]:
    return {item["key"]: item.get("value", "") for item in items or []}


def _quoted(text: str) -> str:
    """A string literal of MLflow's filter grammar."""
    return f'"{text}"' if "'" in text else f"'{text}'"


def _error_text(error: urllib.error.HTTPError) -> str:
    try:
        body = json.loads(error.read() or b"{}")
    except ValueError:
        return error.reason or "no message"
    return f"{body.get('message', error.reason)} [{body.get('error_code', error.code)}]"


def _auth_headers(url_user: str | None, url_password: str | None) -> dict[str, str]:
    """A user and password in the URL first (they are never shown), then MLflow's variables."""
    token = os.environ.get("MLFLOW_TRACKING_TOKEN", "")
    if token and not url_user:
        return {"Authorization": f"Bearer {token}"}
    user = unquote(url_user) if url_user else os.environ.get("MLFLOW_TRACKING_USERNAME", "")
    password = unquote(url_password or "") if url_user else os.environ.get("MLFLOW_TRACKING_PASSWORD", "")
    if user:
        return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}
    return {}


def _tls_context() -> ssl.SSLContext | None:
    """None (the system's roots) unless MLflow's own variables say otherwise."""
    if os.environ.get("MLFLOW_TRACKING_INSECURE_TLS", "").lower() == "true":
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    ca = os.environ.get("MLFLOW_TRACKING_SERVER_CERT_PATH", "")
    if not ca:
        return None
    try:
        return ssl.create_default_context(cafile=ca)
    except (OSError, ssl.SSLError) as exc:
        raise SourceError(f"cannot read the CA certificate {ca} ($MLFLOW_TRACKING_SERVER_CERT_PATH): {exc}") from exc
