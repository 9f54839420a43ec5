"""The hand-built inventory behind the golden files, and the option sets it is mapped with.

Covers every kind, the three scopes, a profile family with three versions used by clusters on
different versions, virtual clusters, groups with members, duplicates, collisions (``a_b`` vs ``a-b``),
a name longer than 63 characters, a name that sanitizes to empty, an unknown project and a stray
virtual cluster in the cluster list.
"""

from __future__ import annotations

from collections.abc import Callable

from ingestor.catalog import InstanceInventory, MappingOptions, ResourceSwitches

from .builders import cluster, group, profile, project, template

PALETTE_URL = "https://api.palette.example.com/"
CONSOLE_URL = "https://console.palette.example.com"
LONG_NAME = "this-cluster-name-is-much-too-long-for-backstage-because-it-goes-on-and-on"
BASE_VERSIONS = [("pv-base-100", "1.0.0"), ("pv-base-190", "1.9.0"), ("pv-base-1100", "1.10.0")]
ADDON_VERSIONS = [("pv-addon-1", "1.0.0"), ("pv-addon-2", "1.1.0-rc.1")]


def inventory(instance: str | None = "prod", console_url: str = CONSOLE_URL) -> InstanceInventory:
    payments, science, legacy = (
        project("proj-pay", "Payments"),
        project("proj-ds", "Data_Science"),
        project("proj-legacy", "Legacy"),
    )
    projects = [payments, science, legacy, project("proj-empty", "___"), payments]
    base_latest = profile("pv-base-1100", "Base K8s", "1.10.0", BASE_VERSIONS, k8s="1.30.2")
    profiles = [
        base_latest,
        profile("pv-base-190", "Base K8s", "1.9.0", BASE_VERSIONS[:2], k8s="1.29.5"),
        profile(
            "pv-addon-2",
            "Addon",
            "1.1.0-rc.1",
            ADDON_VERSIONS,
            project="proj-pay",
            profile_type="add-on",
            cloud="all",
        ),
        profile(
            "pv-sys", "spectro-core", "2.0.0", [("pv-sys", "2.0.0")], scope="system", profile_type="system"
        ),
        profile("pv-legacy", "legacy-stack", "0.1.0", [], project="proj-legacy"),
        profile("pv-wip", "wip", "", [], published=False, cloud=""),
        base_latest,  # the tenant profile again, from a project list (I13)
    ]
    eks = cluster(
        "cl-eks",
        "eks_01",
        project="proj-pay",
        health="Unhealthy",
        templates=[template("pv-base-1100", "Base K8s"), template("pv-addon-1", "Addon")],
    )
    clusters = [
        cluster(
            "cl-a-underscore",
            "a_b",
            cloud="Edge_Native",
            templates=[template("pv-base-100", "Base K8s", "1.28.0")],
        ),
        cluster("cl-a-dash", "a-b", templates=[template("pv-base-190", "Base K8s")]),
        eks,
        cluster(
            "cl-long",
            LONG_NAME,
            project="proj-ds",
            cloud="aks",
            templates=[template("pv-gone", "deleted-profile", version="9.9.9")],
        ),
        cluster("cl-bang", "!!!", project="proj-pay", cloud=None),
        cluster("cl-host", "host-1", cloud="vsphere", state=None, health=None, overlordUid="pcg-1"),
        cluster(
            "cl-legacy", "old-1", project="proj-legacy", templates=[template("pv-legacy", "legacy-stack")]
        ),
        cluster("cl-orphan", "stray", project="proj-gone"),
        cluster("cl-nested", "vc-in-list", project="proj-pay", cloud="nested"),
        eks,  # the same cluster from a second list (I6)
    ]
    virtual = [
        cluster(
            "vc-1",
            "vc_one",
            project="proj-pay",
            cloud="nested",
            host="cl-host",
            group="grp-shared",
            templates=[template("pv-addon-2", "Addon")],
            metrics={"cpu": {"limit": 2000.0, "unit": "MilliCore"}, "memory": {"limit": 1048576.5}},
        ),
        cluster("vc-2", "vc-two", project="proj-ds", cloud=None, host="cl-unknown", state=None),
    ]
    groups = [
        group(
            "grp-shared",
            "shared",
            members=["cl-host", "cl-missing"],
            templates=[template("pv-sys", "spectro-core")],
        ),
        group("grp-shared", "shared", members=["cl-host"], detail=False),
        group("grp-ds", "ds-group", project="proj-ds", members=["cl-long"], detail=False),
        group("grp-beehive", "beehive", scope="system", endpoint=None),
    ]
    return InstanceInventory(
        instance=instance,
        palette_url=PALETTE_URL,
        console_url=console_url,
        projects=projects,
        clusters=clusters,
        virtual_clusters=virtual,
        cluster_groups=groups,
        profiles=profiles,
        part_of={
            ("cluster", "cl-eks"): ("tenant", "clusters"),
            ("cluster-profile", "pv-base-1100"): ("proj-pay", "clusterProfiles"),
            ("cluster-profile", "pv-base-190"): ("tenant", "clusterProfiles"),
        },
    )


KNOWN_NAMES = {
    ("cluster", "cl-a-underscore"): "prod-tenant-a-b",  # the older object keeps the plain name
    ("cluster", "cl-eks"): "prod-payments-eks-legacy",  # renamed in the store's past: kept
    ("cluster", "cl-host"): "PROD-TENANT-A-B",  # differs only by case: collides, renamed
    ("cluster-group", "grp-ds"): "not a valid name",
}

Scenario = Callable[[], tuple[InstanceInventory, MappingOptions, dict[tuple[str, str], str]]]

SCENARIOS: dict[str, Scenario] = {
    "default": lambda: (inventory(), MappingOptions(), {}),
    "filters": lambda: (
        inventory(),
        MappingOptions(
            owner_namespace="user",
            default_owner="platform-team",
            include_projects=("Payments", "Data_Science", "Legacy"),
            exclude_projects=("Legacy",),
            exclude_tenant_scoped_resources=True,
        ),
        {},
    ),
    "switches": lambda: (
        inventory(),
        MappingOptions(
            resources=ResourceSwitches(projects=False, cluster_profiles=False, virtual_clusters=False)
        ),
        {},
    ),
    "custom": lambda: (
        inventory(instance=None, console_url=""),
        MappingOptions(annotation_prefix="example.com"),
        {},
    ),
    "known_names": lambda: (inventory(), MappingOptions(), dict(KNOWN_NAMES)),
}
