"""Opaque page tokens: an offset bound to the query it belongs to."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass

from studbook.daemon.domain.errors import InvalidArgument

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000


def _fingerprint(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class PageToken:
    offset: int
    # Everything that shapes the result set; a token only continues the same query.
    query: tuple[object, ...]

    def __init__(self, offset: int, *query: object) -> None:
        object.__setattr__(self, "offset", offset)
        object.__setattr__(self, "query", query)

    def encode(self) -> str:
        raw = json.dumps({"o": self.offset, "q": _fingerprint(*self.query)}).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str, *query: object) -> PageToken:
        if not token:
            return cls(0, *query)
        try:
            padded = token + "=" * (-len(token) % 4)
            data = json.loads(base64.urlsafe_b64decode(padded.encode()))
            offset = int(data["o"])
            fingerprint = str(data["q"])
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidArgument("page_token is not one this server issued", reason="INVALID_PAGE_TOKEN",
                                  field="page_token") from exc  # fmt: skip
        if fingerprint != _fingerprint(*query) or offset < 0:
            raise InvalidArgument(
                "page_token belongs to another query; keep filter and order_by the same while paging",
                reason="INVALID_PAGE_TOKEN",
                field="page_token",
            )
        return cls(offset, *query)


def page_bounds(page_size: int, token: PageToken) -> tuple[int, int]:
    """(limit, offset) for a request; page_size 0 means the default."""
    if page_size < 0:
        raise InvalidArgument("page_size must not be negative", reason="INVALID_PAGE_SIZE", field="page_size")
    return min(page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE), token.offset
