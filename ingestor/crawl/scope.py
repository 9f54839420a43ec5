"""Project-scoped crawls: what a project's objects point to outside the project, and how that is fetched.

A project's entities read, besides the project itself: the tenant's (and system's) profiles (version names,
Kubernetes versions), the tenant's cluster groups (a virtual cluster's group) and host clusters wherever they
live (a virtual cluster's host, a group's members). The tenant's groups and profiles are listed whole (a few
calls, as in a full crawl); only the clusters actually referenced are looked up, in the one-call meta list,
and searched by name in their own scope. Nothing fetched here is committed. Palette I/O only.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping

from ingestor.catalog.inventory import (
    CLUSTER_GROUP,
    CLUSTER_PROFILE,
    PART_KINDS,
    TENANT,
    VIRTUAL_CLUSTER,
    GroupRecord,
    PartKey,
)
from ingestor.catalog.relations import host_uid, member_uids
from ingestor.crawl.lists import NAMES_PER_SEARCH, belongs, named_clusters
from ingestor.palette.client import PaletteClient
from ingestor.palette.models import ClusterSummary

CONTEXT_KINDS = (PART_KINDS[CLUSTER_GROUP], PART_KINDS[CLUSTER_PROFILE])
"""Tenant kinds a project-scoped crawl lists whole: what a project's objects may point into."""


def context_kinds(kinds: Iterable[str]) -> tuple[str, ...]:
    """The tenant kinds to list for a scoped crawl: those of :data:`CONTEXT_KINDS` a full crawl fetches."""
    return tuple(kind for kind in kinds if kind in CONTEXT_KINDS)


def referenced_clusters(
    virtual: Iterable[ClusterSummary],
    groups: Iterable[GroupRecord],
    part_of: Mapping[tuple[str, str], PartKey],
    scopes: Collection[str],
    have: Collection[str],
) -> dict[str, set[PartKey]]:
    """Cluster uid -> the parts of ``scopes`` that point to it (hosts, members), for uids not in ``have``."""
    wanted: dict[str, set[PartKey]] = {}

    def want(uid: str | None, part: PartKey | None) -> None:
        if uid and part is not None and part[0] in scopes and uid not in have:
            wanted.setdefault(uid, set()).add(part)

    for cluster in virtual:
        want(host_uid(cluster), part_of.get((VIRTUAL_CLUSTER, cluster.uid)))
    for group in groups:
        part = part_of.get((CLUSTER_GROUP, group.uid))
        for uid in member_uids(group):
            want(uid, part)
    return wanted


async def context_clusters(
    client: PaletteClient, uids: Collection[str], scopes: Collection[str]
) -> list[tuple[str, ClusterSummary]]:
    """``(scope, summary)`` of the live, non-virtual clusters among ``uids`` owned by the tenant or one of
    ``scopes`` (projects a full crawl would list), exactly as that scope's cluster list returns them."""
    by_scope: dict[str, dict[str, str]] = {}
    for meta in await client.clusters_meta():
        if meta.uid not in uids or not meta.name or meta.state == "Deleted" or meta.is_virtual:
            continue
        scope = TENANT if belongs(meta.metadata, TENANT) else meta.metadata.project_uid
        if scope is not None and (scope == TENANT or scope in scopes):
            by_scope.setdefault(scope, {})[meta.uid] = meta.name
    out: list[tuple[str, ClusterSummary]] = []
    for scope, named in sorted(by_scope.items()):
        names = sorted(set(named.values()))
        for start in range(0, len(names), NAMES_PER_SEARCH):
            found = await named_clusters(client, scope, names[start : start + NAMES_PER_SEARCH])
            out.extend((scope, c) for c in found if c.uid in named)  # another cluster may share a name
    return out
