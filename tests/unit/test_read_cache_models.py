"""The read cache holds a bounded number of model records, read through on a miss: a record read
from the catalog is put back only while nothing has left the cache since the read began, so a
deletion, an invalidation or a newer record is never undone."""

from __future__ import annotations

from studbook.daemon.app.state import ReadCache
from studbook.daemon.domain.model import Model


def record(name: str, revision: int = 1) -> Model:
    model = Model(name=name)
    model.revision = revision
    return model


def test_a_commit_publishes_its_models_records_and_forgets_the_deleted() -> None:
    cache = ReadCache(10)
    cache.put_model(record("a"), cache.generation)

    cache.publish({"c": record("c", 2), "a": None}, [], 2)

    assert cache.model("a") is None and cache.model("c") == record("c", 2)


def test_a_record_read_before_its_model_was_deleted_is_not_put_back() -> None:
    cache = ReadCache(10)
    seen = cache.generation

    cache.publish({"a": None}, [], 2)
    cache.put_model(record("a"), seen)

    assert cache.model("a") is None


def test_a_record_read_before_the_model_was_deleted_and_made_again_is_not_put_back() -> None:
    cache = ReadCache(10)
    seen = cache.generation
    cache.publish({"a": None}, [], 2)
    cache.publish({"a": record("a", 3)}, [], 3)

    cache.put_model(record("a", 1), seen)

    assert cache.model("a") == record("a", 3)


def test_an_older_record_does_not_replace_a_newer_one() -> None:
    cache = ReadCache(10)
    seen = cache.generation
    cache.publish({"a": record("a", 5)}, [], 5)

    cache.put_model(record("a", 4), seen)

    held = cache.model("a")
    assert held is not None and held.revision == 5


def test_past_its_bound_the_records_asked_for_least_recently_go_and_reads_begun_before_are_dropped() -> None:
    cache = ReadCache(10, max_models=2)
    cache.put_model(record("a"), cache.generation)
    cache.put_model(record("b"), cache.generation)
    cache.model("a")  # asked for again: "b" is now the least recent
    seen = cache.generation

    cache.put_model(record("c"), cache.generation)
    cache.put_model(record("b", 7), seen)

    assert cache.model("b") is None
    assert cache.model("a") is not None and cache.model("c") is not None


def test_a_record_read_before_another_daemons_change_is_not_put_back() -> None:
    """The follower drops what another daemon's commit touched: a record read before, of a model
    the cache did not hold, may predate that commit."""
    cache = ReadCache(10)
    seen = cache.generation

    cache.forget_versions(["a"])  # the follower's first step, for every model the commits touched
    cache.put_model(record("a", 8), seen)

    assert cache.model("a") is None
