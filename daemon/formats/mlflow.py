"""MLflow model folders: MLmodel (flavors, signature, run id) and the environment files
beside it (requirements.txt, conda.yaml, python_env.yaml)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from studbook.daemon.domain.model import Environment, Signature, TensorSpec
from studbook.daemon.formats import dtypes, jsonutil, textfile, yaml_subset
from studbook.daemon.formats.errors import FormatError
from studbook.daemon.formats.limits import Limits

KIND = "mlflow"
MLMODEL = "MLmodel"
_PIN = re.compile(r"([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*==\s*([^\s;,#]+)")
_CONDA_PYTHON = re.compile(r"python\s*[=]=?\s*([0-9][0-9.]*)")
# Flavor keys that record the version of the library that saved the model.
_FLAVOR_VERSIONS = {
    "sklearn_version": "scikit-learn",
    "pytorch_version": "torch",
    "keras_version": "keras",
    "tensorflow_version": "tensorflow",
    "xgb_version": "xgboost",
    "lgb_version": "lightgbm",
    "catboost_version": "catboost",
    "transformers_version": "transformers",
    "cloudpickle_version": "cloudpickle",
    "onnx_version": "onnx",
    "statsmodels_version": "statsmodels",
    "prophet_version": "prophet",
}
_TOP_KEYS = (
    "artifact_path",
    "mlflow_version",
    "model_uuid",
    "utc_time_created",
    "model_size_bytes",
    "saved_input_example_info",
    "databricks_runtime",
    "model_id",
    "name",
)


@dataclass
class MlflowInfo:
    run_id: str = ""
    signature: Signature | None = None
    environment: Environment = field(default_factory=Environment)
    metadata: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    custom_code: bool = False


def read(model_dir: Path, names: set[str], limits: Limits) -> MlflowInfo:
    """Read `model_dir`/MLmodel and its environment files; `names` are the folder's files."""
    try:
        doc = yaml_subset.loads(
            textfile.read_text(model_dir / MLMODEL, limits.max_text_bytes), max_depth=limits.max_depth
        )
    except yaml_subset.YamlError as err:
        raise FormatError("BAD_MLMODEL", f"MLmodel is not readable YAML: {err}") from None
    if not isinstance(doc, dict):
        raise FormatError("BAD_MLMODEL", "MLmodel is not a mapping")
    info = MlflowInfo(run_id=str(doc.get("run_id") or "")[:256])
    flavors = jsonutil.as_dict(doc.get("flavors"))
    info.metadata = {key: jsonutil.clip(doc[key], limits.max_listed) for key in _TOP_KEYS if key in doc}
    info.metadata["flavors"] = {
        str(name): {k: v for k, v in body.items() if isinstance(v, (str, int, float, bool))}
        if isinstance(body, dict)
        else {}
        for name, body in list(flavors.items())[: limits.max_listed]
    }
    info.signature = _signature(doc.get("signature"), info, limits)
    pyfunc = jsonutil.as_dict(flavors.get("python_function"))
    # Custom pyfunc models import code shipped with the model (or a non-mlflow loader).
    loader = pyfunc.get("loader_module")
    info.custom_code = bool(pyfunc.get("code")) or (isinstance(loader, str) and not loader.startswith("mlflow."))
    info.environment = _environment(model_dir, names, doc, flavors, pyfunc, info, limits)
    return info


def _signature(raw: Any, info: MlflowInfo, limits: Limits) -> Signature | None:
    if not isinstance(raw, dict):
        return None
    parts: dict[str, tuple[TensorSpec, ...]] = {}
    for side in ("inputs", "outputs"):
        text = raw.get(side)
        if not isinstance(text, str) or not text:
            parts[side] = ()
            continue
        try:
            specs = jsonutil.loads(text.encode(), f"signature {side}", limits.max_json_bytes)
        except FormatError as err:
            info.warnings.append(f"MLmodel signature {side} not read: {err.message}")
            specs = []
        parts[side] = tuple(
            _spec(spec, index)
            for index, spec in enumerate(specs if isinstance(specs, list) else [])
            if isinstance(spec, dict)
        )[: limits.max_tensors]
    if isinstance(raw.get("params"), str):
        try:
            info.metadata["signature_params"] = jsonutil.clip(
                jsonutil.loads(raw["params"].encode(), "signature params", limits.max_json_bytes),
                limits.max_listed,
            )
        except FormatError as err:
            info.warnings.append(f"MLmodel signature params not read: {err.message}")
    return Signature(inputs=parts["inputs"], outputs=parts["outputs"])


def _spec(spec: dict[str, Any], index: int) -> TensorSpec:
    """A column spec {type, name, required} or a tensor spec {type: tensor, tensor-spec}."""
    name = str(spec.get("name", index))[:256]
    optional = spec.get("required") is False
    if spec.get("type") == "tensor" and isinstance(spec.get("tensor-spec"), dict):
        tensor = spec["tensor-spec"]
        shape = tensor.get("shape") if isinstance(tensor.get("shape"), list) else []
        return TensorSpec(
            name=name,
            dtype=str(tensor.get("dtype", ""))[:64],
            shape=tuple(d if type(d) is int else -1 for d in shape[:64]),
            optional=optional,
        )
    kind = spec.get("type")
    dtype = dtypes.MLFLOW_COLUMN.get(kind, str(kind)[:64]) if isinstance(kind, str) else ""
    # A column holds one value per row: a batch of unknown length.
    return TensorSpec(name=name, dtype=dtype, shape=(-1,), optional=optional)


def _environment(
    model_dir: Path,
    names: set[str],
    doc: dict[Any, Any],
    flavors: dict[Any, Any],
    pyfunc: dict[Any, Any],
    info: MlflowInfo,
    limits: Limits,
) -> Environment:
    env = Environment()
    if isinstance(pyfunc.get("python_version"), str):
        env.python_version = pyfunc["python_version"][:32]
    for body in flavors.values():
        if isinstance(body, dict):
            for key, package in _FLAVOR_VERSIONS.items():
                if isinstance(body.get(key), str):
                    env.packages.setdefault(package, body[key][:64])
    if isinstance(doc.get("mlflow_version"), str):
        env.packages.setdefault("mlflow", doc["mlflow_version"][:64])
    files = jsonutil.as_dict(pyfunc.get("env"))
    conda_name = _local(files.get("conda"), "conda.yaml")
    python_env_name = _local(files.get("virtualenv"), "python_env.yaml")
    requirements: list[str] = []
    if "requirements.txt" in names:
        requirements = _requirements(textfile.read_text(model_dir / "requirements.txt", limits.max_text_bytes), limits)
    if python_env_name in names:
        python_env = _yaml(model_dir, python_env_name, info, limits)
        if isinstance(python_env, dict):
            if python_env.get("python") is not None:
                env.python_version = str(python_env["python"])[:32]
            deps = [d for d in jsonutil.as_list(python_env.get("dependencies")) if isinstance(d, str)]
            requirements = requirements or [d for d in deps if not d.startswith("-r")]
    if conda_name in names:
        conda = _yaml(model_dir, conda_name, info, limits)
        for dep in jsonutil.as_list(jsonutil.as_dict(conda).get("dependencies")):
            if isinstance(dep, str):
                match = _CONDA_PYTHON.fullmatch(dep.strip())
                if match and not env.python_version:
                    env.python_version = match.group(1)
            elif isinstance(dep, dict) and isinstance(dep.get("pip"), list) and not requirements:
                requirements = [str(p) for p in dep["pip"] if isinstance(p, str) and not p.startswith("-r")]
    env.requirements = requirements[: limits.max_text_items]
    for line in env.requirements:
        match = _PIN.match(line)
        if match:
            env.packages[match.group(1).lower()] = match.group(2)[:64]
    return env


def _local(name: Any, default: str) -> str:
    """An env file named by MLmodel, only if it stays inside the folder."""
    if not isinstance(name, str) or not name:
        return default
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts:
        return default
    return str(path)


def _yaml(model_dir: Path, name: str, info: MlflowInfo, limits: Limits) -> Any:
    try:
        text = textfile.read_text(model_dir / name, limits.max_text_bytes)
        return yaml_subset.loads(text, max_depth=limits.max_depth)
    except yaml_subset.YamlError as err:
        info.warnings.append(f"{name} not read: {err}")
        return None


def _requirements(text: str, limits: Limits) -> list[str]:
    lines: list[str] = []
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].strip()
        if line and not line.startswith("#"):
            lines.append(line[:512])
        if len(lines) >= limits.max_text_items:
            break
    return lines
