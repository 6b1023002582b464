"""A daemon on a shared catalog keeps its read cache's model figures from two sources: its
writer publishes its own commits' records, and its follower takes the other daemons' commits,
counting their registrations onto the records it holds or reading the models again. Whatever
the order of the commits, the follower's batches and what a read of the catalog sees, each
version counts once."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st
from studbook.daemon.app.state import ReadCache
from studbook.daemon.domain.model import Event, Model

NOW = datetime(2026, 1, 1, tzinfo=UTC)

# A commit: whose (this daemon's or another's) and what (a registration, or a change to the model).
commits = st.lists(st.tuples(st.sampled_from(["own", "other"]), st.sampled_from(["version.created", "model.updated"])),
                   min_size=1, max_size=40)  # fmt: skip


def event(revision: int, kind: str, number: int) -> Event:
    subject = f"models/m/versions/{number}" if kind == "version.created" else "models/m"
    return Event(revision, NOW, kind, subject, "m", "someone")


@given(history=commits, data=st.data())
def test_each_version_counts_once_whatever_the_order(history: list[tuple[str, str]], data: st.DataObject) -> None:
    # What the catalog holds after each revision: the model's (count, latest), 0 for revision 0.
    truth = [(0, 0)]
    for _, kind in history:
        count = truth[-1][0] + (kind == "version.created")
        truth.append((count, count))
    newest = len(history)

    def record(revision: int) -> Model:
        count, latest = truth[revision]
        return Model(name="m", version_count=count, latest_version=latest)

    cache = ReadCache(max_versions=10)
    cache.put_model(record(0), cache.generation)
    pending: list[Event] = []
    committed = 0

    def follow() -> None:
        """The follower takes the other daemons' commits so far, in batches it may split."""
        while pending:
            size = data.draw(st.integers(1, len(pending)), label="batch")
            batch, pending[:] = pending[:size], pending[size:]
            taken = cache.count_registrations(batch)
            reread = sorted({"m"} - taken)
            # A read of the catalog sees every commit made so far, and maybe some made after.
            seen = data.draw(st.integers(committed, newest), label="read at")
            cache.replace_models(reread, {"m": record(seen)}, batch[-1].revision)
            model = cache.model("m")
            assert model is not None and model.version_count <= truth[newest][0], "never more than there are"

    for revision, (whose, kind) in enumerate(history, start=1):
        committed = revision
        if whose == "other":
            pending.append(event(revision, kind, truth[revision][0]))
            continue
        # The commits before this daemon's own are taken before its writer publishes its record
        # (as the writer takes them under the write lock) or after it: right either way.
        if data.draw(st.booleans(), label="followed first"):
            follow()
        cache.publish({"m": record(revision)}, [], revision, as_of=revision)
    follow()

    model = cache.model("m")
    assert model is not None
    assert (model.version_count, model.latest_version) == truth[newest]


def test_records_handed_to_readers_are_never_edited() -> None:
    cache = ReadCache(max_versions=10)
    cache.publish({"m": Model(name="m", version_count=1, latest_version=1)}, [], 1, as_of=1)
    held = cache.model("m")

    assert cache.count_registrations([event(2, "version.created", 2)]) == {"m"}

    assert held is not None and (held.version_count, held.latest_version) == (1, 1)
    now = cache.model("m")
    assert now is not None and (now.version_count, now.latest_version) == (2, 2)
