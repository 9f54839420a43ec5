"""Palette-style paging: ``limit``/``offset``/``continue`` read from the query only (never a body),
``listmeta`` in the answer, tokens as in the docs' example (palette-api.md 1.6).
Imports only ``simulator.errors``; never httpx.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from ingestor.simulator.errors import ApiError

T = TypeVar("T")
PAGE_SIZE = 50


@dataclass(frozen=True)
class PageRequest:
    offset: int
    limit: int  # 0 = everything (only where ``all_on_zero`` allowed it)


def encode_token(offset: int, count: int) -> str:
    raw = json.dumps({"offset": offset, "count": count, "token": ""}, separators=(",", ":"))
    return base64.b64encode(raw.encode()).decode()


def decode_token(token: str) -> int:
    """The offset a continue token points at; ``ApiError`` 400 for anything else."""
    try:
        data = json.loads(base64.b64decode(token + "=" * (-len(token) % 4), validate=False))
        offset = data["offset"]
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise ApiError(400, "InvalidContinueToken", "the continue token is not valid") from None
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise ApiError(400, "InvalidContinueToken", "the continue token is not valid")
    return offset


def _integer(query: Mapping[str, str], name: str) -> int | None:
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise ApiError(422, "InvalidParameter", f"{name}: must be an integer, got {raw!r}") from None


def page_request(
    query: Mapping[str, str], *, maximum: int | None = None, all_on_zero: bool = False
) -> PageRequest:
    """Read paging parameters.

    ``maximum`` set: the spec declares ``maximum: 50`` and a larger limit is a 422. Otherwise the
    endpoint declares ``default: 50`` ("default and maximum 50") and larger limits are capped.
    ``all_on_zero``: ``limit=0`` returns everything (what the Go SDK relies on for GET lists).
    """
    limit = _integer(query, "limit")
    if limit is not None and limit < 0:
        raise ApiError(422, "InvalidParameter", "limit: must not be negative")
    if limit is not None and maximum is not None and limit > maximum:
        raise ApiError(422, "InvalidParameter", f"limit: must be less than or equal to {maximum}")
    if limit is None or (limit == 0 and not all_on_zero):
        limit = PAGE_SIZE
    limit = min(limit, PAGE_SIZE)
    token = query.get("continue")
    if token:
        offset = decode_token(token)
    else:
        offset = _integer(query, "offset") or 0
        if offset < 0:
            raise ApiError(422, "InvalidParameter", "offset: must not be negative")
    return PageRequest(offset, limit)


def listmeta(offset: int, shown: int, limit: int, count: int) -> dict[str, Any]:
    """``v1ListMetaData``: all four fields always present; ``continue`` is ``""`` on the last page."""
    following = offset + shown
    more = following < count and shown > 0
    return {
        "continue": encode_token(following, count) if more else "",
        "count": count,
        "limit": limit,
        "offset": following,
    }


def page(items: Sequence[T], request: PageRequest) -> tuple[list[T], dict[str, Any]]:
    """Slice one page out of ``items`` and describe it."""
    count = len(items)
    end = count if request.limit == 0 else request.offset + request.limit
    chunk = list(items[request.offset : end])
    limit = request.limit or count
    return chunk, listmeta(request.offset, len(chunk), limit, count)
