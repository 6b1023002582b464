"""`--format modelpack`: an OCI image layout holding one version as a CNCF ModelPack artifact.

    DEST/oci-layout              {"imageLayoutVersion": "1.0.0"}
    DEST/index.json              one manifest, tagged with the version's semver, number, stages, aliases
    DEST/blobs/sha256/<digest>   the manifest, the model config, and one raw layer per file

Each file of the version becomes one raw layer (`application/vnd.cncf.model.<kind>.v1.raw`):
the blob is the file's bytes, so its digest is the sha256 the registry already keeps and
nothing is re-hashed beyond verifying what arrives. The model config's schema admits no
fields of its own, so what the registry knows besides (metrics, params, tags, lineage,
stages) travels as manifest annotations, and the card and the full record as doc layers.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tarfile
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from google.protobuf import json_format
from studbook.client import names
from studbook.exports import layers
from studbook.exports.source import Source, lineage
from studbook.v1 import resources_pb2

LAYOUT_VERSION = "1.0.0"
INDEX_MEDIA_TYPE = "application/vnd.oci.image.index.v1+json"
MANIFEST_MEDIA_TYPE = "application/vnd.oci.image.manifest.v1+json"
ARTIFACT_TYPE = "application/vnd.cncf.model.manifest.v1+json"
CONFIG_MEDIA_TYPE = "application/vnd.cncf.model.config.v1+json"

FILEPATH = "org.cncf.model.filepath"
FILE_METADATA = "org.cncf.model.file.metadata+json"
UNTESTED = "org.cncf.model.file.mediatype.untested"
REF_NAME = "org.opencontainers.image.ref.name"
# Our own annotation keys, namespaced as OCI annotations should be.
OWN = "io.studbook"
# Where the generated documents go inside the model folder a runtime unpacks.
CARD_PATH = "MODEL_CARD.md"
RECORD_PATH = ".studbook/version.json"

# OCI tags (distribution spec): what a ref name may be so that tools can copy it to a registry.
TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")
TAR_REGULAR_FILE = ord("0")


def export(source: Source, ref: str, out: Path, *, tar: bool = False) -> dict[str, Any]:
    version = source.version(ref)
    source.require_kept(version, "a ModelPack layout")
    blobs = out / "blobs" / "sha256"
    blobs.mkdir(parents=True)

    files = sorted(version.files, key=lambda f: f.path)
    generated = _generated_docs(source, version, {f.path for f in files})
    if tar:
        descriptors = _tar_layers(source, version, files, generated, out, blobs)
    else:
        unique = {f.sha256: f for f in files}  # identical content is one blob
        source.fetch(version, [(f, blobs / digest) for digest, f in unique.items()])
        descriptors = [_layer(layers.kind_of(f), f.path, f.sha256, f.size, f.size, version, tar=False) for f in files]
        for path, data in generated:
            descriptors.append(
                _layer(DOC_KIND, path, _write_blob(blobs, data), len(data), len(data), version, tar=False)
            )

    config = _write_json_blob(blobs, model_config(version, [d["digest"] for d in descriptors]))
    manifest = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_MEDIA_TYPE,
        "artifactType": ARTIFACT_TYPE,
        "config": {"mediaType": CONFIG_MEDIA_TYPE, **config},
        "layers": descriptors,
        "annotations": manifest_annotations(version, source.metric_series(version)),
    }
    manifest_descriptor = {"mediaType": MANIFEST_MEDIA_TYPE, "artifactType": ARTIFACT_TYPE,
                           **_write_json_blob(blobs, manifest)}  # fmt: skip
    refs = ref_names(version)
    index = {
        "schemaVersion": 2,
        "mediaType": INDEX_MEDIA_TYPE,
        "manifests": [{**manifest_descriptor, "annotations": {REF_NAME: name}} for name in refs],
    }
    (out / "index.json").write_text(json.dumps(index, indent=2) + "\n")
    (out / "oci-layout").write_text(json.dumps({"imageLayoutVersion": LAYOUT_VERSION}) + "\n")
    return {
        "version": version.name,
        "manifest": manifest_descriptor["digest"],
        "tags": refs,
        "layers": len(descriptors),
        "files": len(files),
        "bytes": sum(f.size for f in files),
    }


def ref_names(version: resources_pb2.ModelVersion) -> list[str]:
    """The tags of the manifest in index.json: semver, number, then stages and aliases that are valid tags."""
    wanted = [version.semver, f"v{version.number}", *version.stages, *version.aliases]
    return list(dict.fromkeys(t for t in wanted if t and TAG.match(t)))


def model_config(version: resources_pb2.ModelVersion, diff_ids: list[str]) -> dict[str, Any]:
    """The `application/vnd.cncf.model.config.v1+json` document; only the fields its schema knows."""
    info = version.format_info
    descriptor: dict[str, Any] = {
        "name": names.parse_ref(version.name).model,
        "version": version.semver or str(version.number),
        "title": names.short_version(version.name),
    }
    if version.HasField("create_time"):
        descriptor["createdAt"] = version.create_time.ToJsonString()
    if version.created_by:
        descriptor["authors"] = [version.created_by]
    if version.description:
        descriptor["description"] = version.description
    if version.training.code_commit:
        descriptor["revision"] = version.training.code_commit
    if info.huggingface.license:
        descriptor["licenses"] = [info.huggingface.license]
    if info.huggingface.model_type:
        descriptor["family"] = info.huggingface.model_type
    datasets = [d.uri for d in version.datasets if d.uri]
    if datasets:
        descriptor["datasetsURL"] = datasets
    if version.storage_uri.startswith(("http://", "https://")):
        descriptor["sourceURL"] = version.storage_uri
    config: dict[str, Any] = {}
    if info.architecture:
        config["architecture"] = info.architecture
    # The main file's format (safetensors, onnx, gguf...), which is what the spec's examples name;
    # the folder's kind (huggingface, mlflow) only when no file says more.
    main_format = next((f for f in (version.format, info.format) if f and f != "unknown"), "")
    if main_format:
        config["format"] = main_format
    if info.parameters:
        size = param_size(info.parameters)
        if size:
            config["paramSize"] = size
    if info.dtypes:
        config["precision"] = precision(list(info.dtypes))
    if info.WhichOneof("family") == "gguf" and info.gguf.quantization:
        config["quantization"] = info.gguf.quantization
    return {"descriptor": descriptor, "config": config, "modelfs": {"type": "layers", "diffIds": diff_ids}}


SCALES = ((10**15, "Q"), (10**12, "T"), (10**9, "B"), (10**6, "M"), (10**3, "K"))


def param_size(parameters: int) -> str:
    """`<count><scale>` with at most one decimal (6.7B, 100M, 1.5K); "" below 50 parameters,
    which no scale can say."""
    for scale, letter in SCALES:
        if parameters >= scale or letter == "K":
            count = round(parameters / scale, 1)
            if count == 0:
                return ""
            return f"{count:g}{letter}" if count == int(count) else f"{count:.1f}{letter}"
    return ""


# Element types as each format spells them (F16, float16, half...) -> the spec's words.
PRECISIONS = {
    "f32": "fp32", "float32": "fp32", "float": "fp32",
    "f16": "fp16", "float16": "fp16", "half": "fp16",
    "bf16": "bf16", "bfloat16": "bf16",
    "f64": "fp64", "float64": "fp64", "double": "fp64",
    "f8_e4m3": "fp8", "f8_e5m2": "fp8", "float8_e4m3fn": "fp8", "float8_e5m2": "fp8",
    "i8": "int8", "int8": "int8", "u8": "uint8", "uint8": "uint8",
    "i4": "int4", "int4": "int4", "q4_0": "int4", "q8_0": "int8",
}  # fmt: skip


def precision(dtypes: list[str]) -> str:
    """The spec's words (fp16, bf16, int8...) for the element type most tensors use."""
    return PRECISIONS.get(dtypes[0].lower(), dtypes[0].lower())


def manifest_annotations(version: resources_pb2.ModelVersion, series: list[resources_pb2.Metric]) -> dict[str, str]:
    annotations = {
        "org.opencontainers.image.title": names.parse_ref(version.name).model,
        "org.opencontainers.image.version": version.semver or str(version.number),
        f"{OWN}.version": version.name,
        f"{OWN}.content-digest": version.content_digest,
        f"{OWN}.metrics+json": _compact([_metric(m) for m in version.metrics]),
        f"{OWN}.params+json": _compact(dict(sorted(version.params.items()))),
        f"{OWN}.tags+json": _compact(dict(sorted(version.tags.items()))),
        f"{OWN}.lineage+json": _compact(lineage(version)),
        f"{OWN}.stages": ",".join(version.stages),
        f"{OWN}.aliases": ",".join(version.aliases),
    }
    if version.HasField("create_time"):
        annotations["org.opencontainers.image.created"] = version.create_time.ToJsonString()
    if version.description:
        annotations["org.opencontainers.image.description"] = version.description
    if version.created_by:
        annotations["org.opencontainers.image.authors"] = version.created_by
    if version.training.code_commit:
        annotations["org.opencontainers.image.revision"] = version.training.code_commit
    if len(series) > len(version.metrics):
        annotations[f"{OWN}.metric-series"] = RECORD_PATH
    return {k: v for k, v in annotations.items() if v}


def _metric(metric: resources_pb2.Metric) -> dict[str, Any]:
    shown: dict[str, Any] = {"key": metric.key, "value": metric.value}
    if metric.HasField("step"):
        shown["step"] = metric.step
    if metric.split:
        shown["split"] = metric.split
    return shown


def _generated_docs(source: Source, version: resources_pb2.ModelVersion, taken: set[str]) -> list[tuple[str, bytes]]:
    record = json_format.MessageToDict(version)
    record["metricSeries"] = [json_format.MessageToDict(m) for m in source.metric_series(version)]
    docs = [(RECORD_PATH, (json.dumps(record, indent=2, sort_keys=True) + "\n").encode())]
    if version.model_card:
        docs.append((CARD_PATH, version.model_card.encode()))
    # A file of the version keeps its own path; a generated document moves aside.
    return [(path if path not in taken else f".studbook/{path.replace('/', '_')}", data) for path, data in docs]


DOC_KIND = layers.Kind(layers.DOC, tested=True)


def _layer(kind: layers.Kind, path: str, digest: str, size: int, file_size: int,
           version: resources_pb2.ModelVersion, *, tar: bool) -> dict[str, Any]:  # fmt: skip
    """The descriptor of one layer: `size` is the blob's, `file_size` the file's it holds."""
    annotations = {FILEPATH: path, FILE_METADATA: _file_metadata(path, file_size, version),
                   UNTESTED: "false" if kind.tested else "true"}  # fmt: skip
    media_type = kind.tar_media_type if tar else kind.media_type
    return {"mediaType": media_type, "digest": f"sha256:{digest}", "size": size, "annotations": annotations}


def _tar_layers(source: Source, version: resources_pb2.ModelVersion, files: list[resources_pb2.ArtifactFile],
                generated: list[tuple[str, bytes]], out: Path, blobs: Path) -> list[dict[str, Any]]:  # fmt: skip
    """One uncompressed tar per file, its only member the file at its path with constant owner,
    mode and time (the spec's reproducibility guidance), so the same version gives the same digests."""
    scratch = out / ".files"
    source.fetch(version, [(f, scratch.joinpath(*PurePosixPath(f.path).parts)) for f in files])
    mtime = version.create_time.seconds if version.HasField("create_time") else 0
    descriptors = []
    for file in files:
        local = scratch.joinpath(*PurePosixPath(file.path).parts)
        digest, size = _write_tar_blob(blobs, file.path, local, mtime)
        descriptors.append(_layer(layers.kind_of(file), file.path, digest, size, file.size, version, tar=True))
        local.unlink()  # one copy on disk at a time
    for path, data in generated:
        local = scratch / "generated"
        local.write_bytes(data)
        digest, size = _write_tar_blob(blobs, path, local, mtime)
        descriptors.append(_layer(DOC_KIND, path, digest, size, len(data), version, tar=True))
    shutil.rmtree(scratch)
    return descriptors


class _HashingWriter:
    """A file that hashes what is written to it, so a tar is hashed as it is made, not read again."""

    def __init__(self, target: BinaryIO) -> None:
        self.target = target
        self.hasher = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.hasher.update(data)
        self.size += len(data)
        return self.target.write(data)


def _write_tar_blob(blobs: Path, name: str, local: Path, mtime: int) -> tuple[str, int]:
    part = blobs / ".tar-part"
    with open(part, "wb") as sink:
        writer = _HashingWriter(sink)
        with tarfile.open(fileobj=writer, mode="w|", format=tarfile.PAX_FORMAT) as archive:  # type: ignore[call-overload]
            info = tarfile.TarInfo(name)
            info.size = local.stat().st_size
            info.mtime = mtime
            info.mode = 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            with open(local, "rb") as handle:
                archive.addfile(info, handle)
    digest = writer.hasher.hexdigest()
    os.replace(part, blobs / digest)
    return digest, writer.size


def _file_metadata(path: str, size: int, version: resources_pb2.ModelVersion) -> str:
    # Constant owner and mode, and the version's registration time, so that two exports of one
    # version are identical (the spec's reproducibility guidance).
    mtime = version.create_time.ToJsonString() if version.HasField("create_time") else "1970-01-01T00:00:00Z"
    return _compact({"name": path, "mode": 0o644, "uid": 0, "gid": 0, "size": size, "mtime": mtime,
                     "typeflag": TAR_REGULAR_FILE})  # fmt: skip


def _write_blob(blobs: Path, data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()
    (blobs / digest).write_bytes(data)
    return digest


def _write_json_blob(blobs: Path, document: dict[str, Any]) -> dict[str, Any]:
    data = json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()
    return {"digest": f"sha256:{_write_blob(blobs, data)}", "size": len(data)}


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=isinstance(value, dict))
