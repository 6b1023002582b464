"""`studbook verify`: stored bytes re-hashed; a blob that changed or went missing makes every version
that refers to it corrupt, with an event naming the file and the store, and the command exits 4."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from studbook.client.clients import Client
from studbook.v1 import resources_pb2
from support.cli import Result, runner
from support.files import random_weights, write_tree


@pytest.fixture
def studbook(daemon: Any, capsys: pytest.CaptureFixture[str]) -> Any:
    return runner(daemon.address, capsys)


def blob_path(daemon: Any, data: bytes) -> Path:
    sha = hashlib.sha256(data).hexdigest()
    return daemon.data_dir / "blobs" / "sha256" / sha[:2] / sha[2:4] / sha


def register(client: Client, model: str, folder: Path, **options: Any) -> resources_pb2.ModelVersion:
    return client.register(model, path=folder, environment=False, git=False, **options)


def status_events(client: Client, subject: str) -> list[Any]:
    return [r.event for r in client.export_audit_trail() if r.event.type == "version.status_changed"
            and r.event.subject == subject]  # fmt: skip


def test_a_blob_written_into_makes_its_version_corrupt_with_an_event_and_verify_exits_4(
    daemon: Any, studbook: Any, tmp_path: Path
) -> None:
    weights = random_weights(300_000)
    with Client(daemon.address) as client:
        version = register(client, "fraud", write_tree(tmp_path / "m", {"model.bin": weights, "card.md": b"# c"}))
        clean = studbook("--json", "verify", "fraud@1")
        with open(blob_path(daemon, weights), "r+b") as blob:  # mode 0400, but tests run as root
            blob.seek(1000)
            blob.write(b"\x00" * 8)

        result = studbook("--json", "verify", "fraud@1")

        after = client.get_version(version.name)
        events = status_events(client, version.name)
    assert clean.code == 0, clean.err
    assert int(clean.json()["corrupt_count"]) == 0
    assert result.code == 4, result.err
    summary = result.json()
    assert (int(summary["blobs_checked"]), int(summary["corrupt_count"])) == (2, 1)
    assert [v["version"] for v in summary["corrupt_versions"]] == [version.name]
    assert after.status == resources_pb2.VERSION_STATUS_CORRUPT
    assert "model.bin" in after.status_reason and "card.md" not in after.status_reason
    assert "no longer matches its sha256" in after.status_reason and summary["store"] in after.status_reason
    assert [e.version.status for e in events] == [resources_pb2.VERSION_STATUS_CORRUPT]
    assert events[0].version.status_reason == after.status_reason and events[0].actor


def test_a_missing_blob_makes_every_version_that_shares_it_corrupt_across_models(
    daemon: Any, studbook: Any, tmp_path: Path
) -> None:
    shared = random_weights(200_000)
    with Client(daemon.address) as client:
        first = register(client, "one", write_tree(tmp_path / "a", {"w.bin": shared, "card.md": b"a"}))
        second = register(client, "two", write_tree(tmp_path / "b", {"weights.bin": shared, "card.md": b"b"}))
        other = register(client, "two", write_tree(tmp_path / "c", {"other.bin": random_weights(1000)}))
        blob_path(daemon, shared).unlink()

        result = studbook("--json", "verify", "one")

        statuses = {v.name: (v.status, v.status_reason) for v in map(client.get_version, (first.name, second.name,
                                                                                       other.name))}  # fmt: skip
    assert result.code == 4, result.err
    assert result.json()["bad_blobs"] == [{"sha256": hashlib.sha256(shared).hexdigest(), "missing": True}]
    assert statuses[first.name][0] == statuses[second.name][0] == resources_pb2.VERSION_STATUS_CORRUPT
    assert "w.bin is missing from the artifact store" in statuses[first.name][1]
    assert "weights.bin is missing from the artifact store" in statuses[second.name][1]
    assert statuses[other.name] == (resources_pb2.VERSION_STATUS_READY, "")


def test_verify_all_hashes_each_shared_blob_once_and_skips_referenced_versions(
    daemon: Any, studbook: Any, tmp_path: Path
) -> None:
    shared = random_weights(50_000)
    with Client(daemon.address) as client:
        for model in ("a", "b", "c"):
            register(client, model, write_tree(tmp_path / model, {"w.bin": shared}))
        referenced = register(client, "d", write_tree(tmp_path / "d", {"x.bin": b"x"}), keep_in_place=True)
        by_uri = client.register("e", uri="s3://elsewhere/e", environment=False, git=False)

    result = studbook("--json", "verify", "--all")
    text = studbook("verify", "--all")
    with Client(daemon.address) as client:
        progress: list[Any] = []
        client.verify_artifacts(progress=progress.append)

    summary = result.json()
    assert result.code == 0, result.err
    assert (int(summary["versions_checked"]), int(summary["blobs_checked"])) == (3, 1)
    assert int(summary["bytes_checked"]) == len(shared)
    assert int(summary["skipped_count"]) == 2
    assert summary["skipped_versions"] == [referenced.name, by_uri.name]
    assert "skipped 2 referenced (not kept) version(s): d@1, e@1" in text.out
    assert (progress[0].checked_bytes, progress[-1].checked_bytes) == (0, len(shared))
    assert progress[-1].total_bytes == len(shared) and progress[-1].checked_blobs == 1


def test_bytes_put_back_make_a_corrupt_version_ready_again(daemon: Any, studbook: Any, tmp_path: Path) -> None:
    weights = random_weights(100_000)
    with Client(daemon.address) as client:
        version = register(client, "back", write_tree(tmp_path / "m", {"w.bin": weights}))
        path = blob_path(daemon, weights)
        path.rename(path.with_name("aside"))
        broken = studbook("verify", "back")
        path.with_name("aside").rename(path)

        repaired = studbook("--json", "verify", "back")

        after = client.get_version(version.name)
        events = status_events(client, version.name)
    assert broken.code == 4 and "1 version(s) refer to bytes that changed or are gone" in broken.out
    assert repaired.code == 0, repaired.err
    assert [v["version"] for v in repaired.json()["repaired_versions"]] == [version.name]
    assert (after.status, after.status_reason) == (resources_pb2.VERSION_STATUS_READY, "")
    assert [e.version.status for e in events] == [resources_pb2.VERSION_STATUS_CORRUPT,
                                                  resources_pb2.VERSION_STATUS_READY]  # fmt: skip


def test_a_second_check_records_nothing_new_and_an_archived_version_stays_archived(
    daemon: Any, studbook: Any, tmp_path: Path
) -> None:
    weights = random_weights(10_000)
    with Client(daemon.address) as client:
        kept = register(client, "arch", write_tree(tmp_path / "m", {"w.bin": weights}))
        register(client, "arch", write_tree(tmp_path / "n", {"other.bin": b"o"}))
        client.archive_version(kept.name)
        blob_path(daemon, weights).write_bytes(b"not the weights")

        first = studbook("--json", "verify", "arch")
        again = studbook("--json", "verify", "arch")

        after = client.get_version(kept.name)
        events = status_events(client, kept.name)
    assert first.code == again.code == 4
    assert [(v["version"], v["status"]) for v in first.json()["corrupt_versions"]] == [
        (kept.name, "archived")]  # fmt: skip
    assert after.status == resources_pb2.VERSION_STATUS_ARCHIVED
    assert events == []


def test_a_corrupt_version_cannot_be_promoted_and_is_found_by_its_status(
    daemon: Any, studbook: Any, tmp_path: Path
) -> None:
    weights = random_weights(10_000)
    with Client(daemon.address) as client:
        register(client, "gate", write_tree(tmp_path / "m", {"w.bin": weights}))
        blob_path(daemon, weights).unlink()
        studbook("verify", "gate@latest")

    promoted = studbook("promote", "gate@1", "staging", "--reason", "try")
    listed = studbook("--json", "versions", "-", "--filter", "status = CORRUPT")

    assert promoted.code == 4 and "version 1 is corrupt" in promoted.err and "VERSION_NOT_READY" in promoted.err
    assert [v["name"] for v in listed.json()["versions"]] == ["models/gate/versions/1"]


def test_verify_needs_a_name_or_all_and_names_what_does_not_exist(studbook: Any) -> None:
    neither: Result = studbook("verify")
    both = studbook("verify", "x", "--all")
    unknown = studbook("verify", "nope@3")

    assert neither.code == both.code == 2
    assert "--all" in neither.err
    assert unknown.code == 3 and "MODEL_NOT_FOUND" in unknown.err
