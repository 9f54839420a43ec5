"""Shared declarations of the plugin routes: the caller dependency, documented query parameters, fan-out."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Query

from ingestor.api.auth import Caller, require_caller

T = TypeVar("T")

CallerDep = Annotated[Caller, Depends(require_caller)]
# Declared for the OpenAPI document; ``open_call`` reads (and checks) the raw query itself.
InstanceQuery = Annotated[
    str | None, Query(description="Configured instance name (environments[].name); default: the first")
]
ProjectQuery = Annotated[
    str | None, Query(alias="projectUid", description="Palette project uid, sent as the ProjectUid header")
]
FAN_OUT = 8


async def gather_bounded(
    items: Iterable[T], fn: Callable[[T], Awaitable[Any]], limit: int = FAN_OUT
) -> list[Any]:
    """``fn`` over ``items`` with at most ``limit`` in flight; the first failure fails the whole call (C7)."""
    semaphore = asyncio.Semaphore(limit)

    async def one(item: T) -> Any:
        async with semaphore:
            return await fn(item)

    return list(await asyncio.gather(*(one(item) for item in items)))


def dedupe_by_uid(items: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Items in order, each ``metadata.uid`` once (items without a uid are kept)."""
    seen: set[str] = set()
    out: list[dict[str, Any]] = []
    for item in items:
        uid = (item.get("metadata") or {}).get("uid") if isinstance(item, dict) else None
        if isinstance(uid, str):
            if uid in seen:
                continue
            seen.add(uid)
        out.append(item)
    return out
