"""The main Palette calls, walked the way the crawler and the plugin API make them.

Uids are discovered from earlier answers, never hard-coded, so the same walk works against the
simulator and against a real Palette tenant when the cassettes are re-recorded.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ingestor.palette.client import PaletteClient


@dataclass
class WalkResult:
    """What the walk saw, for assertions in the replay test."""

    user_uid: str = ""
    project_uids: list[str] = field(default_factory=list)
    cluster_uids: list[str] = field(default_factory=list)
    virtual_cluster_uids: list[str] = field(default_factory=list)
    detail_uid: str = ""
    detail_kubernetes_version: str | None = None
    attached_profile_uids: list[str] = field(default_factory=list)
    template_version_uids: list[str] = field(default_factory=list)
    profile_uids: list[str] = field(default_factory=list)
    fetched_profile_uid: str = ""
    variable_names: list[str] = field(default_factory=list)
    group_uids: list[str] = field(default_factory=list)
    fetched_group_uid: str = ""
    kubeconfig_length: int = 0


async def walk(client: PaletteClient) -> WalkResult:
    """Sequentially (cassettes need a stable order) call the main endpoints once each."""
    out = WalkResult()
    me = await client.users_me()
    out.user_uid = me.uid
    projects = await client.list_projects()
    out.project_uids = [p.uid for p in projects]
    project = projects[0].uid
    clusters = await client.list_clusters(project)
    out.cluster_uids = [c.uid for c in clusters]
    out.virtual_cluster_uids = [c.uid for c in await client.list_virtual_clusters(project)]
    cluster = clusters[0]
    detail = await client.get_cluster_summary(cluster.uid, cluster.metadata.project_uid)
    out.detail_uid = detail.uid
    out.detail_kubernetes_version = detail.kubernetes_version
    out.template_version_uids = list(detail.profile_version_uids)
    attached = await client.get_cluster_profiles(cluster.uid, cluster.metadata.project_uid)
    out.attached_profile_uids = [p.metadata.uid for p in attached.profiles]
    kubeconfig = await client.get_kubeconfig(cluster.uid, cluster.metadata.project_uid)
    out.kubeconfig_length = len(kubeconfig)
    profiles = await client.search_profiles({"filter": {"scope": "project"}}, project)
    out.profile_uids = [p.uid for p in profiles]
    profile = await client.get_profile(profiles[0].uid, project)
    out.fetched_profile_uid = profile.uid
    variables = await client.get_profile_variables(profiles[0].uid, project)
    out.variable_names = [v.name for v in variables.variables]
    groups = await client.list_cluster_groups()
    out.group_uids = [g.uid for g in groups]
    group = await client.get_cluster_group(groups[0].uid, groups[0].metadata.project_uid)
    out.fetched_group_uid = group.uid
    return out
