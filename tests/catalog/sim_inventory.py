"""Build an ``InstanceInventory`` from a generated simulator dataset through the simulator's own views.

Used by the property and speed tests: realistic shapes without HTTP. Test helper, not a test module.
"""

from __future__ import annotations

from ingestor.catalog import GroupRecord, InstanceInventory
from ingestor.palette.models import (
    ClusterGroup,
    ClusterGroupSummary,
    ClusterProfileSummary,
    ClusterSummary,
    ProjectSummary,
)
from ingestor.simulator.dataset import Dataset
from ingestor.simulator.generator import generate
from ingestor.simulator.index import Index
from ingestor.simulator.options import SimulatorOptions
from ingestor.simulator.views import cluster_summary, meta_view
from ingestor.simulator.views_profiles import group_get, group_summary, profile_summary


def dataset(**shape: int) -> Dataset:
    return generate(SimulatorOptions(**shape))  # type: ignore[arg-type]


def inventory_from(
    ds: Dataset, instance: str | None = "sim", every_version: bool = False
) -> InstanceInventory:
    ix = Index(ds)
    projects = [
        ProjectSummary.model_validate({"metadata": meta_view(ds, p)})
        for p in ds.collection("projects").values()
    ]
    clusters: list[ClusterSummary] = []
    virtual: list[ClusterSummary] = []
    for record in ds.collection("clusters").values():
        summary = ClusterSummary.model_validate(cluster_summary(ds, ix, record))
        (virtual if summary.is_virtual else clusters).append(summary)
    groups = [
        GroupRecord(
            ClusterGroupSummary.model_validate(group_summary(ds, ix, g)),
            ClusterGroup.model_validate(group_get(ds, g)),
        )
        for g in ds.collection("clusterGroups").values()
    ]
    records = ds.collection("clusterProfiles")
    # The search returns the newest version of each family; ``every_version`` feeds them all.
    chosen = list(records) if every_version else [members[-1] for members in ix.families.values()]
    profiles = [ClusterProfileSummary.model_validate(profile_summary(ds, ix, records[uid])) for uid in chosen]
    return InstanceInventory(
        instance=instance,
        palette_url="http://127.0.0.1:8765",
        console_url="https://console.example.com",
        projects=projects,
        clusters=clusters,
        virtual_clusters=virtual,
        cluster_groups=groups,
        profiles=profiles,
    )
