"""Start-up builds every model's record with the cyclic garbage collector held off (it would
walk the new objects again and again); whatever happens, the collector is left as it was."""

from __future__ import annotations

import gc

import pytest
from studbook.daemon.app.state import ReadCache
from studbook.daemon.domain.model import Model


def test_loading_the_read_cache_leaves_the_collector_running() -> None:
    cache = ReadCache(10)

    cache.load_models(lambda: [Model(name="a", tags={"team": "risk"}), Model(name="b")])

    assert gc.isenabled()
    assert [m.name for m in cache.models()] == ["a", "b"]


def test_a_load_that_fails_leaves_the_collector_running() -> None:
    with pytest.raises(AttributeError):
        ReadCache(10).load_models(lambda: [Model(name="a"), object()])  # type: ignore[list-item]

    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off() -> None:
    gc.disable()
    try:
        ReadCache(10).load_models(lambda: [Model(name="a")])
        assert not gc.isenabled()
    finally:
        gc.enable()
