"""Cluster-group details (``GET /v1/clustergroups/{uid}``): fetched only for groups whose summary's
``lastModifiedTimestamp`` differs from the cached detail; otherwise the cached payload is reused.

A failed detail call falls back to the cached payload (the object is then *stale*: reported, part ok,
compat.md I10); with nothing cached the part fails, so its previous entities stay as they were.
A 404 means the group went away after it was listed: it is left out. Palette I/O only.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog
from pydantic import ValidationError

from ingestor.catalog.inventory import GroupRecord
from ingestor.crawl.lists import project_header
from ingestor.palette.client import PaletteClient
from ingestor.palette.errors import NotFoundError, PaletteError
from ingestor.palette.models import ClusterGroup, ClusterGroupSummary

log = structlog.get_logger(__name__)

GROUP = "cluster-group"
"""``palette_kind`` of cluster groups in the detail cache."""


@dataclass(frozen=True)
class CachedPayload:
    """A detail the store holds, valid while the object's ``lastModifiedTimestamp`` stays the same."""

    last_modified: str | None
    payload: Mapping[str, Any]


@dataclass(frozen=True)
class FreshDetail:
    """A detail fetched by this crawl, to be written to the cache with the run."""

    palette_kind: str
    uid: str
    last_modified: str | None
    payload: Mapping[str, Any]


@dataclass
class GroupDetails:
    """The groups of one part with their details, and what it took."""

    records: list[GroupRecord] = field(default_factory=list)
    fresh: list[FreshDetail] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    stale_error: PaletteError | None = None


def _cached(entry: CachedPayload | None) -> ClusterGroup | None:
    if entry is None:
        return None
    try:
        return ClusterGroup.model_validate(dict(entry.payload))
    except ValidationError:
        return None  # a payload this version cannot read counts as not cached


def _current(summary: ClusterGroupSummary, entry: CachedPayload | None) -> bool:
    """The cached detail still describes the group: same non-empty ``lastModifiedTimestamp``."""
    modified = summary.metadata.last_modified_timestamp
    return entry is not None and bool(modified) and entry.last_modified == modified


async def resolve_groups(
    client: PaletteClient,
    scope: str,
    summaries: Sequence[ClusterGroupSummary],
    cache: Mapping[str, CachedPayload],
    *,
    concurrency: int = 8,
) -> GroupDetails:
    """Pair every summary with its detail (cached when current, else fetched); raise when a detail
    cannot be had at all (the part then fails)."""
    out = GroupDetails()
    gate = asyncio.Semaphore(max(1, concurrency))

    async def one(summary: ClusterGroupSummary) -> GroupRecord | None:
        entry = cache.get(summary.uid)
        if _current(summary, entry) and (detail := _cached(entry)) is not None:
            return GroupRecord(summary, detail)
        async with gate:
            try:
                fetched = await client.get_cluster_group(summary.uid, project_header(scope))
            except NotFoundError:
                log.info("crawl.group_gone", scope=scope, uid=summary.uid)
                return None
            except PaletteError as exc:
                fallback = _cached(entry)
                if fallback is None:
                    raise
                out.stale.append(summary.uid)
                out.stale_error = out.stale_error or exc
                log.warning("crawl.detail_stale", scope=scope, uid=summary.uid, error=type(exc).__name__)
                return GroupRecord(summary, fallback)
        modified = summary.metadata.last_modified_timestamp
        out.fresh.append(FreshDetail(GROUP, summary.uid, modified, fetched.raw))
        return GroupRecord(summary, fetched)

    results = await asyncio.gather(*(one(s) for s in summaries), return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    out.records = [r for r in results if isinstance(r, GroupRecord)]
    return out
