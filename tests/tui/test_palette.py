"""The ctrl+p palette: a version is found as `model 12` as well as `model@12`."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from studbook.tui.palette import model_part, normalize_query
from studbook.tui.screens.version import VersionScreen

model_ids = st.from_regex(r"[a-z0-9][a-z0-9._-]{0,20}", fullmatch=True).filter(
    lambda m: m not in ("vs", "open", "diff")
)
numbers = st.integers(min_value=1, max_value=10**6)
verbs = st.sampled_from(["", "open ", "diff ", "lineage ", "promote "])


@given(model_ids, numbers, verbs)
def test_a_number_after_a_model_reads_as_at_that_number(model: str, number: int, verb: str) -> None:
    spaced = normalize_query(f"{verb}{model} {number}")
    with_v = normalize_query(f"{verb}{model}   v{number}")

    assert spaced == with_v == normalize_query(f"{verb}{model}@{number}") == f"{verb}{model}@{number}"
    assert model_part(spaced) == model


@pytest.mark.parametrize(
    "query",
    ["promote 12", "fraud@3 12", "fraud", "open fraud", "fraud 12x", "", "diff fraud@3 vs 4"],
)
def test_other_queries_stay_as_typed(query: str) -> None:
    assert normalize_query(query) == " ".join(query.split())


async def test_the_palette_opens_an_old_version_typed_with_a_space(shared_daemon, seeder, model_id, ui) -> None:
    for number in range(25):  # version 3 is older than the newest few the palette lists by itself
        seeder.version(model_id, {"auc": 0.8 + number / 100})
    app = ui.app(shared_daemon.address)

    async with app.run_test(size=(120, 40)) as pilot:
        await ui.wait_for_text(pilot, model_id)
        await pilot.press("ctrl+p")
        await pilot.pause(0.2)
        app.focused.value = f"{model_id} 3"  # type: ignore[union-attr]
        await ui.wait_for_text(pilot, f"open {model_id}@3")
        await pilot.press("enter")
        await ui.wait_for(pilot, lambda: isinstance(app.screen, VersionScreen), "the version screen")
        await ui.wait_for_text(pilot, f"{model_id} v3 ")
        text = ui.text(app)

    assert f"models › {model_id} › v3" in text
