"""`--format sagemaker`: the input of SageMaker's CreateModelPackage for one version.

`aws sagemaker create-model-package --cli-input-json file://DEST/create-model-package.json`
registers it as a version of the model package group named after the model. The approval
status follows the stages: production -> Approved, archived -> Rejected, anything else
PendingManualApproval. Tags and params go to CustomerMetadataProperties within its limits;
what does not fit is listed in the summary, not silently lost.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from studbook.client import names
from studbook.exports import cloud, cloud_rules
from studbook.exports.options import ExportOptions
from studbook.exports.source import Source
from studbook.v1 import resources_pb2

REQUEST_FILE = "create-model-package.json"
METRICS_FILE = "model-metrics.json"
APPROVED_STAGE = "production"
# The frameworks SageMaker names in ModelPackageContainerDefinition.Framework.
FRAMEWORKS = {"pytorch": "PYTORCH", "tensorflow": "TENSORFLOW", "keras": "TENSORFLOW", "scikit-learn": "SKLEARN",
              "sklearn": "SKLEARN", "xgboost": "XGBOOST", "transformers": "PYTORCH"}  # fmt: skip


def export(source: Source, ref: str, out: Path, options: ExportOptions) -> dict[str, Any]:
    version = source.version(ref)
    model = names.parse_ref(version.name).model
    url = cloud.model_url(source, version, options, out, "s3")
    properties, dropped = metadata_properties(version)
    request: dict[str, Any] = {
        "ModelPackageGroupName": cloud_rules.group_name(model),
        "ModelPackageDescription": cloud_rules.description(
            version.description or f"{names.short_version(version.name)}"
        ),
        "ModelApprovalStatus": approval_status(version),
        "CustomerMetadataProperties": properties,
    }
    notes: list[str] = []
    # A container definition needs its image; without one, or without reachable files, the
    # package is registered without an InferenceSpecification and the summary says which is missing.
    if url and options.image:
        request["InferenceSpecification"] = inference_specification(version, url, options.image)
    elif not url:
        notes.append(
            "no InferenceSpecification: the files are not reachable by an s3:// URL; "
            "pass --upload-url s3://BUCKET/PREFIX and copy DEST there"
        )
    else:
        notes.append("no InferenceSpecification: pass --image to name the serving container")
    metrics = metrics_document(version)
    if metrics:
        cloud.write_json(out / METRICS_FILE, metrics)
        if options.upload_url:
            request["ModelMetrics"] = {
                "ModelQuality": {
                    "Statistics": {
                        "ContentType": "application/json",
                        "S3Uri": f"{options.upload_url.rstrip('/')}/{METRICS_FILE}",
                    }
                }
            }
        else:
            notes.append(f"ModelMetrics left out: it names an S3 object; {METRICS_FILE} is written for upload")
    cloud.write_json(out / REQUEST_FILE, request)
    return {"version": version.name, "request": REQUEST_FILE, "approval": request["ModelApprovalStatus"],
            "dropped": dropped, "notes": notes}  # fmt: skip


def approval_status(version: resources_pb2.ModelVersion) -> str:
    if version.status == resources_pb2.VERSION_STATUS_ARCHIVED:
        return "Rejected"
    if APPROVED_STAGE in version.stages:
        return "Approved"
    return "PendingManualApproval"


def inference_specification(version: resources_pb2.ModelVersion, url: str, image: str) -> dict[str, Any]:
    container: dict[str, Any] = {"Image": image}
    if url.endswith(".tar.gz"):
        container["ModelDataUrl"] = url
    else:  # a folder of uncompressed files
        container["ModelDataSource"] = {"S3DataSource": {"S3Uri": url if url.endswith("/") else url + "/",
                                                         "S3DataType": "S3Prefix", "CompressionType": "None"}}  # fmt: skip
    framework = FRAMEWORKS.get(version.format_info.framework.lower())
    if framework:
        container["Framework"] = framework
    return {"Containers": [container]}


def metadata_properties(version: resources_pb2.ModelVersion) -> tuple[dict[str, str], list[dict[str, str]]]:
    """Facts first, then tags, then params, as long as CustomerMetadataProperties has room."""
    wanted = [
        ("studbook:version", version.name),
        ("studbook:semver", version.semver),
        ("studbook:stages", " ".join(version.stages)),
        ("studbook:aliases", " ".join(version.aliases)),
        ("studbook:content-digest", version.content_digest),
        *((f"tag:{k}", v) for k, v in sorted(version.tags.items())),
        *((f"param:{k}", v) for k, v in sorted(version.params.items())),
    ]
    kept: dict[str, str] = {}
    dropped: list[dict[str, str]] = []
    for raw_key, raw_value in wanted:
        if not raw_value:
            if raw_key.startswith(("tag:", "param:")):
                dropped.append({"key": raw_key, "reason": "empty value (the API needs at least one character)"})
            continue
        key = cloud_rules.metadata_text(raw_key, cloud_rules.METADATA_KEY_MAX)
        value = cloud_rules.metadata_text(raw_value, cloud_rules.METADATA_VALUE_MAX)
        if key is None or value is None or key in kept:
            dropped.append({"key": raw_key, "reason": "same key as another once made valid"})
        elif len(kept) >= cloud_rules.METADATA_MAX_ENTRIES:
            dropped.append({"key": raw_key, "reason": f"over {cloud_rules.METADATA_MAX_ENTRIES} entries"})
        else:
            kept[key] = value
    return kept, dropped


def metrics_document(version: resources_pb2.ModelVersion) -> dict[str, Any]:
    """The latest metrics as {"metrics": {name: {"value": v}}} (finite values only: JSON has no NaN)."""
    values = {k: {"value": v} for k, v in cloud.metric_values(version).items() if math.isfinite(v)}
    return {"metrics": values} if values else {}
