"""Watch filters and a rename: `model = "X"` takes the `model.renamed` event of X's old and new name."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import assume, given
from hypothesis import strategies as st
from studbook.daemon.domain.event_filter import matches, parse_event_filter
from studbook.daemon.domain.model import Event

MODEL_IDS = st.from_regex(r"[a-z0-9][a-z0-9._-]{0,20}", fullmatch=True)


def renamed(old: str, new: str) -> Event:
    return Event(7, datetime(2026, 1, 1, tzinfo=UTC), "model.renamed", f"models/{old}", new, "ana", b"", "admin")


@given(MODEL_IDS, MODEL_IDS, MODEL_IDS)
def test_a_rename_matches_a_filter_on_either_name_and_no_other(old: str, new: str, other: str) -> None:
    assume(len({old, new, other}) == 3)
    event = renamed(old, new)

    assert matches(parse_event_filter(f'model = "{old}"'), event)
    assert matches(parse_event_filter(f'model = "{new}"'), event)
    assert not matches(parse_event_filter(f'model = "{other}"'), event)
    assert not matches(parse_event_filter(f'model != "{old}"'), event)
    assert matches(parse_event_filter(f'model != "{other}" AND type = "model.renamed"'), event)


@given(MODEL_IDS, MODEL_IDS)
def test_other_events_match_on_their_model_alone(old: str, new: str) -> None:
    assume(old != new)
    event = Event(8, datetime(2026, 1, 1, tzinfo=UTC), "model.updated", f"models/{old}", new, "ana", b"", "admin")

    assert not matches(parse_event_filter(f'model = "{old}"'), event)
    assert matches(parse_event_filter(f'model = "{new}"'), event)
