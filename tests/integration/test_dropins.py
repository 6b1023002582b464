"""Drop-in folders against a real daemon and a real watchdog observer on temporary folders.

Every test drops into its own model folder of one shared root; what it waits for it polls
through the gRPC API with a deadline. The quiet interval is short (0.3 s) to keep it fast.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from conftest import Daemon, start_daemon, stop_daemon
from grpc_health.v1 import health_pb2, health_pb2_grpc
from studbook.v1 import (
    artifacts_pb2,
    artifacts_pb2_grpc,
    drops_pb2,
    drops_pb2_grpc,
    events_pb2,
    registry_pb2,
    resources_pb2,
)
from support import rpc
from support.files import random_weights
from support.models import fixture
from support.rpc import Stubs, logged_events, stubs, version_or_none
from support.waiting import wait_for

QUIET = 0.3
DEADLINE = 20.0
# Model folders that exist before the daemon starts, so their watches are in place when a
# test renames a unit into them (a folder made a moment before the rename races its watch).
PREMADE = ("renamed", "busy", "manifested", "moved", "copied")


@dataclass
class Watched:
    root: Path
    staging: Path
    daemon: Daemon
    api: Stubs
    drops: drops_pb2_grpc.DropServiceStub
    in_place: Path
    """A root whose drops are referenced where they lie, not kept."""


def daemon_args(root: Path, base: Path, *extra: str) -> tuple[str, ...]:
    return ("--watch", str(root), "--quiet-seconds", str(QUIET), "--config", str(base / "none.toml"), *extra)


@pytest.fixture(scope="module")
def watched() -> Iterator[Watched]:
    base = Path(tempfile.mkdtemp(prefix="sb-"))
    root, in_place = base / "drops", base / "in-place"
    for model in PREMADE:
        (root / model).mkdir(parents=True)
        (in_place / model).mkdir(parents=True)
    (root / ".staging").mkdir()
    daemon = start_daemon(base / "data", base / "s.sock", *daemon_args(root, base, "--watch-in-place", str(in_place)))
    channel = daemon.channel()
    try:
        yield Watched(root, root / ".staging", daemon, stubs(channel), drops_pb2_grpc.DropServiceStub(channel),
                      in_place)  # fmt: skip
    finally:
        channel.close()
        stop_daemon(daemon)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def model(watched: Watched) -> str:
    name = f"m-{uuid.uuid4().hex[:8]}"
    return name


# -- helpers ---------------------------------------------------------------------------


def version(w: Watched, model: str, number: int | str) -> resources_pb2.ModelVersion | None:
    return version_or_none(w.api, model, number)


def versions_of(w: Watched, model: str) -> list[resources_pb2.ModelVersion]:
    try:
        reply = w.api.versions.ListModelVersions(registry_pb2.ListModelVersionsRequest(parent=f"models/{model}"))
    except grpc.RpcError as error:
        if error.code() == grpc.StatusCode.NOT_FOUND:
            return []
        raise
    return list(reply.versions)


def drop_at(w: Watched, path: Path) -> drops_pb2.Drop | None:
    return rpc.drop_at(w.drops, path)


def registered(drop: drops_pb2.Drop | None) -> drops_pb2.Drop | None:
    return drop if drop is not None and drop.state == drops_pb2.DROP_STATE_REGISTERED else None


def quarantined(w: Watched, path: Path) -> drops_pb2.Drop | None:
    return rpc.quarantined_at(w.drops, path)


def events_of(w: Watched, model: str, kind: str = "version.created") -> list[events_pb2.Event]:
    return logged_events(w.api, model, kind)


def write_unit(folder: Path, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)


def staged(w: Watched, files: dict[str, bytes]) -> Path:
    folder = w.staging / uuid.uuid4().hex
    write_unit(folder, files)
    return folder


def manifest_for(folder: Path, names: list[str], **fields: object) -> bytes:
    listed = [{"path": n, "size": (folder / n).stat().st_size, "sha256": hashlib.sha256((folder / n).read_bytes()).hexdigest()}
              for n in names]  # fmt: skip
    return json.dumps({**fields, "files": listed}, indent=2).encode()


class Busy:
    """Keeps rewriting an ignored temporary file inside a unit, so it is never quiet."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / ".scratch.tmp"
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        count = 0
        while not self.stopped.wait(QUIET / 6):
            count += 1
            try:
                self.path.write_bytes(str(count).encode())
            except FileNotFoundError:
                pass

    def __enter__(self) -> Busy:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_bytes(b"0")
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self.thread.join()


# -- completeness ------------------------------------------------------------------------


def test_a_folder_renamed_into_place_registers_once_with_its_files(watched):
    folder = staged(watched, {"model.bin": b"w" * 5000, "sub/config.json": b"{}"})

    os.rename(folder, watched.root / "renamed" / "1")
    found = wait_for(lambda: version(watched, "renamed", 1), "version 1")

    assert [(f.path, f.size) for f in found.files] == [("model.bin", 5000), ("sub/config.json", 2)]
    assert found.storage_uri == (watched.root / "renamed" / "1").as_uri()
    assert found.created_by == "drop-in"
    assert len(events_of(watched, "renamed")) == 1
    # A late event of the rename may have the folder looked at once more (same files, same
    # version); the drop settles on the version it registered.
    drop = wait_for(lambda: registered(drop_at(watched, watched.root / "renamed" / "1")), "the drop registered")
    assert drop.version == "models/renamed/versions/1"
    assert len(events_of(watched, "renamed")) == 1


def test_a_rename_completes_a_unit_however_busy_it_stays(watched):
    folder = staged(watched, {"model.bin": b"a" * 100})
    with Busy(folder):
        os.rename(folder, watched.root / "busy" / "4")

        found = wait_for(lambda: version(watched, "busy", 4), "version 4 while the folder stays busy")

    assert [f.path for f in found.files] == ["model.bin"]  # the scratch file is not part of it


def test_a_folder_that_never_goes_quiet_is_not_registered(watched, model):
    unit = watched.root / model / "best"
    write_unit(unit, {"model.bin": b"a" * 100})
    with Busy(unit):
        # A second unit of the same model, written once, registers meanwhile: proof of life.
        write_unit(watched.root / model / "other", {"model.bin": b"b" * 100})
        wait_for(lambda: versions_of(watched, model), "the quiet unit")
        time.sleep(4 * QUIET)  # the busy unit had time to go quiet had it been
        pending = drop_at(watched, unit)

    assert [v.files[0].sha256 for v in versions_of(watched, model)] == [hashlib.sha256(b"b" * 100).hexdigest()]
    assert pending is not None and pending.state == drops_pb2.DROP_STATE_PENDING
    assert pending.reason == "WAITING_FOR_QUIET"


def test_a_slow_multi_second_copy_registers_once_and_whole(watched, model):
    unit = watched.root / model / "1"
    unit.mkdir(parents=True)
    chunk = random_weights(64 * 1024)
    with open(unit / "weights.bin", "wb") as handle:
        for _ in range(20):  # about 2 s, each pause shorter than the quiet interval
            handle.write(chunk)
            handle.flush()
            time.sleep(QUIET / 3)

    found = wait_for(lambda: version(watched, model, 1), "version 1")

    assert found.files[0].size == 20 * len(chunk)
    assert [e.version.files[0].size for e in events_of(watched, model)] == [20 * len(chunk)]


def test_mkdir_p_then_an_immediate_write_registers_the_deep_file(watched, model):
    deep = watched.root / model / "7" / "a" / "b" / "c"
    os.makedirs(deep)
    (deep / "w.bin").write_bytes(b"deep")

    found = wait_for(lambda: version(watched, model, 7), "version 7")

    assert [f.path for f in found.files] == ["a/b/c/w.bin"]


def test_cp_r_of_thousands_of_small_files_registers_one_version_with_all_of_them(watched, tmp_path):
    source = tmp_path / "many"
    write_unit(source, {f"shard-{i // 100:02d}/part-{i:05d}.bin": f"{i}".encode() for i in range(3000)})

    shutil.copytree(source, watched.root / "copied" / "bulk")
    found = wait_for(lambda: version(watched, "copied", 1), "the copied version")

    assert len(found.files) == 3000
    assert len(events_of(watched, "copied")) == 1


def test_a_temp_then_rename_writer_registers_the_single_file_with_its_format(watched, model):
    (watched.root / model).mkdir()
    temporary = watched.root / model / ".model.safetensors.tmp"
    # safetensors.numpy.save_file({"w": zeros((4, 8), float32)}), written as a writer would.
    temporary.write_bytes(fixture("safetensors/single.safetensors").read_bytes())
    os.rename(temporary, watched.root / model / "model.safetensors")

    found = wait_for(lambda: version(watched, model, 1), "version 1")

    assert [(f.path, f.format) for f in found.files] == [("model.safetensors", "safetensors")]
    assert "format.parameters" not in found.tags
    assert found.format_info.parameters == 32 and list(found.format_info.dtypes) == ["F32"]
    assert found.files[0].format_info.tensors[0].name == "w"


def test_repeated_and_coalesced_events_register_once(watched, model):
    unit = watched.root / model / "3"
    unit.mkdir(parents=True)
    for _ in range(30):
        (unit / "model.bin").write_bytes(b"same bytes")
        os.utime(unit / "model.bin")
    os.rename(unit, watched.root / model / "4")
    os.rename(watched.root / model / "4", unit)

    # Usually both renames land before the watcher looks, and the folder registers as version 3.
    # On a busy machine it may look while the folder is at 4 (renamed into place: complete) and
    # register version 4, which the rename back then moves to 3; and the place the folder left
    # is given up only once the quiet interval has passed. Either way: one drop, one version.
    def settled() -> list[tuple[str, int]] | None:
        drops = watched.drops.ListDrops(drops_pb2.ListDropsRequest(model=model)).drops
        listed = [(d.path, d.state) for d in drops]
        return listed if listed == [(str(unit), drops_pb2.DROP_STATE_REGISTERED)] else None

    wait_for(settled, "one registered drop, where the folder is")
    assert len(events_of(watched, model)) == 1
    assert len(versions_of(watched, model)) == 1


def test_files_created_then_deleted_before_the_quiet_interval_leave_nothing(watched, model):
    fleeting = watched.root / model / "fleeting"
    write_unit(fleeting, {"model.bin": b"gone soon"})
    shutil.rmtree(fleeting)
    write_unit(watched.root / model / "kept", {"model.bin": b"stays"})

    wait_for(lambda: version(watched, model, 1), "the kept unit")
    time.sleep(2 * QUIET)

    assert [v.files[0].sha256 for v in versions_of(watched, model)] == [hashlib.sha256(b"stays").hexdigest()]
    assert drop_at(watched, fleeting) is None


# -- manifests -------------------------------------------------------------------------


def test_a_manifest_that_verifies_completes_a_busy_folder_and_carries_metadata(watched):
    unit = watched.root / "manifested" / "2"
    write_unit(unit, {"model.bin": b"m" * 1000, "README.md": b"# Card from README\n"})
    with Busy(unit):
        body = manifest_for(unit, ["model.bin"], description="March retrain", tags={"team": "risk"},
                            metrics={"auc": 0.93}, params={"lr": 0.01}, semver="3.1.0", change_kind="data",
                            datasets=[{"name": "tx", "version": "2026-03"}], run={"run_id": "r-42"})  # fmt: skip
        (unit / "studbook.json").write_bytes(body)

        found = wait_for(lambda: version(watched, "manifested", 2), "version 2")

    assert found.description == "March retrain" and found.semver == "3.1.0"
    assert found.tags["team"] == "risk" and found.params["lr"] == "0.01"
    assert [(m.key, m.value) for m in found.metrics] == [("auc", 0.93)]
    assert [(d.name, d.version) for d in found.datasets] == [("tx", "2026-03")] and found.run.run_id == "r-42"
    assert found.model_card.startswith("# Card from README")
    assert sorted(f.path for f in found.files) == ["README.md", "model.bin"]  # never the manifest


def test_a_manifest_carries_the_environment_and_training_config_into_the_version(watched, model):
    unit = watched.root / model / "1"
    write_unit(unit, {"model.bin": b"e" * 100})
    body = manifest_for(unit, ["model.bin"],
                        environment={"python_version": "3.12.3", "platform": "Linux-6.8-x86_64",
                                     "packages": {"torch": "2.3.0"}, "requirements": ["torch==2.3.0"]},
                        training={"seed": 7, "data_versions": {"tx": "2026-03"}, "code_commit": "abc123",
                                  "code_dirty": True, "entry_point": "train.py"})  # fmt: skip
    (unit / "studbook.json").write_bytes(body)

    found = wait_for(lambda: version(watched, model, 1), "version 1")

    assert found.environment == resources_pb2.Environment(
        python_version="3.12.3", platform="Linux-6.8-x86_64", packages={"torch": "2.3.0"}, requirements=["torch==2.3.0"]
    )
    assert found.training == resources_pb2.TrainingConfig(seed=7, data_versions={"tx": "2026-03"}, code_commit="abc123",
                                                          code_dirty=True, entry_point="train.py")  # fmt: skip


def test_a_wrong_type_in_the_manifests_packages_quarantines_the_drop_naming_the_field(watched, model):
    unit = watched.root / model / "1"
    write_unit(unit, {"model.bin": b"p" * 10})
    (unit / "studbook.json").write_text('{\n  "environment": {\n    "packages": {"torch": 2.3}\n  }\n}\n')

    drop = wait_for(lambda: quarantined(watched, unit), "the quarantine")

    assert drop.reason == "INVALID_MANIFEST" and "must be a string" in drop.message
    assert (drop.details["line"], drop.details["field"]) == ("3", "environment.packages.torch")
    assert versions_of(watched, model) == []


def test_a_manifests_reference_statistics_become_the_versions_drift_reference(watched, model):
    from studbook.client import Client

    reference = {"features": [{"feature": "age", "edges": [0, 18, 120], "counts": [30, 70]},
                              {"feature": "country", "categories": {"de": 12, "fr": 8}}]}  # fmt: skip
    unit = watched.root / model / "1"
    write_unit(unit, {"model.bin": b"r" * 10})
    (unit / "studbook.json").write_bytes(manifest_for(unit, ["model.bin"], reference_statistics=reference))
    wait_for(lambda: version(watched, model, 1), "version 1")

    with Client(watched.daemon.address) as client:
        client.promote(f"{model}@1", "production")
        drift = client.log_input_statistics(model, "production", {"age": {"edges": [0, 18, 120], "counts": [70, 30]}})
    assert not drift.features[0].no_reference and drift.features[0].ks == pytest.approx(0.4)


def test_invalid_reference_statistics_quarantine_the_drop_naming_the_field(watched, model):
    unit = watched.root / model / "1"
    write_unit(unit, {"model.bin": b"s" * 10})
    broken = {"features": [{"feature": "age", "edges": [0, 18, 120], "counts": [1]}]}
    (unit / "studbook.json").write_bytes(manifest_for(unit, ["model.bin"], reference_statistics=broken))

    drop = wait_for(lambda: quarantined(watched, unit), "the quarantine")

    assert drop.reason == "INVALID_MANIFEST" and "counts" in drop.message
    assert drop.details["field"] == "reference_statistics.features[0]"
    assert versions_of(watched, model) == []


@pytest.mark.parametrize("problem, reason", [("missing", "MANIFEST_FILE_MISSING"), ("truncated", "MANIFEST_SIZE_MISMATCH"),
                                             ("corrupt", "MANIFEST_SHA256_MISMATCH")])  # fmt: skip
def test_a_manifest_listing_a_missing_or_truncated_file_is_quarantined_never_registered(
    watched, model, problem, reason
):
    unit = watched.root / model / "1"
    write_unit(unit, {"a.bin": b"a" * 100, "b.bin": b"b" * 100})
    body = manifest_for(unit, ["a.bin", "b.bin"])
    if problem == "missing":
        (unit / "b.bin").unlink()
    elif problem == "truncated":
        (unit / "b.bin").write_bytes(b"b" * 50)
    else:
        (unit / "b.bin").write_bytes(b"c" * 100)
    (unit / "studbook.json").write_bytes(body)

    drop = wait_for(lambda: quarantined(watched, unit), "the quarantine")

    assert drop.reason == reason and "b.bin" in drop.message
    assert versions_of(watched, model) == []


def test_an_invalid_manifest_is_quarantined_with_line_and_field_then_an_editor_save_fixes_it(watched, model):
    unit = watched.root / model / "1"
    write_unit(unit, {"model.bin": b"x" * 10})
    (unit / "studbook.json").write_text('{\n  "description": "first try",\n  "metrics": {"auc": "high"}\n}\n')

    drop = wait_for(lambda: quarantined(watched, unit), "the quarantine")
    assert drop.reason == "INVALID_MANIFEST"
    assert (drop.details["line"], drop.details["field"]) == ("3", "metrics.auc")
    assert wait_for(lambda: watched.drops.ListQuarantinedDrops(
        drops_pb2.ListQuarantinedDropsRequest(model=model)).drops, "the quarantine list")[0].path == str(unit)  # fmt: skip

    # An editor's atomic save: a swap file, the new text written aside, then renamed over.
    (unit / ".studbook.json.swp").write_bytes(b"swap")
    (unit / "4913").write_bytes(b"")
    (unit / "4913").unlink()
    (unit / "studbook.json~").write_bytes((unit / "studbook.json").read_bytes())
    (unit / "studbook.json.tmp").write_text('{"description": "fixed", "metrics": {"auc": 0.9}}')
    os.rename(unit / "studbook.json.tmp", unit / "studbook.json")
    (unit / ".studbook.json.swp").unlink()

    found = wait_for(lambda: version(watched, model, 1), "version 1 after the fix")
    assert found.description == "fixed" and [f.path for f in found.files] == ["model.bin"]
    assert wait_for(lambda: (d := drop_at(watched, unit)) and d.state == drops_pb2.DROP_STATE_REGISTERED, "release")
    assert [e.subject for e in events_of(watched, model, "drop.*")] == [drop.name, drop.name]


def test_a_parent_that_does_not_exist_yet_is_quarantined_and_retried_on_request(watched, model):
    unit = watched.root / model / "1"
    write_unit(unit, {"model.bin": b"child"})
    (unit / "studbook.json").write_text(json.dumps({"parents": [{"version": f"models/{model}-base/versions/1",
                                                                   "relation": "fine_tuned_from"}]}))  # fmt: skip
    drop = wait_for(lambda: quarantined(watched, unit), "the quarantine")
    assert drop.reason == "PARENT_NOT_FOUND" and drop.details["field"] == "parents"

    watched.api.versions.RegisterModelVersion(registry_pb2.RegisterModelVersionRequest(
        parent=f"models/{model}-base", version=resources_pb2.ModelVersion(storage_uri="s3://b/base")))  # fmt: skip
    retried = watched.drops.RetryDrop(drops_pb2.RetryDropRequest(name=drop.name))

    found = wait_for(lambda: version(watched, model, 1), "version 1 after the retry")
    assert retried.path == str(unit)
    assert [(p.version, p.relation) for p in found.parents] == [(f"models/{model}-base/versions/1",
                                                                  resources_pb2.PARENT_RELATION_FINE_TUNED_FROM)]  # fmt: skip


def test_retrying_an_unknown_drop_is_not_found(watched):
    with pytest.raises(grpc.RpcError) as caught:
        watched.drops.RetryDrop(drops_pb2.RetryDropRequest(name="drops/nothing"))

    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


# -- refusals ----------------------------------------------------------------------------


def test_a_symlink_escaping_the_root_is_quarantined(watched, model, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("not yours")
    inside = watched.root / model / "1"
    write_unit(inside, {"model.bin": b"x"})
    os.symlink(secret, inside / "leak.txt")
    os.symlink(tmp_path, watched.root / model / "2")

    first = wait_for(lambda: quarantined(watched, inside), "the link inside a unit")
    second = wait_for(lambda: quarantined(watched, watched.root / model / "2"), "the unit that is a link")

    assert first.reason == "SYMLINK_ESCAPE" and second.reason == "SYMLINK_ESCAPE"
    assert versions_of(watched, model) == []


def test_a_symlink_loop_is_quarantined_as_a_loop_in_the_root_and_in_a_model_folder(watched, model):
    in_root = watched.root / f"loop-{uuid.uuid4().hex[:6]}"
    os.symlink(in_root.name, in_root)
    (watched.root / model).mkdir()
    in_model = watched.root / model / "1"
    os.symlink(in_model.name, in_model)

    first = wait_for(lambda: quarantined(watched, in_root), "the loop in the root")
    second = wait_for(lambda: quarantined(watched, in_model), "the loop in a model folder")

    assert first.reason == "SYMLINK_LOOP" and second.reason == "SYMLINK_LOOP"
    assert "loop" in first.message and versions_of(watched, model) == []


@pytest.mark.parametrize("unit_path, reason", [("Bad Model/1", "INVALID_NAME"), ("fine/007", "INVALID_VERSION_FOLDER"),
                                              ("stray.bin", "NOT_IN_MODEL_FOLDER")])  # fmt: skip
def test_bad_names_are_quarantined_with_a_reason(watched, unit_path, reason):
    unit = watched.root / f"{uuid.uuid4().hex[:6]}-{unit_path}"
    unit.parent.mkdir(parents=True, exist_ok=True)
    unit.write_bytes(b"x") if "/" not in unit_path else write_unit(unit, {"model.bin": b"x"})

    drop = wait_for(lambda: quarantined(watched, unit), "the quarantine")

    assert drop.reason == reason


# -- after registration --------------------------------------------------------------------


def test_the_same_version_dropped_again_with_other_bytes_is_quarantined(watched, model):
    unit = watched.root / model / "1"
    write_unit(unit, {"model.bin": b"original"})
    first = wait_for(lambda: version(watched, model, 1), "version 1")
    replacement = staged(watched, {"model.bin": b"other bytes"})

    shutil.rmtree(unit)
    os.rename(replacement, unit)
    drop = wait_for(lambda: quarantined(watched, unit), "the quarantine")

    assert drop.reason == "VERSION_EXISTS" and drop.version == f"models/{model}/versions/1"
    assert version(watched, model, 1).content_digest == first.content_digest
    assert len(versions_of(watched, model)) == 1


def test_an_in_place_edit_marks_a_referenced_version_modified_and_undoing_it_makes_it_ready(watched, model):
    unit = watched.in_place / model / "1"
    write_unit(unit, {"model.bin": b"registered"})
    first = wait_for(lambda: version(watched, model, 1), "version 1")

    (unit / "model.bin").write_bytes(b"edited in place")
    modified = wait_for(lambda: (v := version(watched, model, 1)) and v.status == resources_pb2.VERSION_STATUS_MODIFIED
                        and v, "modified")  # fmt: skip
    (unit / "model.bin").write_bytes(b"registered")
    ready = wait_for(lambda: (v := version(watched, model, 1)) and v.status == resources_pb2.VERSION_STATUS_READY
                     and v.etag != modified.etag and v, "ready again")  # fmt: skip

    assert not first.kept
    assert "model.bin" in modified.status_reason and "changed" in modified.status_reason
    assert modified.content_digest == first.content_digest and modified.files == first.files
    assert ready.status_reason == ""
    assert [e.version.status for e in events_of(watched, model, "version.status_changed")] == [
        resources_pb2.VERSION_STATUS_MODIFIED, resources_pb2.VERSION_STATUS_READY]  # fmt: skip


def test_a_referenced_version_moved_out_is_missing_and_one_renamed_inside_keeps_its_number(watched, tmp_path):
    inside = watched.in_place / "moved" / "first"
    outside = tmp_path / "elsewhere"
    write_unit(inside, {"model.bin": b"one"})
    write_unit(watched.in_place / "moved" / "second", {"model.bin": b"two"})
    wait_for(lambda: len(versions_of(watched, "moved")) == 2, "two versions")
    numbers = {v.files[0].sha256: v.number for v in versions_of(watched, "moved")}

    os.rename(watched.in_place / "moved" / "second", watched.in_place / "moved" / "renamed")
    os.rename(inside, outside)

    gone = wait_for(lambda: (v := version(watched, "moved", numbers[hashlib.sha256(b"one").hexdigest()]))
                    and v.status == resources_pb2.VERSION_STATUS_MISSING and v, "missing")  # fmt: skip
    kept = wait_for(lambda: (v := version(watched, "moved", numbers[hashlib.sha256(b"two").hexdigest()]))
                    and v.storage_uri.endswith("/renamed") and v, "the new location")  # fmt: skip
    assert "gone" in gone.status_reason
    assert kept.status == resources_pb2.VERSION_STATUS_READY
    assert len(versions_of(watched, "moved")) == 2
    assert drop_at(watched, watched.in_place / "moved" / "second") is None

    os.rename(outside, inside)  # brought back: ready again
    wait_for(lambda: version(watched, "moved", gone.number).status == resources_pb2.VERSION_STATUS_READY, "back")


def test_the_drop_service_reports_healthy_inotify_watching(watched):
    status = watched.drops.GetWatchStatus(drops_pb2.GetWatchStatusRequest())
    health = health_pb2_grpc.HealthStub(watched.daemon.channel()).Check(
        health_pb2.HealthCheckRequest(service="studbook.v1.DropService"))  # fmt: skip

    assert sorted((r.path, r.observer, r.keep_in_place) for r in status.roots) == sorted(
        [(str(watched.root.resolve()), "inotify", False), (str(watched.in_place.resolve()), "inotify", True)]
    )
    assert not status.degraded and status.quiet_seconds == QUIET
    assert health.status == health_pb2.HealthCheckResponse.SERVING


def test_a_hostile_file_is_quarantined_with_the_readers_reason(watched, model):
    header_claims_a_terabyte = (1 << 40).to_bytes(8, "little") + b'{"w": '
    unit = watched.root / model / "1"
    write_unit(unit, {"model.safetensors": header_claims_a_terabyte})

    drop = wait_for(lambda: quarantined(watched, unit), "the quarantine")

    assert drop.reason == "HEADER_TOO_LARGE"
    assert versions_of(watched, model) == []


def test_a_malicious_pickle_is_quarantined_never_run_and_let_in_only_when_allowed(watched, model, tmp_path):
    import pickle

    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):  # type: ignore[no-untyped-def]
            return (os.system, (f"touch {marker}",))

    unit = watched.root / model / "1"
    write_unit(unit, {"model.pkl": pickle.dumps(Payload())})

    drop = wait_for(lambda: quarantined(watched, unit), "the quarantine")
    watched.drops.RetryDrop(drops_pb2.RetryDropRequest(path=str(unit), allow_unsafe=True))
    found = wait_for(lambda: version(watched, model, 1), "version 1")

    assert drop.reason == "UNSAFE_PICKLE" and "system" in drop.message
    assert found.files[0].format == "pickle"
    assert "unsafe-format" in found.files[0].flags
    assert any(flag.startswith("dangerous-global:") and "system" in flag for flag in found.files[0].flags)
    assert not marker.exists()


def test_a_folder_whose_name_is_not_text_is_skipped_and_nothing_else_suffers(watched, model):
    undecodable = os.fsencode(str(watched.root)) + b"/bad\xffname"
    os.makedirs(undecodable + b"/1")
    with open(undecodable + b"/1/model.bin", "wb") as handle:
        handle.write(b"x")
    write_unit(watched.root / model / "1", {"model.bin": b"fine"})

    wait_for(lambda: version(watched, model, 1), "the ordinary drop")

    drops = watched.drops.ListDrops(drops_pb2.ListDropsRequest(page_size=1000)).drops
    assert not any(d.path.startswith("bad") for d in drops)  # other tests' model names are random hex


def test_a_file_over_the_configured_size_cap_is_quarantined(tmp_path):
    root = tmp_path / "drops"
    (root / "capped").mkdir(parents=True)
    daemon = start_daemon(tmp_path / "data", Path(tempfile.mkdtemp(prefix="sb-")) / "s.sock",
                          *daemon_args(root, tmp_path, "--max-file-bytes", "4K"))  # fmt: skip
    try:
        with daemon.channel() as channel:
            w = Watched(root, root / ".staging", daemon, stubs(channel), drops_pb2_grpc.DropServiceStub(channel),
                        root)  # fmt: skip
            (root / "capped" / "big.bin").write_bytes(b"x" * 10_000)

            drop = wait_for(lambda: quarantined(w, root / "capped" / "big.bin"), "the oversized drop quarantined")

            assert drop.reason == "FILE_TOO_LARGE"
            assert versions_of(w, "capped") == []
    finally:
        stop_daemon(daemon)


def test_a_kept_version_outlives_edits_to_its_folder_and_its_removal(watched, model):
    unit = watched.root / model / "1"
    write_unit(unit, {"model.bin": b"registered bytes"})
    first = wait_for(lambda: version(watched, model, 1), "version 1")

    (unit / "model.bin").write_bytes(b"edited in place")
    edited = wait_for(lambda: (d := drop_at(watched, unit)) and d.state == drops_pb2.DROP_STATE_MODIFIED and d,
                      "the drop seen modified")  # fmt: skip
    shutil.rmtree(unit)
    gone = wait_for(lambda: (d := drop_at(watched, unit)) and d.state == drops_pb2.DROP_STATE_MISSING and d,
                    "the drop seen gone")  # fmt: skip
    after = version(watched, model, 1)
    kept_bytes = b"".join(r.data for r in artifacts_pb2_grpc.ArtifactServiceStub(watched.daemon.channel())
                          .ReadArtifactFile(artifacts_pb2.ReadArtifactFileRequest(name=after.name, path="model.bin")))  # fmt: skip

    status = watched.drops.GetWatchStatus(drops_pb2.GetWatchStatusRequest())

    assert first.kept and after.status == resources_pb2.VERSION_STATUS_READY and after.etag == first.etag
    assert "keeps" in edited.message and "keeps" in gone.message
    assert status.kept_sources_changed >= 1
    assert kept_bytes == b"registered bytes"
