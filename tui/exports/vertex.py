"""`--format vertex`: the body of Vertex AI's models.upload request for one version.

POST it to `https://LOCATION-aiplatform.googleapis.com/v1/projects/P/locations/L/models:upload`.
Stages and aliases become version aliases, tags become labels (made to obey the label rules,
what cannot is listed in the summary), and the registry's record goes in `metadata`.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from studbook.client import names
from studbook.exports import cloud, cloud_rules
from studbook.exports.options import ExportOptions
from studbook.exports.source import Source, lineage
from studbook.v1 import resources_pb2

REQUEST_FILE = "upload-model.json"


def export(source: Source, ref: str, out: Path, options: ExportOptions) -> dict[str, Any]:
    version = source.version(ref)
    model_name = names.parse_ref(version.name).model
    url = cloud.model_url(source, version, options, out, "gs")
    found_labels, dropped = labels(version)
    body: dict[str, Any] = {"displayName": cloud_rules.display_name(model_name),
                            "labels": found_labels, "metadata": metadata(version)}  # fmt: skip
    if version.description:
        body["versionDescription"] = version.description
        body["description"] = version.description
    aliases = list(dict.fromkeys(a for a in map(cloud_rules.version_alias, [*version.stages, *version.aliases]) if a))
    if aliases:
        body["versionAliases"] = aliases
    notes: list[str] = []
    if url:
        body["artifactUri"] = url
    else:
        notes.append("no artifactUri: the files are not reachable by a gs:// URL; "
                     "pass --upload-url gs://BUCKET/PREFIX and copy DEST there")  # fmt: skip
    if options.image:
        body["containerSpec"] = {"imageUri": options.image}
    else:
        notes.append("no containerSpec: pass --image to name the serving container")
    request = {"modelId": cloud_rules.model_id(model_name), "model": body}
    cloud.write_json(out / REQUEST_FILE, request)
    return {"version": version.name, "request": REQUEST_FILE, "dropped": dropped, "notes": notes}


def labels(version: resources_pb2.ModelVersion) -> tuple[dict[str, str], list[dict[str, str]]]:
    wanted = [("studbook-model", names.parse_ref(version.name).model), ("studbook-version", str(version.number)),
              *sorted(version.tags.items())]  # fmt: skip
    kept: dict[str, str] = {}
    dropped: list[dict[str, str]] = []
    for raw_key, raw_value in wanted:
        key = cloud_rules.label_key(raw_key)
        if key is None or key in kept:
            dropped.append({"key": raw_key, "reason": "no valid label key, or the same as another's"})
        elif len(kept) >= cloud_rules.LABELS_MAX:
            dropped.append({"key": raw_key, "reason": f"over {cloud_rules.LABELS_MAX} labels"})
        else:
            kept[key] = cloud_rules.label_value(raw_value)
    return kept, dropped


def metadata(version: resources_pb2.ModelVersion) -> dict[str, Any]:
    """The registry's record of the version, whole (Model.metadata is free-form JSON)."""
    return {"studbook": {
        "version": version.name,
        "semver": version.semver,
        "contentDigest": version.content_digest,
        "stages": list(version.stages),
        "aliases": list(version.aliases),
        "tags": dict(version.tags),
        "params": dict(version.params),
        "metrics": {k: v for k, v in cloud.metric_values(version).items() if math.isfinite(v)},
        "lineage": lineage(version),
        "modelCard": version.model_card,
    }}  # fmt: skip
