"""Opaque page tokens bound to their query: a position by sort keys (lists) or by offset (drops)."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from studbook.daemon.domain.errors import InvalidArgument

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
# Tagged in a token so a time comes back as a datetime, not as text that sorts differently.
_TIME_TAG = "t"


def _fingerprint(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()[:16]


def _pack(data: dict[str, object]) -> str:
    # UTF-8 rather than \u escapes: a text sort key may be long (a description), and the token carries it.
    return base64.urlsafe_b64encode(json.dumps(data, ensure_ascii=False).encode()).decode().rstrip("=")


def _unpack(token: str) -> dict[str, Any]:
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, TypeError, RecursionError) as exc:  # RecursionError: JSON nested absurdly deep
        raise _not_issued() from exc
    if not isinstance(data, dict):
        raise _not_issued()
    return data


def _not_issued() -> InvalidArgument:
    return InvalidArgument("page_token is not one this server issued", reason="INVALID_PAGE_TOKEN",
                           field="page_token")  # fmt: skip


def _check_query(data: dict[str, Any], query: tuple[object, ...]) -> None:
    if data.get("q") != _fingerprint(*query):
        raise InvalidArgument(
            "page_token belongs to another query; keep filter and order_by the same while paging",
            reason="INVALID_PAGE_TOKEN",
            field="page_token",
        )


@dataclass(frozen=True)
class PageToken:
    """A position by offset, for short listings (drops); also the format list tokens had before keysets."""

    offset: int
    # Everything that shapes the result set; a token only continues the same query.
    query: tuple[object, ...]

    def __init__(self, offset: int, *query: object) -> None:
        object.__setattr__(self, "offset", offset)
        object.__setattr__(self, "query", query)

    def encode(self) -> str:
        return _pack({"o": self.offset, "q": _fingerprint(*self.query)})

    @classmethod
    def decode(cls, token: str, *query: object) -> PageToken:
        if not token:
            return cls(0, *query)
        data = _unpack(token)
        try:
            offset = int(data["o"])
        except (ValueError, KeyError, TypeError) as exc:
            raise _not_issued() from exc
        _check_query(data, query)
        if offset < 0:
            raise _not_issued()
        return cls(offset, *query)


@dataclass(frozen=True)
class KeysetToken:
    """Where a list page starts: after the row whose sort keys are `after`.

    The next page is then `WHERE (sort keys) after (after)` with the same ORDER BY and
    LIMIT: no rows are skipped to reach it, so page 1000 costs about what page 1 does,
    and rows added before the position do not shift later pages. The store checks the
    values against the query's sort keys, so a tampered token is refused, never run.

    Tokens of the earlier offset format (`{"o": offset}`) are still honoured: a listing
    that spans an upgrade carries on from that offset, and its next token is a keyset one.
    """

    after: tuple[object, ...] | None = None
    offset: int = 0

    def encode(self, *query: object) -> str:
        """The token for the page after `after`, bound to `query` (everything that shapes the result set)."""
        return _pack({"k": [_encode_value(value) for value in self.after or ()], "q": _fingerprint(*query)})

    @classmethod
    def decode(cls, token: str, *query: object) -> KeysetToken:
        """The position a token carries; the start of the list for an empty token."""
        if not token:
            return cls()
        data = _unpack(token)
        if "o" in data and "k" not in data:
            legacy = PageToken.decode(token, *query)
            return cls(offset=legacy.offset)
        values = data.get("k")
        if not isinstance(values, list) or not values:
            raise _not_issued()
        _check_query(data, query)
        return cls(after=tuple(_decode_value(value) for value in values))


def _encode_value(value: object) -> object:
    if isinstance(value, datetime):
        return {_TIME_TAG: value.isoformat()}
    return value


def _decode_value(value: object) -> object:
    if value is None or type(value) in (int, float, str):
        return value
    if isinstance(value, dict) and set(value) == {_TIME_TAG} and isinstance(value[_TIME_TAG], str):
        try:
            return datetime.fromisoformat(value[_TIME_TAG])
        except ValueError as exc:
            raise _not_issued() from exc
    raise _not_issued()


def page_limit(page_size: int) -> int:
    """Rows in a page; page_size 0 means the default, and more than the maximum is the maximum."""
    if page_size < 0:
        raise InvalidArgument("page_size must not be negative", reason="INVALID_PAGE_SIZE", field="page_size")
    return min(page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def page_bounds(page_size: int, token: PageToken) -> tuple[int, int]:
    """(limit, offset) for a request; page_size 0 means the default."""
    return page_limit(page_size), token.offset
