"""Pages of a refined MLflow search: filled from as many of studbook's pages as it takes, each
resumed exactly where the last one stopped, even in the middle of one of studbook's pages."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given
from hypothesis import strategies as st
from studbook.daemon.mlflow.errors import MlflowError
from studbook.daemon.mlflow.paging import refined_page


def pages_of(items: list[int]):  # type: ignore[no-untyped-def]
    """studbook's side: pages of `items` with tokens that are offsets."""

    async def fetch(size: int, token: str) -> tuple[list[int], str]:
        start = int(token or 0)
        end = start + size
        return items[start:end], (str(end) if end < len(items) else "")

    return fetch


@given(
    items=st.lists(st.integers(0, 9), max_size=40),
    kept=st.sets(st.integers(0, 9)),
    size=st.integers(1, 7),
    chunk=st.integers(1, 6),
)
def test_pages_hold_every_kept_item_once_in_order_and_are_full_but_the_last(items: list[int], kept: set[int],
                                                                            size: int, chunk: int) -> None:  # fmt: skip
    fetch = pages_of(items)
    pages: list[list[int]] = []
    token = ""
    while True:
        page, token = asyncio.run(refined_page(fetch, kept.__contains__, size, token, chunk=chunk))
        pages.append(page)
        if not token:
            break
        assert len(pages) <= len(items) + 1  # each page moves on

    assert [item for page in pages for item in page] == [item for item in items if item in kept]
    assert all(len(page) == size for page in pages[:-1])
    assert len(pages[-1]) <= size


@pytest.mark.parametrize("token", ["garbage", "r1.!!!", "r1.bnVsbA==", "r1.eyJ0IjogMX0=", "r1.eyJ0IjoiIiwicyI6LTF9"])
def test_a_token_it_did_not_make_is_refused_as_an_invalid_parameter(token: str) -> None:
    with pytest.raises(MlflowError) as refused:
        asyncio.run(refined_page(pages_of([1, 2, 3]), lambda _: True, 1, token))

    assert refused.value.error_code == "INVALID_PARAMETER_VALUE" and "page_token" in refused.value.message
