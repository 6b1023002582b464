"""Environment capture: Python, platform and ML package versions without importing them; git state."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from studbook.client.environment import ML_PACKAGES, capture_environment, git_state, package_versions


def git(repo: Path, *args: str) -> str:
    # An isolated identity: the test never depends on, or writes to, the user's git config.
    env = {
        **os.environ,
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Test",
        "GIT_AUTHOR_EMAIL": "test@example.invalid",
        "GIT_COMMITTER_NAME": "Test",
        "GIT_COMMITTER_EMAIL": "test@example.invalid",
    }
    done = subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True)
    return done.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git repository with one commit and a clean working tree."""
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    root = tmp_path / "project"
    root.mkdir()
    git(root, "init", "--quiet")
    (root / "train.py").write_text("print('training')\n")
    git(root, "add", "train.py")
    git(root, "commit", "--quiet", "-m", "first")
    return root


def test_capture_environment_reports_this_interpreter_and_platform() -> None:
    environment = capture_environment()

    assert environment.python_version == platform.python_version()
    assert environment.platform == platform.platform()


def test_package_versions_match_installed_distributions_and_skip_absent_ones() -> None:
    names = ("protobuf", "grpcio", "surely-not-an-installed-distribution")

    versions = package_versions(names)

    assert versions == {"protobuf": metadata.version("protobuf"), "grpcio": metadata.version("grpcio")}


def test_the_default_package_list_covers_the_common_frameworks() -> None:
    expected = {"torch", "tensorflow", "keras", "jax", "scikit-learn", "xgboost", "lightgbm", "catboost"}
    expected |= {"numpy", "pandas", "scipy", "transformers", "onnx", "onnxruntime", "safetensors"}

    assert expected <= set(ML_PACKAGES)


def test_capture_environment_never_imports_the_frameworks() -> None:
    # A fresh interpreter: frameworks imported by this test session must not hide an import.
    code = (
        "import json, sys\n"
        "from studbook.client.environment import ML_PACKAGES, capture_environment\n"
        "capture_environment()\n"
        "top = {name.split('.')[0] for name in sys.modules}\n"
        "modules = {'scikit-learn': 'sklearn', 'pytorch-lightning': 'pytorch_lightning'}\n"
        "print(json.dumps(sorted(p for p in ML_PACKAGES if modules.get(p, p).replace('-', '_') in top)))\n"
    )

    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert json.loads(done.stdout) == []


def test_git_state_of_a_clean_checkout_is_its_head_and_not_dirty(repo: Path) -> None:
    head = git(repo, "rev-parse", "HEAD")

    assert git_state(repo) == (head, False)


def test_git_state_is_dirty_after_editing_a_tracked_file(repo: Path) -> None:
    (repo / "train.py").write_text("print('training harder')\n")

    commit, dirty = git_state(repo)

    assert commit == git(repo, "rev-parse", "HEAD")
    assert dirty is True


def test_git_state_counts_an_untracked_file_as_dirty(repo: Path) -> None:
    (repo / "new_features.py").write_text("x = 1\n")

    assert git_state(repo)[1] is True


def test_git_state_from_a_subfolder_reports_the_repository(repo: Path) -> None:
    sub = repo / "src"
    sub.mkdir()

    assert git_state(sub) == (git(repo, "rev-parse", "HEAD"), False)


def test_git_state_outside_a_repository_is_empty(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))

    assert git_state(tmp_path) == ("", False)


def test_git_state_of_a_repository_without_commits_is_empty(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    git(tmp_path, "init", "--quiet")
    (tmp_path / "train.py").write_text("x = 1\n")

    assert git_state(tmp_path) == ("", False)


def test_git_state_without_git_installed_is_empty(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(repo / "no-binaries-here"))

    assert git_state(repo) == ("", False)


def test_git_state_of_a_missing_folder_is_empty(tmp_path: Path) -> None:
    assert git_state(tmp_path / "gone") == ("", False)
