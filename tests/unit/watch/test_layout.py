"""Drop-in layout: ignored names, unit keys and version folder numbers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from studbook.daemon.domain.errors import InvalidArgument
from studbook.daemon.watch.layout import (
    MANIFEST,
    UnitKey,
    is_artifact_path,
    is_ignored,
    is_sidecar_name,
    is_speakable,
    is_speakable_name,
    key_for,
    sidecars,
    version_number,
)

ROOT = "/data/drops"
names = st.text(st.characters(blacklist_characters="/\x00", blacklist_categories=("Cs",)), min_size=1, max_size=20)


@pytest.mark.parametrize("name", [
    ".staging", ".DS_Store", ".model.bin.swp", ".#model.bin", ".model.bin.Xy12Ab", "model.bin.tmp", "model.bin~",
    "weights.part", "weights.crdownload", "#notes#", "~$card.docx", "4913", "model.swx",
])  # fmt: skip
def test_temporary_and_hidden_names_are_ignored(name):
    assert is_ignored(name)
    assert is_ignored(f"sub/{name}/x.bin")
    assert not is_artifact_path(name)


@pytest.mark.parametrize("name", ["model.safetensors", "config.json", "README.md", "tmp", "v2", "weights.temporal"])
def test_ordinary_names_are_kept(name):
    assert not is_ignored(name)
    assert is_artifact_path(f"sub/{name}")


def test_the_manifest_is_not_part_of_the_artifact_but_a_nested_namesake_is():
    assert not is_artifact_path(MANIFEST)
    assert is_artifact_path(f"extra/{MANIFEST}")


def test_a_path_maps_to_its_unit_two_levels_below_the_root():
    assert key_for(ROOT, f"{ROOT}/fraud/3/weights/model.bin") == UnitKey(ROOT, "fraud/3")
    assert key_for(ROOT, f"{ROOT}/fraud/model.onnx") == UnitKey(ROOT, "fraud/model.onnx")
    assert key_for(ROOT, f"{ROOT}/fraud") == UnitKey(ROOT, "fraud")


@pytest.mark.parametrize("path", [ROOT, "/data/dropsX/fraud/1", "/elsewhere/fraud/1", f"{ROOT}/.staging/fraud/1",
                                  f"{ROOT}/fraud/.incoming/model.bin", f"{ROOT}/fraud/model.bin.tmp"])  # fmt: skip
def test_the_root_outside_paths_and_ignored_units_have_no_key(path):
    assert key_for(ROOT, path) is None


@pytest.mark.parametrize("name", ["dvc.lock", "model.safetensors.dvc", "data.dvc"])
def test_dvc_files_in_a_model_folder_are_no_units_but_are_read_beside_a_dropped_file(name):
    assert is_sidecar_name(name)
    assert key_for(ROOT, f"{ROOT}/fraud/{name}") is None
    assert key_for(ROOT, f"{ROOT}/fraud/3/{name}") == UnitKey(ROOT, "fraud/3")  # part of a version folder
    assert is_artifact_path(name)
    assert sidecars(f"{ROOT}/fraud/model.pkl") == [f"{ROOT}/fraud/model.pkl.dvc", f"{ROOT}/fraud/dvc.lock"]


@pytest.mark.parametrize("name", [".dvc", "dvc.lock.bak", "model.dvcx"])
def test_names_only_like_dvc_files_are_units(name):
    assert not is_sidecar_name(name)


@given(model=names, entry=st.one_of(names, names.map(lambda n: n + ".dvc")), rest=st.lists(names, max_size=3))
def test_every_path_below_a_unit_has_that_units_key(model, entry, rest):
    key = key_for(ROOT, "/".join([ROOT, model, entry, *rest]))

    if is_ignored(model):
        assert key is None
    elif not is_speakable_name(model):
        assert key == UnitKey(ROOT, model)  # the whole model folder is one drop
    elif is_ignored(entry) or (not rest and is_sidecar_name(entry)):
        assert key is None
    else:
        assert key == UnitKey(ROOT, f"{model}/{entry}")
        assert (key.model, key.entry) == (model, entry)
        assert key.path == "/".join([ROOT, model, entry])


@pytest.mark.parametrize("name", ["bad\udcffbytes", "tab\there", "bell\x07"])
def test_names_that_cannot_be_stored_as_text_are_keyed_to_be_reported(name):
    assert key_for(ROOT, f"{ROOT}/{name}/1/w.bin") == UnitKey(ROOT, name)
    assert key_for(ROOT, f"{ROOT}/fraud/{name}/w.bin") == UnitKey(ROOT, f"fraud/{name}")
    assert not is_speakable(f"fraud/{name}") and is_speakable("fraud/1")


def test_integer_folders_carry_their_number_and_other_units_take_the_next():
    assert version_number("12", is_folder=True) == 12
    assert version_number("best", is_folder=True) is None
    assert version_number("12", is_folder=False) is None  # a file named 12 is a single-file model
    assert version_number("١٢", is_folder=True) is None  # non-ASCII digits are just a name


@pytest.mark.parametrize("entry", ["0", "007", "9" * 30])
def test_non_canonical_version_folders_are_refused(entry):
    with pytest.raises(InvalidArgument) as caught:
        version_number(entry, is_folder=True)

    assert caught.value.reason == "INVALID_VERSION_FOLDER"


@given(st.integers(min_value=1, max_value=2**62))
def test_every_canonical_number_reads_back(number):
    assert version_number(str(number), is_folder=True) == number
