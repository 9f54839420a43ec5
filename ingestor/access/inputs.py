"""Inputs every surface checks the same way before anything reaches Palette (compat.md S6), and the
bounded fan-out every live list uses (C7: the first failure fails the whole call)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

UID = re.compile(r"^[A-Za-z0-9-]{1,64}$")
UID_RULE = "1-64 letters, digits or dashes"
FAN_OUT = 8


def is_uid(value: str) -> bool:
    """Whether ``value`` may be used as a Palette uid (path segment or ``ProjectUid``)."""
    return UID.match(value) is not None


async def gather_bounded(
    items: Iterable[T], fn: Callable[[T], Awaitable[R]], limit: int = FAN_OUT
) -> list[R]:
    """``fn`` over ``items``, at most ``limit`` in flight, results in order; the first failure fails all."""
    semaphore = asyncio.Semaphore(limit)

    async def one(item: T) -> R:
        async with semaphore:
            return await fn(item)

    return list(await asyncio.gather(*(one(item) for item in items)))
