"""FileInfo/FolderInfo -> the format record (`domain.format_info`) and the card's metrics.

The one place both registration paths (a drop, an API registration) turn what the readers
found into what a version carries, so both record exactly the same thing. Pure: no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from studbook.daemon.domain.format_info import (
    MAX_DETAILS,
    MAX_ITEMS,
    MAX_TENSORS,
    FormatInfo,
    GgufInfo,
    HuggingFaceInfo,
    KerasInfo,
    MlflowInfo,
    OnnxInfo,
    PickleInfo,
    SavedModelInfo,
    TensorInfo,
    bounded,
    clip_text,
)
from studbook.daemon.domain.model import Metric, TensorSpec
from studbook.daemon.domain.names import METRIC_KEY
from studbook.daemon.formats import dtypes, jsonutil
from studbook.daemon.formats.info import LAMBDA_LAYER, FileInfo, FolderInfo

# Normalised element-type names -> the short upper-case names records use (bfloat16 -> BF16).
_SHORT = {name: short for short, (name, _) in dtypes.SAFETENSORS.items()}
_SHORT.update({"float32": "F32", "float16": "F16", "float64": "F64", "string": "STRING", "complex128": "C128"})
_UNREAD = ("", "unknown")
# Folder kinds that name a version's main format themselves.
_FOLDER_FORMATS = ("mlflow", "huggingface", "savedmodel")
# Top-level classes whose module names the framework that made them.
_FRAMEWORKS = {"sklearn": "scikit-learn", "xgboost": "xgboost", "lightgbm": "lightgbm", "torch": "pytorch",
               "catboost": "catboost", "statsmodels": "statsmodels"}  # fmt: skip


def short_dtype(name: str) -> str:
    """One spelling for every format's element type: F32, BF16, I64, Q4_K ..."""
    text = str(name).strip()
    return _SHORT.get(text.lower(), text.upper())[:32]


def file_record(info: FileInfo) -> FormatInfo:
    """The record of one inspected file."""
    meta = info.metadata
    builder = _BUILDERS.get(info.format)
    record = builder(meta, info) if builder is not None else FormatInfo(format=info.format)
    if info.parameter_count and not record.parameters:
        record = replace(record, parameters=info.parameter_count)
    return bounded(replace(record, format=info.format))


def version_record(files: Sequence[tuple[int, FormatInfo]], folder: FolderInfo | None) -> FormatInfo:
    """A version's summary from its files' records (with their sizes) and its folder.

    The main format is the folder's kind (mlflow, huggingface, savedmodel) when it is one,
    else the biggest file's format; parameters add up over files, dtypes and tensors merge.
    """
    # Files no reader understood (tokenizers, configs) never name the main format.
    ordered = [record for _, record in sorted(files, key=lambda item: (item[1].format in _UNREAD, -item[0]))]
    biggest = ordered[0] if ordered else FormatInfo()
    dtype_order: dict[str, None] = {}
    tensors: list[TensorInfo] = []
    for record in ordered:
        dtype_order.update(dict.fromkeys(record.dtypes))
        tensors.extend(record.tensors)
    tensors.sort(key=lambda t: (-t.numel, t.name))
    record = FormatInfo(
        format=biggest.format,
        framework=biggest.framework,
        framework_version=biggest.framework_version,
        architecture=next((r.architecture for r in ordered if r.architecture), ""),
        tensor_count=sum(r.tensor_count for r in ordered),
        parameters=sum(r.parameters for r in ordered),
        dtypes=tuple(dtype_order),
        tensors=tuple(tensors[:MAX_TENSORS]),
        onnx=biggest.onnx,
        gguf=biggest.gguf,
        keras=biggest.keras,
        pickle=biggest.pickle,
        savedmodel=biggest.savedmodel,
    )
    if folder is not None and folder.kind in _FOLDER_FORMATS:
        record = _folder_summary(record, folder)
    return bounded(record)


def card_metrics(folder: FolderInfo | None) -> list[Metric]:
    """A model card's model-index results as metrics: `dataset/metric`, split from the card.

    The dataset goes into the key (metrics have no dataset of their own), the split into
    the metric's split, so `metrics.glue/accuracy > 0.9` filters on it. Non-numeric values
    are left out: a metric is a number.
    """
    if folder is None:
        return []
    rows = jsonutil.as_list(jsonutil.as_dict(folder.metadata.get("card")).get("eval_results"))
    metrics: dict[tuple[str, str], Metric] = {}
    for row in rows[: MAX_ITEMS * 2]:
        if not isinstance(row, dict):
            continue
        value = row.get("value")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            continue
        name = _key_part(row.get("metric"))
        if not name:
            continue
        dataset = _key_part(row.get("dataset"))
        key = (f"{dataset}/{name}" if dataset else name)[:128]
        if not METRIC_KEY.fullmatch(key):
            key = ("_" + key)[:128]  # keys start with a letter or '_'; a card's names may not
        split = _key_part(row.get("split"))
        # What a card says never fails the registration: a key no rule accepts is left out.
        if METRIC_KEY.fullmatch(key):
            metrics.setdefault((key, split), Metric(key, float(value), split=split))
    return list(metrics.values())


def _key_part(value: object) -> str:
    """A card's dataset or metric name as a metric-key part: no slashes or spaces of its own."""
    text = str(value or "").strip()
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in text)[:60].strip("_")


# -- per format ---------------------------------------------------------------------------


def _listed_tensors(listed: object, dtype_key: str) -> tuple[TensorInfo, ...]:
    tensors = []
    for name, entry in jsonutil.as_dict(listed).items():
        entry = jsonutil.as_dict(entry)
        shape = tuple(d for d in jsonutil.as_list(entry.get("shape")) if type(d) is int)
        tensors.append(TensorInfo(str(name), short_dtype(entry.get(dtype_key, "")), shape))
    tensors.sort(key=lambda t: (-t.numel, t.name))
    return tuple(tensors[:MAX_TENSORS])


def _by_count(counts: object) -> tuple[str, ...]:
    items = [(str(k), v) for k, v in jsonutil.as_dict(counts).items() if isinstance(v, int)]
    return tuple(k for k, _ in sorted(items, key=lambda kv: (-kv[1], kv[0])))


def _int(value: object, default: int = 0) -> int:
    return value if type(value) is int else default


def _text(value: object) -> str:
    return clip_text(value) if isinstance(value, (str, int, float)) and not isinstance(value, bool) else ""


def _scalars(data: object) -> dict[str, str]:
    """A dict's scalar entries as text, bounded: nested values are not kept."""
    found: dict[str, str] = {}
    for key, value in jsonutil.as_dict(data).items():
        if len(found) >= MAX_DETAILS:
            break
        if isinstance(value, bool):
            found[str(key)] = "true" if value else "false"
        elif isinstance(value, (str, int, float)):
            found[str(key)] = clip_text(value)
    return found


def _safetensors(meta: Mapping[str, Any], info: FileInfo) -> FormatInfo:
    return FormatInfo(
        tensor_count=_int(meta.get("tensor_count")),
        dtypes=tuple(dict.fromkeys(short_dtype(d) for d in _by_count(meta.get("dtypes")))),
        tensors=_listed_tensors(meta.get("tensors"), "dtype"),
        details=_scalars(meta.get("metadata")),
    )


def _gguf(meta: Mapping[str, Any], info: FileInfo) -> FormatInfo:
    architecture = _text(meta.get("architecture"))
    return FormatInfo(
        framework="gguf",
        architecture=architecture,
        tensor_count=_int(meta.get("tensor_count")),
        dtypes=tuple(short_dtype(d) for d in _by_count(meta.get("tensor_types"))),
        tensors=_listed_tensors(meta.get("tensors"), "type"),
        gguf=GgufInfo(
            version=_int(meta.get("version")),
            architecture=architecture,
            name=_text(meta.get("name")),
            quantization=_text(meta.get("quantization")),
            file_type=_int(meta.get("file_type"), -1),
            context_length=_int(meta.get("context_length")),
            kv=_scalars(meta.get("kv")),
        ),
    )


def _spec(spec: TensorSpec) -> TensorInfo:
    return TensorInfo(spec.name, short_dtype(spec.dtype) if spec.dtype else "", spec.shape)


def _onnx(meta: Mapping[str, Any], info: FileInfo) -> FormatInfo:
    signature = info.signature
    opsets = tuple(f"{domain}:{version}" for domain, version in jsonutil.as_dict(meta.get("opsets")).items())
    return FormatInfo(
        framework=_text(meta.get("producer_name")),
        framework_version=_text(meta.get("producer_version")),
        tensor_count=_int(meta.get("initializer_count")),
        dtypes=tuple(dict.fromkeys(short_dtype(d) for d in _by_count(meta.get("dtypes")))),
        tensors=_listed_tensors(meta.get("tensors"), "dtype"),
        onnx=OnnxInfo(
            ir_version=_int(meta.get("ir_version")),
            opsets=opsets,
            producer=_text(meta.get("producer_name")),
            producer_version=_text(meta.get("producer_version")),
            op_types=_by_count(meta.get("op_types")),
            inputs=tuple(_spec(s) for s in signature.inputs[:MAX_ITEMS]) if signature else (),
            outputs=tuple(_spec(s) for s in signature.outputs[:MAX_ITEMS]) if signature else (),
        ),
        details={k: v for k, v in _scalars(meta).items() if k in ("graph_name", "node_count", "domain")},
    )


def _keras(meta: Mapping[str, Any], info: FileInfo) -> FormatInfo:
    version = _text(meta.get("keras_version"))
    return FormatInfo(
        framework="keras",
        framework_version=version,
        keras=KerasInfo(
            model_class=_text(meta.get("model_class")),
            keras_version=version,
            layer_count=_int(meta.get("layer_count")),
            layers=_by_count(meta.get("layer_types")),
            lambda_layers=LAMBDA_LAYER in info.flags,
        ),
    )


def _pickled(meta: Mapping[str, Any], info: FileInfo) -> FormatInfo:
    versions = _scalars(meta.get("library_versions"))
    top = _text(meta.get("object_type"))
    framework = "pytorch" if info.format == "pytorch" else _FRAMEWORKS.get(top.split(".", 1)[0], "")
    framework_version = versions.get(framework, "") or versions.get(top.split(".", 1)[0], "")
    tensors = _listed_tensors(meta.get("tensors"), "dtype")
    return FormatInfo(
        framework=framework,
        framework_version=framework_version,
        tensor_count=_int(meta.get("tensor_count")),
        dtypes=tuple(dict.fromkeys(t.dtype for t in tensors if t.dtype)),
        tensors=tensors,
        pickle=PickleInfo(
            protocol=_int(meta.get("protocol")),
            top_level_class=top,
            sklearn_version=versions.get("scikit-learn", ""),
            compression=_text(meta.get("compression")),
        ),
        details={k: v for k, v in versions.items() if k not in ("scikit-learn",)},
    )


def _savedmodel(meta: Mapping[str, Any], info: FileInfo) -> FormatInfo:
    version = _text(meta.get("tensorflow_version"))
    return FormatInfo(
        framework="tensorflow",
        framework_version=version,
        savedmodel=SavedModelInfo(
            signatures=tuple(str(s) for s in jsonutil.as_list(meta.get("signature_names"))),
            tags=tuple(str(s) for s in jsonutil.as_list(meta.get("tags"))),
            tensorflow_version=version,
            ops=_by_count(meta.get("op_types")),
        ),
    )


_BUILDERS = {
    "safetensors": _safetensors,
    "gguf": _gguf,
    "onnx": _onnx,
    "keras": _keras,
    "pickle": _pickled,
    "joblib": _pickled,
    "pytorch": _pickled,
    "savedmodel": _savedmodel,
}


# -- folders ---------------------------------------------------------------------------


def _folder_summary(record: FormatInfo, folder: FolderInfo) -> FormatInfo:
    meta = folder.metadata
    if folder.kind == "mlflow":
        flavors = jsonutil.as_dict(meta.get("flavors"))
        pyfunc = jsonutil.as_dict(flavors.get("python_function"))
        native = [name for name in flavors if name != "python_function"]
        framework = native[0] if native else record.framework
        framework_version = ""
        if native:
            body = jsonutil.as_dict(flavors.get(native[0]))
            framework_version = next((_text(v) for k, v in body.items() if str(k).endswith("_version")), "")
        signature = folder.signature
        return replace(
            record,
            format="mlflow",
            framework=framework,
            framework_version=framework_version or record.framework_version,
            mlflow=MlflowInfo(
                flavors=tuple(str(name) for name in flavors),
                loader_module=_text(pyfunc.get("loader_module")),
                model_uuid=_text(meta.get("model_uuid")),
                mlflow_version=_text(meta.get("mlflow_version")),
                has_signature=signature is not None and not signature.empty,
            ),
        )
    if folder.kind == "savedmodel":
        version = _text(meta.get("tensorflow_version"))
        return replace(
            record,
            format="savedmodel",
            framework="tensorflow",
            framework_version=version,
            savedmodel=SavedModelInfo(
                signatures=tuple(str(s) for s in jsonutil.as_list(meta.get("signature_names"))),
                tags=tuple(str(s) for s in jsonutil.as_list(meta.get("tags"))),
                variables=tuple(str(s) for s in jsonutil.as_list(meta.get("variables"))),
                tensorflow_version=version,
                ops=_by_count(meta.get("op_types")),
            ),
        )
    config = jsonutil.as_dict(meta.get("config"))
    card = jsonutil.as_dict(meta.get("card"))
    packages = folder.environment.packages
    framework = "diffusers" if "diffusers" in packages and "transformers" not in packages else "transformers"
    model_type = _text(config.get("model_type"))
    hf = HuggingFaceInfo(
        model_type=model_type,
        architectures=tuple(str(a) for a in jsonutil.as_list(config.get("architectures"))),
        torch_dtype=_text(config.get("torch_dtype", config.get("dtype", ""))),
        transformers_version=_text(config.get("transformers_version")),
        license=_joined(card.get("license")),
        language=tuple(str(v) for v in (_as_strings(card.get("language")))),
        pipeline_tag=_joined(card.get("pipeline_tag")),
        base_model=clip_text(folder.base_model),
        base_model_relation=_joined(card.get("base_model_relation")) or ("adapter" if "adapter" in meta else ""),
    )
    return replace(
        record,
        format="huggingface",
        framework=framework,
        framework_version=packages.get(framework, ""),
        architecture=model_type or record.architecture,
        huggingface=hf,
    )


def _as_strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value] if value else []
    return [str(v) for v in jsonutil.as_list(value) if isinstance(v, (str, int, float))][:MAX_ITEMS]


def _joined(value: object) -> str:
    return clip_text(",".join(_as_strings(value)))


def with_card_metrics(given: Sequence[Metric], folder: FolderInfo | None) -> list[Metric]:
    """`given` metrics plus the folder's for every (key, split) the caller did not give: the
    card's model-index results, then what a tracker's files beside the model (a W&B run's
    summary) recorded."""
    found = [*card_metrics(folder), *(folder.metrics if folder is not None else ())]
    metrics = list(given)
    seen = {(m.key, m.split) for m in given}
    for metric in found:
        if (metric.key, metric.split) not in seen:
            seen.add((metric.key, metric.split))
            metrics.append(metric)
    return metrics


def files_record(files: Sequence[tuple[int, FileInfo | None]], folder: FolderInfo | None) -> FormatInfo:
    """The version summary straight from what the readers found (sizes beside each file)."""
    return version_record([(size, file_record(info)) for size, info in files if info is not None], folder)
