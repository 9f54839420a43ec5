"""Paginator for Palette's ``listmeta.continue`` lists, with loop detection and a page cap.

Imports nothing of ours outside ``ingestor.palette``. Never returns a silently truncated list:
a repeated token or hitting ``max_pages`` raises ``ProtocolError``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Generator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from ingestor.palette.errors import ProtocolError

T = TypeVar("T")

# Fetches one page: given the continue token (None for the first page), returns the parsed JSON.
FetchPage = Callable[[str | None], Awaitable[Any]]


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page: its items (parsed, de-duplicated), its 1-based number and ``listmeta``'s numbers."""

    items: list[T]
    number: int
    count: int | None
    next_token: str


@dataclass(frozen=True)
class Where:
    """Names the list in errors."""

    method: str
    path: str
    instance: str | None = None

    def error(self, message: str) -> ProtocolError:
        return ProtocolError(message, method=self.method, path=self.path, instance=self.instance)


def _uid(item: Any) -> str | None:
    if isinstance(item, dict):
        meta = item.get("metadata")
        if isinstance(meta, dict):
            uid = meta.get("uid")
            return uid if isinstance(uid, str) and uid else None
    return None


class Paginator(Generic[T]):
    """Follows ``listmeta.continue`` until ``""``, a missing token or an empty page.

    Iterate it for pages (``async for page in p``), ``await p.collect()`` for every item, or simply
    ``await p``. Items with a ``metadata.uid`` already seen on an earlier page are dropped (Palette's
    offset paging can overlap when the list changes underneath). Iterating twice fetches twice.
    """

    def __init__(
        self,
        fetch: FetchPage,
        parse: Callable[[Any], T],
        *,
        where: Where,
        max_pages: int,
        items_key: str = "items",
        dedupe: bool = True,
    ) -> None:
        self._fetch = fetch
        self._parse = parse
        self._where = where
        self._max_pages = max(1, max_pages)
        self._items_key = items_key
        self._dedupe = dedupe

    def _split(self, data: Any) -> tuple[list[Any], str, int | None]:
        """(items, next token or "", listmeta.count) of one page body."""
        if not isinstance(data, dict):
            raise self._where.error("Palette sent a page that is not a JSON object")
        items = data.get(self._items_key)
        if items is None:
            items = []  # Go marshals a nil slice as null (palette-api.md 7.1)
        if not isinstance(items, list):
            raise self._where.error(f"Palette sent a page whose {self._items_key!r} is not a list")
        listmeta = data.get("listmeta")
        listmeta = listmeta if isinstance(listmeta, dict) else {}
        token = listmeta.get("continue")
        count = listmeta.get("count")
        return items, token if isinstance(token, str) else "", count if isinstance(count, int) else None

    async def pages(self) -> AsyncIterator[Page[T]]:
        """Fetch and yield each page in order."""
        seen_tokens: set[str] = set()
        seen_uids: set[str] = set()
        token: str | None = None
        number = 0
        while True:
            number += 1
            items, next_token, count = self._split(await self._fetch(token))
            fresh = []
            for item in items:
                uid = _uid(item) if self._dedupe else None
                if uid is not None:
                    if uid in seen_uids:
                        continue
                    seen_uids.add(uid)
                fresh.append(self._parse(item))
            yield Page(fresh, number, count, next_token)
            if not next_token or not items:
                return
            if next_token in seen_tokens or next_token == token:
                raise self._where.error(f"Palette repeated a continue token on page {number}")
            if number >= self._max_pages:
                raise self._where.error(f"list has more than {self._max_pages} pages (max_pages)")
            seen_tokens.add(next_token)
            token = next_token

    def __aiter__(self) -> AsyncIterator[Page[T]]:
        return self.pages()

    async def collect(self) -> list[T]:
        """Every item of every page."""
        out: list[T] = []
        async for page in self.pages():
            out.extend(page.items)
        return out

    def __await__(self) -> Generator[Any, None, list[T]]:
        return self.collect().__await__()
