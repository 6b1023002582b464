"""`studbook gc`: retention applied through a real daemon, its artifact folder and its audit trail."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from studbook.client.clients import Client
from studbook.v1 import resources_pb2
from support.cli import Result, runner

RETAIN_ONE = """
[[models]]
pattern = "gc-*"
[models.retention]
keep_last = 1
purge_after = "{purge_after}"
"""


def policy_file(folder: Path, purge_after: str = "0s") -> Path:
    path = folder / "policy.toml"
    path.write_text(RETAIN_ONE.format(purge_after=purge_after))
    return path


def register(client: Client, model: str, folder: Path, files: dict[str, bytes]) -> Any:
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    return client.register(model, path=folder, environment=False, git=False)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def stored(data_dir: Path) -> set[str]:
    return {p.name for p in (data_dir / "blobs" / "sha256").rglob("*") if p.is_file()}


def versions(client: Client, model: str) -> list[tuple[int, str]]:
    """(number, status) of every version, archived ones too."""
    listed = client.list_versions(model, show_archived=True, page_size=100).versions
    return sorted((int(v.name.rsplit("/", 1)[1]), resources_pb2.VersionStatus.Name(v.status)[15:].lower())
                  for v in listed)  # fmt: skip


def audit(client: Client, event_type: str) -> list[str]:
    return [r.event.subject for r in client.export_audit_trail() if r.event.type == event_type]


SHARED, ONLY_V1, ONLY_V2, LATEST = b"s" * 3000, b"1" * 1000, b"2" * 2000, b"3" * 500


@pytest.fixture
def catalog(daemon_factory: Any, short_dir: Path, tmp_path: Path) -> tuple[Any, Client]:
    """A daemon with `gc-a` v1..v3 (v1 and v2 beyond keep_last 1), and `other` (no retention) sharing
    a file with gc-a v1, so only gc-a v2's own file is used by nobody else."""
    daemon = daemon_factory("--policy", str(policy_file(short_dir)), "--gc-grace", "0")
    client = Client(daemon.address, timeout=60)
    register(client, "gc-a", tmp_path / "v1", {"w.bin": SHARED, "own.bin": ONLY_V1})
    register(client, "gc-a", tmp_path / "v2", {"w.bin": SHARED, "own.bin": ONLY_V2})
    register(client, "gc-a", tmp_path / "v3", {"w.bin": SHARED, "own.bin": LATEST})
    register(client, "other", tmp_path / "o1", {"copy.bin": ONLY_V1})
    yield daemon, client
    client.close()


@pytest.fixture
def studbook(catalog: tuple[Any, Client], capsys: pytest.CaptureFixture[str]) -> Any:
    return runner(catalog[0].address, capsys)


def test_a_dry_run_lists_what_would_go_and_the_bytes_freed_and_changes_nothing(catalog: tuple[Any, Client],
                                                                               studbook: Any) -> None:  # fmt: skip
    daemon, client = catalog
    before = (versions(client, "gc-a"), stored(daemon.data_dir), len(list(client.export_audit_trail())))

    result: Result = studbook("--json", "gc", "--dry-run")
    human: Result = studbook("gc", "--dry-run")

    report = result.json()
    assert result.code == 0, result.err
    assert report["dry_run"] is True
    assert (report["purged"], report.get("archived", 0), report.get("kept", 0)) == (2, 0, 0)
    assert [(d["version"], d["action"]) for d in report["decisions"]] == [
        ("models/gc-a/versions/1", "purge"),
        ("models/gc-a/versions/2", "purge"),
    ]
    assert (report["blobs"]["deleted"], report["blobs"]["deleted_bytes"]) == (1, len(ONLY_V2))
    assert "would delete 1, freeing 2.0 KiB" in human.out and "gc-a@1" in human.out
    assert (versions(client, "gc-a"), stored(daemon.data_dir), len(list(client.export_audit_trail()))) == before


def test_a_purge_deletes_exactly_the_blobs_no_remaining_version_uses_and_records_each_purge(
    catalog: tuple[Any, Client], studbook: Any, tmp_path: Path
) -> None:
    daemon, client = catalog
    every_blob = stored(daemon.data_dir)

    result = studbook("--json", "gc")
    verified = studbook("audit", "verify")
    gone = studbook("show", "gc-a/1")

    report = result.json()
    assert result.code == 0, result.err
    assert report["purged"] == 2 and report["blobs"]["freed_by_purge"] == 1
    assert stored(daemon.data_dir) == every_blob - {sha(ONLY_V2)}
    assert versions(client, "gc-a") == [(3, "ready")]
    assert sorted(audit(client, "version.purged")) == ["models/gc-a/versions/1", "models/gc-a/versions/2"]
    assert verified.code == 0 and "intact" in verified.out
    assert gone.code == 3
    pulled = client.download("gc-a", tmp_path / "out")  # the shared file is still there to pull
    assert sorted(p.path.name for p in pulled) == ["own.bin", "w.bin"]
    assert (tmp_path / "out" / "w.bin").read_bytes() == SHARED


def test_a_former_stage_holder_and_an_alias_target_stay_and_say_why(catalog: tuple[Any, Client], studbook: Any,
                                                                    tmp_path: Path) -> None:  # fmt: skip
    _, client = catalog
    register(client, "gc-a", tmp_path / "v4", {"own.bin": b"4"})
    client.promote("gc-a/1", "staging")
    client.promote("gc-a/4", "staging")  # v1 no longer holds staging, but held it
    client.promote("gc-a/2", "champion")

    result = studbook("gc")

    assert result.code == 0, result.err
    assert versions(client, "gc-a") == [(1, "ready"), (2, "ready"), (4, "ready")]
    assert "holds or held staging" in result.out and "holds or held champion" in result.out
    assert [line.split()[:2] for line in result.out.splitlines() if "gc-a@3" in line] == [["purge", "gc-a@3"]]


def test_gc_first_archives_and_purges_only_once_purge_after_has_passed(daemon_factory: Any, short_dir: Path,
                                                                        tmp_path: Path,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    policy = policy_file(short_dir, purge_after="7d")
    daemon = daemon_factory("--policy", str(policy), "--gc-grace", "0")
    studbook = runner(daemon.address, capsys)
    with Client(daemon.address, timeout=60) as client:
        register(client, "gc-b", tmp_path / "v1", {"own.bin": ONLY_V1})
        register(client, "gc-b", tmp_path / "v2", {"own.bin": ONLY_V2})

        first = studbook("--json", "gc")
        archived = versions(client, "gc-b")
        reason = client.get_version("gc-b", 1).status_reason
        again = studbook("--json", "gc")
        policy.write_text(RETAIN_ONE.format(purge_after="0s") + "\n# purge now\n")  # the daemon reloads it
        last = studbook("--json", "gc")

        assert (first.json()["archived"], first.json().get("purged", 0)) == (1, 0)
        assert archived == [(1, "archived"), (2, "ready")]
        assert reason.startswith("archived by retention: older than the 1 newest version")
        assert again.json().get("archived", 0) == 0 and again.json()["waiting"] == 1
        assert again.json()["decisions"][0]["purge_time"]
        assert last.json()["purged"] == 1
        assert versions(client, "gc-b") == [(2, "ready")]
        assert stored(daemon.data_dir) == {sha(ONLY_V2)}
        assert audit(client, "version.archived") == ["models/gc-b/versions/1"]


def test_a_blob_younger_than_the_grace_stays_even_once_no_version_uses_it(daemon_factory: Any, short_dir: Path,
                                                                          tmp_path: Path,
                                                                          capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    daemon = daemon_factory("--policy", str(policy_file(short_dir)))  # the default grace: an hour
    studbook = runner(daemon.address, capsys)
    with Client(daemon.address, timeout=60) as client:
        register(client, "gc-c", tmp_path / "v1", {"own.bin": ONLY_V1})
        register(client, "gc-c", tmp_path / "v2", {"own.bin": ONLY_V2})

        result = studbook("--json", "gc")

    blobs = result.json()["blobs"]
    assert result.json()["purged"] == 1
    assert (blobs.get("deleted", 0), blobs["recent"], blobs["recent_bytes"]) == (0, 1, len(ONLY_V1))
    assert sha(ONLY_V1) in stored(daemon.data_dir)


def test_only_an_admin_collects_and_a_maintainer_may_dry_run(catalog: tuple[Any, Client], studbook: Any) -> None:
    _, client = catalog
    secret = client.create_token("gc-maintainer", "maintainer").secret

    planned = studbook("--token", secret, "gc", "--dry-run")
    refused = studbook("--token", secret, "gc")

    assert planned.code == 0, planned.err
    assert refused.code == 9 and "CollectGarbage needs the admin role" in refused.err
    assert versions(client, "gc-a") == [(1, "ready"), (2, "ready"), (3, "ready")]
