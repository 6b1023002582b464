"""`studbook import hf` against a real daemon: a Hugging Face cache laid out as the hub client
lays it out (blobs, snapshots of links, refs), with real safetensors weights."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import Daemon
from studbook.cli import commands as cli
from studbook.client.clients import Client
from studbook.v1 import resources_pb2
from support.cli import Result, runner
from support.files import random_weights
from support.hf_cache import add_snapshot, folder_files
from support.models import fixture

BASE_CARD = b"---\nlicense: apache-2.0\nlanguage: en\n---\n# bert-tiny\n\nThe base model.\n"


@pytest.fixture
def run(shared_daemon: Daemon, capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    return runner(shared_daemon.address, capsys)


@pytest.fixture
def client(shared_daemon: Daemon) -> Iterator[Client]:
    with Client(shared_daemon.address) as opened:
        yield opened


@pytest.fixture
def org() -> str:
    """An organisation of its own per test, so its models are its own in the shared daemon."""
    return f"o{uuid.uuid4().hex[:8]}"


def fine_tune_card(base: str) -> bytes:
    card = fixture("huggingface/tiny-sentiment/README.md").read_bytes()
    return card.replace(b"base_model: google-bert/bert-base-uncased", f"base_model: {base}".encode())


def test_a_cache_is_imported_bases_first_with_card_metrics_lineage_and_source(
    run: Callable[..., Result], client: Client, org: str, tmp_path: Path
) -> None:
    cache = tmp_path / "hub"
    base_files = {**folder_files(fixture("transformers/bert-tiny")), "README.md": BASE_CARD}
    base_snapshot = add_snapshot(cache, f"{org}/zz-bert-tiny", base_files)
    tuned_files = {
        **folder_files(fixture("huggingface/tiny-sentiment")),
        "README.md": fine_tune_card(f"{org}/zz-bert-tiny"),
    }
    tuned_snapshot = add_snapshot(cache, f"{org}/aa-sentiment", tuned_files)
    (cache / "datasets--someone--reviews").mkdir()

    imported = run("import", "hf", str(cache), "--json")

    assert imported.code == 0, imported.err
    report = imported.json()
    assert [i["source"] for i in report["imported"]] == [
        f"{org}/zz-bert-tiny@{base_snapshot.name[:12]}",
        f"{org}/aa-sentiment@{tuned_snapshot.name[:12]}",
    ]
    assert report["skipped"] == [{"source": "datasets--someone--reviews", "why": "not a model repository"}]
    tuned = client.get_version(f"{org}--aa-sentiment@1")
    assert tuned.created_from == f"hf://{org}/aa-sentiment@{tuned_snapshot.name}"
    assert tuned.tags["hf.revision"] == tuned_snapshot.name and tuned.tags["license"] == "apache-2.0"
    assert tuned.format_info.huggingface.base_model == f"{org}/zz-bert-tiny"
    metrics = {(m.key, m.split): m.value for m in tuned.metrics}
    assert metrics == {("IMDB/accuracy", "test"): pytest.approx(0.912), ("IMDB/f1", "test"): pytest.approx(0.905)}
    assert [(d.name, d.uri) for d in tuned.datasets] == [("imdb", "")]
    assert [(p.version, p.relation) for p in tuned.parents] == [
        (f"models/{org}--zz-bert-tiny/versions/1", resources_pb2.PARENT_RELATION_FINE_TUNED_FROM)
    ]
    weights = next(f for f in tuned.files if f.path == "model.safetensors")
    assert weights.format == "safetensors" and weights.size == len(tuned_files["model.safetensors"])
    assert tuned.kept
    assert sorted(f.path for f in tuned.files) == sorted(tuned_files)


def test_a_second_import_of_the_same_snapshots_registers_nothing(
    run: Callable[..., Result], client: Client, org: str, tmp_path: Path
) -> None:
    cache = tmp_path / "hub"
    add_snapshot(cache, f"{org}/bert-tiny", folder_files(fixture("transformers/bert-tiny")))
    first = run("import", "hf", str(cache), "--json")

    again = run("import", "hf", str(cache), "--json")
    text = run("import", "hf", str(cache))

    assert first.code == again.code == text.code == 0
    assert again.json()["imported"] == [] and len(again.json()["unchanged"]) == 1
    assert again.json()["unchanged"][0]["version"]["name"] == first.json()["imported"][0]["version"]["name"]
    assert "already imported as" in text.out and "0 imported, 1 already there" in text.out
    assert [v.number for v in client.list_versions(f"{org}--bert-tiny").versions] == [1]


def test_a_dry_run_says_what_would_be_imported_and_skipped_and_changes_nothing(
    run: Callable[..., Result], client: Client, org: str, tmp_path: Path
) -> None:
    cache = tmp_path / "hub"
    files = folder_files(fixture("transformers/bert-tiny"))
    known = add_snapshot(cache, f"{org}/known", files)
    assert run("import", "hf", str(cache), "--json").code == 0
    fresh = add_snapshot(cache, f"{org}/fresh", {**files, "README.md": BASE_CARD})
    leaky = add_snapshot(cache, f"{org}/leaky", files)
    (leaky / "notes.txt").symlink_to(tmp_path)
    (cache / "datasets--someone--reviews").mkdir()

    planned = run("import", "hf", str(cache), "--dry-run", "--json")
    text = run("import", "hf", str(cache), "--dry-run")

    assert planned.code == text.code == 0, planned.err
    report = planned.json()
    size = sum(len(data) for data in files.values()) + len(BASE_CARD)
    assert report["would_import"] == [{"source": f"{org}/fresh@{fresh.name[:12]}", "model": f"{org}--fresh",
                                       "files": len(files) + 1, "size": size}]  # fmt: skip
    assert report["unchanged"] == [{"source": f"{org}/known@{known.name[:12]}",
                                    "version": f"models/{org}--known/versions/1"}]  # fmt: skip
    skipped = {s["source"]: s["why"] for s in report["skipped"]}
    assert skipped["datasets--someone--reviews"] == "not a model repository"
    assert "would be refused" in skipped[f"{org}/leaky@{leaky.name[:12]}"]
    assert f"{org}/fresh@{fresh.name[:12]}: would import into {org}--fresh" in text.out
    assert f"already imported as {org}--known@1" in text.out
    assert "dry run: 1 would be imported, 1 already there, 2 skipped; nothing was changed" in text.out
    assert [m.name for m in client.list_models(filter=f'name = "{org}--fresh" OR name = "{org}--leaky"').models] == []


def test_a_new_revision_of_main_becomes_the_next_version(
    run: Callable[..., Result], client: Client, org: str, tmp_path: Path
) -> None:
    cache = tmp_path / "hub"
    files = folder_files(fixture("transformers/bert-tiny"))
    add_snapshot(cache, f"{org}/bert-tiny", files)
    run("import", "hf", str(cache))
    newer = add_snapshot(cache, f"{org}/bert-tiny", {**files, "README.md": BASE_CARD})

    imported = run("import", "hf", str(cache / f"models--{org}--bert-tiny"), "--json")

    assert imported.code == 0, imported.err
    assert imported.json()["imported"][0]["version"]["name"] == f"models/{org}--bert-tiny/versions/2"
    assert client.get_version(f"{org}--bert-tiny@2").tags["hf.revision"] == newer.name


def test_one_snapshot_or_a_plain_folder_is_imported_under_the_model_named(
    run: Callable[..., Result], client: Client, org: str, tmp_path: Path
) -> None:
    snapshot = add_snapshot(tmp_path / "hub", f"{org}/bert-tiny", folder_files(fixture("transformers/bert-tiny")))
    plain = fixture("huggingface/tiny-sentiment")

    from_snapshot = run("import", "hf", str(snapshot), "--model", f"{org}-pinned")
    from_folder = run("import", "hf", str(plain), "--model", f"{org}-plain", "--json")

    assert from_snapshot.code == 0, from_snapshot.err
    assert client.get_version(f"{org}-pinned@1").created_from == f"hf://{org}/bert-tiny@{snapshot.name}"
    assert from_folder.code == 0, from_folder.err
    version = client.get_version(f"{org}-plain@1")
    assert version.created_from == str(plain) and version.format_info.huggingface.license == "apache-2.0"


def test_several_snapshots_without_a_main_ref_need_a_revision(
    run: Callable[..., Result], client: Client, org: str, tmp_path: Path
) -> None:
    cache = tmp_path / "hub"
    files = folder_files(fixture("transformers/bert-tiny"))
    add_snapshot(cache, f"{org}/bert-tiny", files, ref=None)
    chosen = add_snapshot(cache, f"{org}/bert-tiny", {**files, "README.md": BASE_CARD}, ref=None)
    repo = cache / f"models--{org}--bert-tiny"

    ambiguous = run("import", "hf", str(repo))
    picked = run("import", "hf", str(repo), "--revision", chosen.name)

    assert (
        ambiguous.code == cli.EXIT_INVALID and "REVISION_AMBIGUOUS" in ambiguous.err and "--revision" in ambiguous.err
    )
    assert picked.code == 0, picked.err
    assert client.get_version(f"{org}--bert-tiny@1").tags["hf.revision"] == chosen.name


def test_a_link_out_of_the_repository_is_refused_and_the_other_models_still_come_in(
    run: Callable[..., Result], client: Client, org: str, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("not for the registry")
    files = folder_files(fixture("transformers/bert-tiny"))
    snapshot = add_snapshot(tmp_path / "hub", f"{org}/leaky", files)
    (snapshot / "notes.txt").symlink_to(secret)
    add_snapshot(tmp_path / "hub", f"{org}/sound", {**files, "README.md": BASE_CARD})

    refused = run("import", "hf", str(tmp_path / "hub"))

    assert refused.code == cli.EXIT_PRECONDITION
    leaky = next(line for line in refused.out.splitlines() if line.startswith(f"{org}/leaky"))
    assert "not imported" in leaky and "PATH_OUTSIDE" in leaky and "notes.txt" in leaky
    assert "1 imported, 0 already there, 1 failed" in refused.out
    assert [m.name for m in client.list_models(filter=f'name = "{org}--leaky"').models] == []
    assert client.get_version(f"{org}--sound@1").file_count == len(files) + 1


def test_an_incomplete_download_is_refused_with_what_to_do(
    run: Callable[..., Result], org: str, tmp_path: Path
) -> None:
    snapshot = add_snapshot(tmp_path / "hub", f"{org}/partial", folder_files(fixture("transformers/bert-tiny")))
    blob = Path(os.path.realpath(snapshot / "model.safetensors"))
    blob.rename(blob.with_name(blob.name + ".incomplete"))

    refused = run("import", "hf", str(snapshot))

    assert refused.code == cli.EXIT_PRECONDITION
    assert "MISSING_FILE" in refused.err and "download the model again" in refused.err


def test_a_file_above_the_daemons_limit_is_refused_before_it_is_sent(
    daemon_factory: Callable[..., Daemon], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    daemon = daemon_factory("--max-file-bytes", "4096")
    files = {**folder_files(fixture("transformers/bert-tiny")), "big.bin": random_weights(8192)}
    snapshot = add_snapshot(tmp_path / "hub", "acme/huge", files)

    refused = runner(daemon.address, capsys)("import", "hf", str(snapshot))

    assert refused.code == cli.EXIT_INVALID
    assert "FILE_TOO_LARGE" in refused.err


def test_a_model_folder_with_hostile_weights_is_refused_with_the_readers_reason(
    run: Callable[..., Result], org: str, tmp_path: Path
) -> None:
    files = folder_files(fixture("transformers/bert-tiny"))
    files["model.safetensors"] = (1 << 40).to_bytes(8, "little") + b'{"w": '
    snapshot = add_snapshot(tmp_path / "hub", f"{org}/hostile", files)

    refused = run("import", "hf", str(snapshot))

    assert refused.code == cli.EXIT_PRECONDITION
    assert "HEADER_TOO_LARGE" in refused.err
