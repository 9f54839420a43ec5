"""The list calls of one scope: what each part fetches, and which returned objects the part owns.

A project-scope list also returns the tenant's (and system's) shareable objects, and a tenant-scope
cluster list spans every project: each part keeps only the objects its scope owns, so every object
belongs to exactly one part. Imports ``palette`` and ``catalog.naming``; Palette I/O only.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ingestor.catalog.inventory import TENANT
from ingestor.catalog.naming import ownership
from ingestor.crawl.slim import slim_cluster
from ingestor.palette.client import PaletteClient
from ingestor.palette.filters import cluster_search_body, profile_search_body
from ingestor.palette.models import ClusterGroupSummary, ClusterProfileSummary, ClusterSummary, ObjectMeta
from ingestor.palette.paging import Page, Paginator, Where

T = TypeVar("T")
U = TypeVar("U")

SHARED_SCOPES = ("tenant", "system")
CLUSTER_SEARCH = "/v1/dashboard/spectroclusters/search"
PROFILE_SEARCH = "/v1/dashboard/clusterprofiles"
NAMES_PER_SEARCH = 50
"""Cluster names per tenant-scope name search (keeps bodies small; the answer pages as usual)."""


def belongs(meta: ObjectMeta, scope: str, scope_hint: str | None = None) -> bool:
    """Whether an object returned by a ``scope`` list is owned by that scope.

    Tenant scope owns tenant- and system-scope objects. A project owns what names it as ``projectUid``,
    and, trusting its own list, an object with no ownership annotations at all.
    """
    owner = ownership(meta, scope_hint)
    if scope == TENANT:
        return owner.project_uid is None
    if owner.project_uid is not None:
        return owner.project_uid == scope
    declared = (meta.annotations.get("scope") or scope_hint or "").strip().lower()
    return declared not in SHARED_SCOPES


def project_header(scope: str) -> str | None:
    """The ``ProjectUid`` header value of a scope (``None`` for the tenant)."""
    return None if scope == TENANT else scope


async def complete_pages(
    paginator: Paginator[T], where: Where, *, check_count: bool, keep: Callable[[T], U | None]
) -> list[U]:
    """Every page of a list, ``keep`` applied page by page; ``ProtocolError`` unless the list is whole.

    The paginator stops at an empty page; if that page still carried a ``continue`` token (``items:
    null`` mid-list), or the list came up short of ``listmeta.count``, a part built from it would
    silently drop objects, so the whole list counts as failed instead.
    """
    out: list[U] = []
    received = 0
    last: Page[T] | None = None
    async for page in paginator:
        received += len(page.items)
        out.extend(kept for item in page.items if (kept := keep(item)) is not None)
        last = page
    if last is not None and last.next_token:
        raise where.error(f"Palette ended the list on page {last.number} with a continue token")
    if check_count and last is not None and last.count is not None and received < last.count:
        raise where.error(f"Palette sent {received} of the {last.count} items it counted")
    return out


async def _clusters(client: PaletteClient, body: dict[str, Any], scope: str) -> list[ClusterSummary]:
    def keep(item: ClusterSummary) -> ClusterSummary | None:
        # Slim page by page: a 10,000-cluster tenant must not hold every full summary at once.
        return slim_cluster(item) if belongs(item.metadata, scope) else None

    where = Where("POST", CLUSTER_SEARCH, client.instance)
    paginator = client.search_clusters(body, project_header(scope))
    return await complete_pages(paginator, where, check_count=True, keep=keep)


async def project_clusters(client: PaletteClient, scope: str, *, virtual: bool) -> list[ClusterSummary]:
    """A project's clusters or virtual clusters: the canonical search with its ``ProjectUid``.

    Unsorted (server order), unlike the anchor's ``lastModifiedTimestamp desc`` for virtual clusters:
    an offset-paged list sorted by modification reorders under a change and skips objects.
    """
    return await _clusters(client, cluster_search_body(virtual=virtual), scope)


@dataclass
class TenantClusters:
    """Tenant-owned clusters as the cheap meta list names them, split by kind."""

    names: dict[bool, set[str]] = field(default_factory=lambda: {False: set(), True: set()})
    uids: dict[bool, set[str]] = field(default_factory=lambda: {False: set(), True: set()})


async def tenant_cluster_names(client: PaletteClient) -> TenantClusters:
    """``GET /v1/dashboard/spectroclusters/meta`` once: which live clusters the tenant itself owns.

    A tenant-scope search would page through every project's clusters (palette-api.md 1.3); the meta
    list answers in one call, and the tenant's few clusters are then searched by name.
    """
    found = TenantClusters()
    for meta in await client.clusters_meta():
        if belongs(meta.metadata, TENANT) and meta.uid and meta.name and meta.state != "Deleted":
            found.names[meta.is_virtual].add(meta.name)
            found.uids[meta.is_virtual].add(meta.uid)
    return found


def _named_body(virtual: bool, names: Sequence[str]) -> dict[str, Any]:
    """The canonical search body narrowed to ``clusterName eq <names>`` (a documented property)."""
    body = copy.deepcopy(cluster_search_body(virtual=virtual))
    condition = {
        "operator": "eq",
        "negation": False,
        "ignoreCase": False,
        "match": {"conjunction": "or", "values": list(names)},
    }
    name_filter = {"property": "clusterName", "type": "string", "condition": {"string": condition}}
    body["filter"]["filterGroups"].append({"conjunction": "or", "filters": [name_filter]})
    return body


async def named_clusters(
    client: PaletteClient, scope: str, names: Sequence[str], *, virtual: bool = False
) -> list[ClusterSummary]:
    """The clusters (or virtual clusters) of ``scope`` with one of ``names``, as its own list returns them."""
    return await _clusters(client, _named_body(virtual, names), scope)


async def tenant_clusters(
    client: PaletteClient, known: TenantClusters, *, virtual: bool
) -> list[ClusterSummary]:
    """The tenant's own clusters (or virtual clusters): searched by name, kept by uid."""
    names = sorted(known.names[virtual])
    wanted = known.uids[virtual]
    out: list[ClusterSummary] = []
    for start in range(0, len(names), NAMES_PER_SEARCH):
        found = await named_clusters(client, TENANT, names[start : start + NAMES_PER_SEARCH], virtual=virtual)
        out.extend(c for c in found if c.uid in wanted)  # a project cluster may share a name
    return out


async def cluster_groups(client: PaletteClient, scope: str) -> list[ClusterGroupSummary]:
    """``GET /v1/clustergroups/hostCluster`` in the scope, owned groups only (de-duplicated by uid)."""
    groups = await client.list_cluster_groups(project_header(scope))
    unique: dict[str, ClusterGroupSummary] = {}
    for group in groups:
        if group.uid and belongs(group.metadata, scope, group.spec.scope):
            unique.setdefault(group.uid, group)
    return list(unique.values())


async def cluster_profiles(client: PaletteClient, scope: str) -> list[ClusterProfileSummary]:
    """The profile search: ``scope: project`` with the header, or the tenant's list (system ones too)."""
    body = profile_search_body(project_scope_only=scope != TENANT)

    def keep(item: ClusterProfileSummary) -> ClusterProfileSummary | None:
        return item if belongs(item.metadata, scope) else None

    # No count check: whether Palette counts families or versions here is not documented.
    where = Where("POST", PROFILE_SEARCH, client.instance)
    paginator = client.search_profiles(body, project_header(scope))
    return await complete_pages(paginator, where, check_count=False, keep=keep)
