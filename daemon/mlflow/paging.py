"""Pages of a search whose filter studbook says only in part (see search.Refinement).

studbook's filter selects a superset; the endpoint keeps the items every refinement matches
and fills MLflow's page from as many of studbook's pages (chunks) as it takes. A page can end
in the middle of a chunk, so MLflow's token is studbook's token of that chunk and how many of
its items were looked at already: the next page reads the same chunk again and goes on after
them. Searches that need no refinement keep studbook's own tokens.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from studbook.daemon.mlflow.errors import invalid
from studbook.daemon.mlflow.search import Refinement

T = TypeVar("T")
# Items read from studbook per chunk: studbook's largest page.
CHUNK = 1000
_PREFIX = "r1."

# (page size, studbook's page token) -> (items, studbook's next token)
Fetch = Callable[[int, str], Awaitable[tuple[list[T], str]]]


async def search_page(fetch: Fetch[T], refinements: Sequence[Refinement],
                      value_of: Callable[[T, Refinement], str | None], size: int, token: str) -> tuple[list[T], str]:  # fmt: skip
    """A page of a search: studbook's own page and token when its filter says everything, else
    the items every refinement matches (`value_of` reads an item's value of one), as refined_page."""
    if not refinements:
        return await fetch(size, token)
    return await refined_page(fetch, lambda item: all(r.matches(value_of(item, r)) for r in refinements), size, token)


async def refined_page(fetch: Fetch[T], keep: Callable[[T], bool], size: int, token: str, *,
                       chunk: int = CHUNK) -> tuple[list[T], str]:  # fmt: skip
    """Up to `size` kept items from where `token` points, and the token of the next page ("" at the end).
    Every page but the last holds `size`; a token must be used with the same `chunk`."""
    start, seen = _decode(token)
    found: list[T] = []
    while True:
        items, following = await fetch(chunk, start)
        for index in range(seen, len(items)):
            if not keep(items[index]):
                continue
            found.append(items[index])
            if len(found) == size:
                if index + 1 < len(items):
                    return found, _encode(start, index + 1)
                return found, _encode(following, 0) if following else ""
        if not following:
            return found, ""
        start, seen = following, 0


def _encode(start: str, seen: int) -> str:
    raw = json.dumps({"t": start, "s": seen}, separators=(",", ":")).encode()
    return _PREFIX + base64.urlsafe_b64encode(raw).decode("ascii")


def _decode(token: str) -> tuple[str, int]:
    if not token:
        return "", 0
    try:
        if not token.startswith(_PREFIX):
            raise ValueError("not a token of this search")
        data = json.loads(base64.urlsafe_b64decode(token[len(_PREFIX) :].encode("ascii")))
        start, seen = data["t"], data["s"]
        if not isinstance(start, str) or not isinstance(seen, int) or not 0 <= seen <= CHUNK:
            raise ValueError("out of range")
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeEncodeError):
        raise invalid("Invalid page_token: it is not one this search returned; start again without a "
                      "page_token", field="page_token") from None  # fmt: skip
    return start, seen
