"""Relations (compat.md 2.5, I4): ``spec.system``, ``spec.dependsOn`` and the stored edges.

``dependsOn`` only names entities we emit; a profile version uid resolves to its family's entity.
Pure; imports only ``ingestor.palette.models`` and sibling catalog modules.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ingestor.catalog.context import Context
from ingestor.catalog.inventory import CLUSTER, CLUSTER_GROUP, CLUSTER_PROFILE, GroupRecord
from ingestor.catalog.naming import Ownership
from ingestor.catalog.result import GROUP_MEMBER, IN_GROUP, RUNS_ON_HOST, USES_PROFILE_VERSION, Edge
from ingestor.catalog.scalars import compact_json
from ingestor.palette.models import ClusterSummary, ProfileTemplate


def system_ref(ctx: Context, owner: Ownership) -> str | None:
    """The project's System when the object is project-scoped and its project passed the filters."""
    return ctx.system_refs.get(owner.project_uid) if owner.project_uid else None


def unique(refs: Iterable[str | None]) -> list[str]:
    """Refs in first-seen order without repeats or gaps."""
    return list(dict.fromkeys(ref for ref in refs if ref))


def profile_refs(ctx: Context, templates: Sequence[ProfileTemplate]) -> list[str | None]:
    """The family entity of each attached profile version (None where not emitted)."""
    out: list[str | None] = []
    for template in templates:
        hit = ctx.versions.get(template.uid) if template.uid else None
        out.append(ctx.targets.get((CLUSTER_PROFILE, hit.family.key)) if hit is not None else None)
    return out


def host_uid(cluster: ClusterSummary) -> str | None:
    virtual = cluster.status.virtual
    return (virtual.host_cluster.uid or None) if virtual and virtual.host_cluster else None


def group_uid(cluster: ClusterSummary) -> str | None:
    """``status.virtual.clusterGroup``, else ``specSummary.clusterConfig.hostClusterConfig.clusterGroup``."""
    virtual = cluster.status.virtual
    if virtual is not None and virtual.cluster_group is not None and virtual.cluster_group.uid:
        return virtual.cluster_group.uid
    config = cluster.spec_summary.cluster_config or {}
    host = config.get("hostClusterConfig") if isinstance(config, dict) else None
    group = host.get("clusterGroup") if isinstance(host, dict) else None
    uid = group.get("uid") if isinstance(group, dict) else None
    return uid if isinstance(uid, str) and uid else None


def group_templates(group: GroupRecord) -> list[ProfileTemplate]:
    if group.detail is not None and group.detail.spec.cluster_profile_templates:
        return list(group.detail.spec.cluster_profile_templates)
    return list(group.summary.spec.cluster_profile_templates)


def member_uids(group: GroupRecord) -> list[str]:
    """Member host clusters: ``spec.clusterRefs`` of the detail, else the summary's ``hostClusters``."""
    if group.detail is not None and group.detail.spec.cluster_refs:
        return unique(group.detail.host_cluster_uids)
    return unique(ref.uid for ref in group.summary.spec.host_clusters)


def cluster_depends_on(ctx: Context, templates: Sequence[ProfileTemplate]) -> list[str]:
    return unique(profile_refs(ctx, templates))


def virtual_depends_on(
    ctx: Context, cluster: ClusterSummary, templates: Sequence[ProfileTemplate]
) -> list[str]:
    host, group = host_uid(cluster), group_uid(cluster)
    return unique(
        [
            ctx.targets.get((CLUSTER, host)) if host else None,
            ctx.targets.get((CLUSTER_GROUP, group)) if group else None,
            *profile_refs(ctx, templates),
        ]
    )


def group_depends_on(ctx: Context, group: GroupRecord) -> list[str]:
    members = [ctx.targets.get((CLUSTER, uid)) for uid in member_uids(group)]
    return unique([*members, *profile_refs(ctx, group_templates(group))])


def template_edges(
    ctx: Context, src_ref: str, src_kind: str, src_uid: str, templates: Sequence[ProfileTemplate]
) -> list[Edge]:
    edges = []
    for template, dst_ref in zip(templates, profile_refs(ctx, templates), strict=True):
        if not template.uid:
            continue
        hit = ctx.versions.get(template.uid)
        version = hit.version.version if hit is not None else None
        edges.append(
            Edge(
                src_ref,
                src_kind,
                src_uid,
                USES_PROFILE_VERSION,
                template.uid,
                dst_ref,
                profile_key=hit.family.key if hit is not None else None,
                version=version or template.profile_version or None,
            )
        )
    return edges


def virtual_edges(
    ctx: Context, src_ref: str, src_kind: str, cluster: ClusterSummary, templates: Sequence[ProfileTemplate]
) -> list[Edge]:
    edges = []
    host, group = host_uid(cluster), group_uid(cluster)
    if host:
        edges.append(
            Edge(src_ref, src_kind, cluster.uid, RUNS_ON_HOST, host, ctx.targets.get((CLUSTER, host)))
        )
    if group:
        edges.append(
            Edge(src_ref, src_kind, cluster.uid, IN_GROUP, group, ctx.targets.get((CLUSTER_GROUP, group)))
        )
    return edges + template_edges(ctx, src_ref, src_kind, cluster.uid, templates)


def group_edges(ctx: Context, src_ref: str, group: GroupRecord) -> list[Edge]:
    edges = [
        Edge(src_ref, CLUSTER_GROUP, group.uid, GROUP_MEMBER, uid, ctx.targets.get((CLUSTER, uid)))
        for uid in member_uids(group)
    ]
    return edges + template_edges(ctx, src_ref, CLUSTER_GROUP, group.uid, group_templates(group))


def profile_refs_annotation(templates: Sequence[ProfileTemplate]) -> str | None:
    """``P/cluster-profile-refs`` exactly as the frontend reads it: ``[{name, uid}]``, uid = version uid."""
    refs = [{"name": t.name, "uid": t.uid} for t in templates if t.name and t.uid]
    return compact_json(refs) if refs else None


def profile_versions_annotation(ctx: Context, templates: Sequence[ProfileTemplate]) -> str | None:
    """``P/cluster-profile-versions``: ``[{name, uid, version}]`` resolved through the families
    (``version`` null when unknown)."""
    out = []
    for template in templates:
        if not template.uid:
            continue
        hit = ctx.versions.get(template.uid)
        name = hit.family.name if hit is not None else template.name
        version = (hit.version.version if hit is not None else None) or template.profile_version or None
        out.append({"name": name or "", "uid": template.uid, "version": version})
    return compact_json(out) if out else None
