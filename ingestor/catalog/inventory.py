"""The mapping input: what one crawl of one Palette instance fetched (docs/design/ingestion.md).

Imports only ``ingestor.palette.models``. ``PartKey`` mirrors ``ingestor.crawl.snapshot.PartKey``
(the catalog may not import the crawler).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ingestor.palette.models import (
    ClusterGroup,
    ClusterGroupSummary,
    ClusterProfileSummary,
    ClusterSummary,
    ProjectSummary,
)

PartKey = tuple[str, str]
"""``(scope, kind)``: scope ``"tenant"`` or a project uid; kind one of :data:`PART_KINDS`."""

# palette_kind values (the ``kind`` of Edge/Problem rows and of ``part_of`` keys)
PROJECT = "project"
CLUSTER = "cluster"
VIRTUAL_CLUSTER = "virtual-cluster"
CLUSTER_GROUP = "cluster-group"
CLUSTER_PROFILE = "cluster-profile"
PALETTE_KINDS = (PROJECT, CLUSTER, VIRTUAL_CLUSTER, CLUSTER_GROUP, CLUSTER_PROFILE)

# palette_kind -> the part kind that fetches it
PART_KINDS: Mapping[str, str] = {
    PROJECT: "projects",
    CLUSTER: "clusters",
    VIRTUAL_CLUSTER: "virtualClusters",
    CLUSTER_GROUP: "clusterGroups",
    CLUSTER_PROFILE: "clusterProfiles",
}
TENANT = "tenant"


@dataclass(frozen=True)
class GroupRecord:
    """A cluster group: its summary and, when fetched (fresh or cached), its detail."""

    summary: ClusterGroupSummary  # from GET /v1/clustergroups/hostCluster
    detail: ClusterGroup | None = None  # GET /v1/clustergroups/{uid}

    @property
    def uid(self) -> str:
        return self.summary.uid or (self.detail.uid if self.detail is not None else "")


@dataclass(frozen=True)
class InstanceInventory:
    """Everything the mapping reads for one instance; lists may repeat objects (de-duplicated by uid)."""

    instance: str | None  # environments[].name (None when unnamed)
    palette_url: str  # API base URL (no trailing slash)
    console_url: str  # Palette console base URL for links ("" for none)
    projects: Sequence[ProjectSummary] = ()  # always crawled, even when resources.projects is false (I3)
    clusters: Sequence[ClusterSummary] = ()  # non-virtual search summaries
    virtual_clusters: Sequence[ClusterSummary] = ()  # nested search summaries
    cluster_groups: Sequence[GroupRecord] = ()
    profiles: Sequence[ClusterProfileSummary] = ()  # every item the profile searches returned
    part_of: Mapping[tuple[str, str], PartKey] = field(default_factory=dict)  # (palette_kind, uid) -> part


def default_part(palette_kind: str, project_uid: str | None) -> PartKey:
    """The part an object belongs to when the crawler did not say: its project's, else the tenant's."""
    if palette_kind == PROJECT:
        return (TENANT, PART_KINDS[PROJECT])
    return (project_uid or TENANT, PART_KINDS[palette_kind])


def part_for(
    inv: InstanceInventory, palette_kind: str, uids: Sequence[str], project_uid: str | None
) -> PartKey:
    """The part of an object fetched as ``uids`` (a profile family has several): the natural part if
    any uid was fetched there, else the smallest recorded one, else the natural part."""
    natural = default_part(palette_kind, project_uid)
    recorded = {inv.part_of[(palette_kind, uid)] for uid in uids if (palette_kind, uid) in inv.part_of}
    if not recorded or natural in recorded:
        return natural
    return min(recorded)
