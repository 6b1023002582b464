"""Finding snapshots in a Hugging Face cache on disk, and naming their models, without a daemon."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from studbook.client import hf_cache
from studbook.client.errors import StudbookError
from studbook.daemon.domain.names import MODEL_ID
from studbook.daemon.formats import huggingface
from support.hf_cache import add_snapshot

FILES = {"config.json": b"{}", "model.safetensors": b"\0" * 8}


@given(st.text(max_size=120))
def test_the_client_and_the_daemon_name_a_hub_repository_alike_and_validly(repo_id: str) -> None:
    name = hf_cache.model_id_for(repo_id)

    assert name == huggingface.model_id_for(repo_id)
    assert name == "" or MODEL_ID.fullmatch(name)


def test_hub_ids_take_the_caches_spelling() -> None:
    assert hf_cache.model_id_for("Qwen/Qwen2.5-0.5B-Instruct") == "qwen--qwen2.5-0.5b-instruct"
    assert hf_cache.model_id_for("gpt2") == "gpt2"
    assert hf_cache.repo_id_of("models--Qwen--Qwen2.5-0.5B") == "Qwen/Qwen2.5-0.5B"


def test_a_cache_root_yields_each_model_at_main_and_passes_over_the_rest(tmp_path: Path) -> None:
    add_snapshot(tmp_path, "org/old", FILES, ref=None)
    main = add_snapshot(tmp_path, "org/old", {**FILES, "README.md": b"# new"})
    (tmp_path / "models--org--empty" / "snapshots").mkdir(parents=True)
    (tmp_path / "datasets--org--data").mkdir()

    found = hf_cache.find(tmp_path)

    assert [(s.model, s.repo_id, s.revision) for s in found.snapshots] == [("org--old", "org/old", main.name)]
    assert [name for name, _ in found.skipped] == ["models--org--empty", "datasets--org--data"]


def test_a_cache_of_datasets_only_has_nothing_to_import(tmp_path: Path) -> None:
    (tmp_path / "datasets--org--data" / "snapshots").mkdir(parents=True)

    found = hf_cache.find(tmp_path)

    assert found.snapshots == [] and found.skipped == [("datasets--org--data", "not a model repository")]


def test_a_ref_that_holds_no_commit_is_refused(tmp_path: Path) -> None:
    add_snapshot(tmp_path, "org/m", FILES)
    (tmp_path / "models--org--m" / "refs" / "main").write_text("../../../../etc/passwd")

    with pytest.raises(StudbookError) as refused:
        hf_cache.find(tmp_path / "models--org--m")

    assert refused.value.reason == "BAD_REF"


@pytest.mark.parametrize("revision", ["../../../etc", "/etc/passwd", "refs/../../blobs", "nope"])
def test_a_revision_that_names_no_snapshot_is_not_found(tmp_path: Path, revision: str) -> None:
    add_snapshot(tmp_path, "org/m", FILES)

    with pytest.raises(StudbookError) as refused:
        hf_cache.find(tmp_path / "models--org--m", revision=revision)

    assert refused.value.reason == "REVISION_NOT_FOUND"


def test_a_plain_folder_keeps_links_inside_it_and_refuses_links_out(tmp_path: Path) -> None:
    folder = tmp_path / "My Model"
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(b"\0" * 8)
    (folder / "alias.safetensors").symlink_to("model.safetensors")
    (folder / ".cache").mkdir()
    (folder / ".cache" / "download.lock").write_text("")
    snapshot = hf_cache.find(folder).snapshots[0]

    listed = hf_cache.files(snapshot)
    (folder / "escape.txt").symlink_to(tmp_path / "elsewhere.txt")
    (tmp_path / "elsewhere.txt").write_text("x")

    assert snapshot.model == "my-model" and snapshot.source == str(folder)
    assert [f.rel for f in listed] == ["alias.safetensors", "model.safetensors"]
    with pytest.raises(StudbookError) as refused:
        hf_cache.files(snapshot)
    assert refused.value.reason == "PATH_OUTSIDE"


def test_the_request_id_follows_the_revision_and_the_model(tmp_path: Path) -> None:
    snapshot = add_snapshot(tmp_path, "org/m", FILES)
    found = hf_cache.find(snapshot).snapshots[0]
    renamed = hf_cache.find(snapshot, model="other").snapshots[0]

    assert hf_cache.request_id(found, []) == hf_cache.request_id(found, hf_cache.files(found))
    assert hf_cache.request_id(found, []) != hf_cache.request_id(renamed, [])
