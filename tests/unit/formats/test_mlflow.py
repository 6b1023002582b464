"""MLflow folders: MLmodel flavors, signature and run id; environment from its files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from studbook.daemon.domain.model import TensorSpec
from studbook.daemon.formats import FormatError, Limits, inspect_folder

from .builders import write_files

# As MLflow writes it: PyYAML folds the long signature string over two lines.
MLMODEL = """artifact_path: model
flavors:
  python_function:
    env:
      conda: conda.yaml
      virtualenv: python_env.yaml
    loader_module: mlflow.sklearn
    model_path: model.pkl
    predict_fn: predict
    python_version: 3.11.7
  sklearn:
    code: null
    pickled_model: model.pkl
    serialization_format: cloudpickle
    sklearn_version: 1.5.0
mlflow_version: 2.14.1
model_size_bytes: 1234
model_uuid: 4f1c2d
run_id: 8f3a9c0e4b
signature:
  inputs: '[{"type": "double", "name": "sepal length (cm)", "required": true}, {"type":
    "long", "name": "count", "required": false}]'
  outputs: '[{"type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1]}}]'
  params: null
utc_time_created: '2024-06-01 12:00:00.000000'
"""
CONDA = """channels:
- conda-forge
dependencies:
- python=3.11.7
- pip<=24.0
- pip:
  - mlflow==2.14.1
  - scikit-learn==1.5.0
name: mlflow-env
"""
PYTHON_ENV = """python: 3.11.7
build_dependencies:
- pip==24.0
dependencies:
- -r requirements.txt
"""
REQUIREMENTS = "mlflow==2.14.1\ncloudpickle==3.0.0\nscikit-learn==1.5.0  # pinned\n\n# a comment\nnumpy>=1.26\n"


def mlflow_folder(root: Path, prefix: str = "", **extra: str | bytes) -> list[Path]:
    files: dict[str, str | bytes] = {
        f"{prefix}MLmodel": MLMODEL,
        f"{prefix}conda.yaml": CONDA,
        f"{prefix}python_env.yaml": PYTHON_ENV,
        f"{prefix}requirements.txt": REQUIREMENTS,
        f"{prefix}model.pkl": b"\x80\x04N.",
    }
    files.update(extra)
    return write_files(root, files)


def test_mlmodel_gives_run_signature_flavors_and_environment(tmp_path: Path) -> None:
    files = mlflow_folder(tmp_path)

    info = inspect_folder(tmp_path, files)

    assert info.kind == "mlflow"
    assert info.run_id == "8f3a9c0e4b"
    assert info.signature is not None
    assert info.signature.inputs == (
        TensorSpec("sepal length (cm)", "float64", (-1,)),
        TensorSpec("count", "int64", (-1,), optional=True),
    )
    assert info.signature.outputs == (TensorSpec("0", "int64", (-1,)),)
    assert info.environment.python_version == "3.11.7"
    assert info.environment.requirements == [
        "mlflow==2.14.1",
        "cloudpickle==3.0.0",
        "scikit-learn==1.5.0",
        "numpy>=1.26",
    ]
    assert info.environment.packages == {"scikit-learn": "1.5.0", "mlflow": "2.14.1", "cloudpickle": "3.0.0"}
    assert set(info.metadata["flavors"]) == {"python_function", "sklearn"}
    assert info.metadata["flavors"]["sklearn"]["serialization_format"] == "cloudpickle"
    assert info.metadata["mlflow_version"] == "2.14.1"
    assert info.flags == ()
    json.dumps(info.metadata)


def test_conda_pip_list_is_used_without_requirements_txt(tmp_path: Path) -> None:
    files = [f for f in mlflow_folder(tmp_path) if f.name != "requirements.txt"]

    info = inspect_folder(tmp_path, files)

    assert info.environment.requirements == ["mlflow==2.14.1", "scikit-learn==1.5.0"]
    assert info.environment.python_version == "3.11.7"


def test_mlmodel_in_a_subfolder_is_found(tmp_path: Path) -> None:
    files = mlflow_folder(tmp_path, prefix="artifacts/model/")

    info = inspect_folder(tmp_path, files)

    assert (info.kind, info.run_id) == ("mlflow", "8f3a9c0e4b")
    assert info.environment.python_version == "3.11.7"


def test_a_custom_pyfunc_with_code_is_remote_code(tmp_path: Path) -> None:
    custom = MLMODEL.replace("loader_module: mlflow.sklearn", "loader_module: my_loader\n    code: code")
    files = mlflow_folder(tmp_path, MLmodel=custom, **{"code/my_loader.py": "def _load_pyfunc(p): ...\n"})

    info = inspect_folder(tmp_path, files)

    assert info.flags == ("remote-code:code/my_loader.py",)
    assert info.metadata["code_files"] == ["code/my_loader.py"]


def test_a_bad_signature_string_is_a_warning(tmp_path: Path) -> None:
    broken = MLMODEL.replace('outputs: \'[{"type": "tensor"', "outputs: '[{broken")
    files = mlflow_folder(tmp_path, MLmodel=broken)

    info = inspect_folder(tmp_path, files)

    assert info.signature is not None and info.signature.outputs == ()
    assert any("signature outputs" in w for w in info.metadata["warnings"])


@pytest.mark.parametrize("text", ["flavors: [unclosed\n", "- just\n- a list\n", "a: *alias\n"])
def test_an_unreadable_mlmodel_is_refused(tmp_path: Path, text: str) -> None:
    files = write_files(tmp_path, {"MLmodel": text})

    with pytest.raises(FormatError) as caught:
        inspect_folder(tmp_path, files)

    assert caught.value.reason == "BAD_MLMODEL"


def test_an_oversized_mlmodel_is_refused(tmp_path: Path) -> None:
    files = mlflow_folder(tmp_path)

    with pytest.raises(FormatError) as caught:
        inspect_folder(tmp_path, files, Limits(max_text_bytes=100))

    assert caught.value.reason == "FILE_TOO_LARGE"


def test_env_files_named_outside_the_folder_are_ignored(tmp_path: Path) -> None:
    hostile = MLMODEL.replace("conda: conda.yaml", "conda: ../../etc/conda.yaml")
    files = mlflow_folder(tmp_path, MLmodel=hostile)

    info = inspect_folder(tmp_path, files)

    assert info.environment.python_version == "3.11.7"
