"""Readers that miss the read cache read the catalog and put what they read back, while the writer
commits and publishes: whatever the interleaving, the cache never holds a record older than
what it was last told (a deletion, an update), nor one the catalog never held; and once every
commit is published, what it holds is the catalog's."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st
from studbook.daemon.app.state import ReadCache
from studbook.daemon.domain.model import Model

NAMES = ("a", "b", "c")


def record(name: str, revision: int) -> Model:
    model = Model(name=name, description=f"as of {revision}")
    model.revision = revision
    return model


@dataclass
class Read:
    """A reader's miss: the generation it saw, then what the catalog held when it read."""

    generation: int
    found: Model | None


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_what_readers_put_back_never_undoes_a_commit(data: st.DataObject) -> None:
    cache = ReadCache(10, max_models=2)  # fewer records than models: they are pushed out too
    catalog: dict[str, Model] = {}
    committed: set[tuple[str, int]] = set()  # every (model, revision) the catalog ever held
    unpublished: list[tuple[str, Model | None, int]] = []  # committed, in order, not yet published
    published_at = dict.fromkeys(NAMES, 0)  # the revision of each model's last published change
    reads: list[Read] = []
    revision = 0

    def publish_one() -> None:
        name, model, at = unpublished.pop(0)
        cache.publish({name: model}, [], at)
        published_at[name] = at

    for _ in range(data.draw(st.integers(1, 60), label="steps")):
        step = data.draw(st.sampled_from(["commit", "publish", "begin read", "end read"]), label="step")
        name = data.draw(st.sampled_from(NAMES), label="model")
        if step == "commit":
            revision += 1
            if name in catalog and data.draw(st.booleans(), label="delete"):
                del catalog[name]
                unpublished.append((name, None, revision))
            else:
                catalog[name] = record(name, revision)
                committed.add((name, revision))
                unpublished.append((name, catalog[name], revision))
        elif step == "publish" and unpublished:
            publish_one()
        elif step == "begin read":
            generation = cache.generation  # seen before the read, as Core.read_models does
            reads.append(Read(generation, catalog.get(name)))
        elif step == "end read" and reads:
            read = reads.pop(data.draw(st.integers(0, len(reads) - 1), label="which read"))
            if read.found is not None:
                cache.put_model(read.found, read.generation)
        for each in NAMES:
            held = cache.model(each)
            if held is not None:
                assert (each, held.revision) in committed, "only what the catalog held"
                assert held.revision >= published_at[each], "never older than what was published"

    while unpublished:
        publish_one()
    for each in NAMES:
        held = cache.model(each)
        assert held is None or held == catalog.get(each), "once all is published, the catalog's record"
