"""A listing says which revision it reflects, so that Watch can go on from exactly there."""

from __future__ import annotations

import threading
from pathlib import Path

from conftest import start_daemon, stop_daemon
from studbook.v1 import events_pb2, registry_pb2
from support.postgres import PostgresDatabase
from support.rpc import Stubs, register, stubs


def replay(api: Stubs, after: int) -> tuple[list[events_pb2.Event], int]:
    """Every event Watch delivers after `after` before it says it has caught up, and that revision."""
    events = []
    stream = api.events.Watch(events_pb2.WatchRequest(start_revision=after), timeout=20)
    for response in stream:
        if response.HasField("event"):
            events.append(response.event)
        else:
            stream.cancel()
            return events, response.bookmark
    raise AssertionError("the stream ended before its first bookmark")


def test_list_models_revision_is_the_revision_of_the_last_change(daemon) -> None:
    with daemon.channel() as channel:
        api = stubs(channel)
        register(api, "fraud")
        register(api, "ads")
        register(api, "fraud", storage_uri="s3://b/2")
        listing = api.models.ListModels(registry_pb2.ListModelsRequest())
        history, head = replay(api, 0)

    assert listing.revision == history[-1].revision == head
    assert {m.name: m.latest_version for m in listing.models} == {"models/ads": 1, "models/fraud": 2}


def test_watch_from_a_listing_delivers_exactly_the_changes_after_it(daemon) -> None:
    with daemon.channel() as channel:
        api = stubs(channel)
        register(api, "fraud")
        models = api.models.ListModels(registry_pb2.ListModelsRequest())
        versions = api.versions.ListModelVersions(registry_pb2.ListModelVersionsRequest(parent="models/fraud"))
        everywhere = api.versions.ListModelVersions(registry_pb2.ListModelVersionsRequest(parent="models/-"))
        register(api, "fraud", storage_uri="s3://b/2")
        register(api, "ads")
        after_models, _ = replay(api, models.revision)
        after_versions, _ = replay(api, versions.revision)
        after_everywhere, _ = replay(api, everywhere.revision)

    later = [("version.created", "models/fraud/versions/2"), ("model.created", "models/ads"),
             ("version.created", "models/ads/versions/1")]  # fmt: skip
    for delivered in (after_models, after_versions, after_everywhere):
        assert [(e.type, e.subject) for e in delivered] == later


def check_listings_against_registrations(writes: Stubs, reads: Stubs, count: int = 30) -> None:
    """List models through `reads` while `writes` registers versions one by one: each answer holds
    at least every change up to the revision it gives (a revision too new would let Watch skip a
    change the rows lack), and Watch from it brings the rows to the end state."""
    register(writes, "fraud")
    answers: list[registry_pb2.ListModelsResponse] = []
    done = threading.Event()

    def writer() -> None:
        try:
            for number in range(2, count + 1):
                register(writes, "fraud", storage_uri=f"s3://b/{number}")
        finally:
            done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    while not done.is_set():
        answers.append(reads.models.ListModels(registry_pb2.ListModelsRequest()))
    thread.join()
    history, _ = replay(writes, 0)
    resumed = [replay(reads, answer.revision)[0] for answer in answers]

    created_at = {e.version.number: e.revision for e in history if e.type == "version.created"}
    assert len(created_at) == count
    for answer, after in zip(answers, resumed, strict=True):
        shown = answer.models[0].latest_version if answer.models else 0
        assert shown >= max((n for n, revision in created_at.items() if revision <= answer.revision), default=0)
        # Shown, or delivered after the listing's revision: every version, none left out.
        delivered = {e.version.number for e in after if e.type == "version.created"}
        assert set(range(1, shown + 1)) | delivered == set(range(1, count + 1))


def test_a_listing_taken_while_versions_register_holds_every_change_up_to_its_revision(daemon) -> None:
    with daemon.channel() as channel:
        api = stubs(channel)
        check_listings_against_registrations(api, api)


def test_a_listing_on_a_shared_catalog_holds_every_change_another_daemon_made_up_to_its_revision(
    short_dir: Path, postgres_catalog: PostgresDatabase
) -> None:
    """The reading daemon follows the writing one's commits a little later: its listings may lag,
    never claim a revision whose changes they lack."""
    daemons = [start_daemon(short_dir / f"{n}-data", short_dir / f"{n}.sock", "--catalog", postgres_catalog.url)
               for n in ("a", "b")]  # fmt: skip
    try:
        with daemons[0].channel() as writing, daemons[1].channel() as reading:
            check_listings_against_registrations(stubs(writing), stubs(reading))
    finally:
        for daemon in daemons:
            stop_daemon(daemon)
