"""Palette objects → Backstage entities (compat.md 2.2-2.5, I2-I14): ``map_inventory`` and one builder
per kind. Pure: same inventory, options and known names in → equal result out, whatever the input order.

Imports only ``ingestor.palette.models`` and sibling catalog modules; no I/O, no logging.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from ingestor.catalog.context import (
    RESOURCE,
    SYSTEM,
    Context,
    build_context,
    held_elsewhere,
    name_requests,
)
from ingestor.catalog.inventory import (
    CLUSTER,
    CLUSTER_GROUP,
    CLUSTER_PROFILE,
    PROJECT,
    VIRTUAL_CLUSTER,
    GroupRecord,
    InstanceInventory,
    part_for,
)
from ingestor.catalog.links import console_link
from ingestor.catalog.naming import Ownership, assign_names, entity_ref, ownership, sanitize_tag
from ingestor.catalog.options import MappingOptions
from ingestor.catalog.profiles import ProfileFamily, version_key
from ingestor.catalog.relations import (
    cluster_depends_on,
    group_depends_on,
    group_edges,
    group_templates,
    group_uid,
    host_uid,
    profile_refs_annotation,
    profile_versions_annotation,
    system_ref,
    template_edges,
    virtual_depends_on,
    virtual_edges,
)
from ingestor.catalog.result import Edge, MappedEntity, MappingResult, Problem, ProfileVersion
from ingestor.catalog.scalars import compact_json, js_string
from ingestor.catalog.selection import group_meta, group_name, group_ownership, select
from ingestor.catalog.validation import validate_entity
from ingestor.palette.models import (
    ClusterSummary,
    ProfileTemplate,
    ProjectSummary,
    kubernetes_version_from_packs,
)

__all__ = [
    "Edge",
    "MappedEntity",
    "MappingResult",
    "Problem",
    "ProfileVersion",
    "cluster_entity",
    "cluster_group_entity",
    "map_inventory",
    "profile_entity",
    "project_entity",
    "virtual_cluster_entity",
]

API_VERSION = "backstage.io/v1alpha1"
LIFECYCLE = "production"
KIND_ORDER = {PROJECT: 0, CLUSTER_PROFILE: 1, CLUSTER: 2, CLUSTER_GROUP: 3, VIRTUAL_CLUSTER: 4}
SPEC_TYPES = {
    PROJECT: "spectrocloud-project",
    CLUSTER: "spectrocloud-cluster",
    VIRTUAL_CLUSTER: "spectrocloud-virtual-cluster",
    CLUSTER_GROUP: "spectrocloud-cluster-group",
    CLUSTER_PROFILE: "spectrocloud-cluster-profile",
}
DESCRIPTIONS = {
    PROJECT: "SpectroCloud Project",
    CLUSTER: "SpectroCloud Cluster",
    VIRTUAL_CLUSTER: "SpectroCloud Virtual Cluster",
    CLUSTER_GROUP: "SpectroCloud Cluster Group",
    CLUSTER_PROFILE: "SpectroCloud Cluster Profile",
}
Planned = list[tuple[MappedEntity, list[Edge]]]  # entities with their edges, before validation


# --- the envelope ------------------------------------------------------------------------------


def _annotations(ctx: Context, values: Mapping[str, str | None]) -> dict[str, str]:
    """managed-by (overwritten by Backstage for URL locations, I11), ``P/instance``, then ``values``
    (``P/``-prefixed; None means "not written")."""
    location = f"spectrocloud:{ctx.palette_url}"
    out = {"backstage.io/managed-by-location": location, "backstage.io/managed-by-origin-location": location}
    prefix = ctx.options.annotation_prefix + "/"
    if ctx.inv.instance:
        out[prefix + "instance"] = ctx.inv.instance
    out.update({prefix + k: v for k, v in values.items() if v is not None})
    return out


def _entity(
    ctx: Context,
    palette_kind: str,
    key: str,
    uid: str,
    title: str,
    owner: Ownership,
    annotations: Mapping[str, str | None],
    tags: list[str],
    spec: Mapping[str, Any],
    uids: tuple[str, ...] = (),
    description: str | None = None,
) -> MappedEntity:
    kind = SYSTEM if palette_kind == PROJECT else RESOURCE
    name = ctx.names[(palette_kind, key)]
    metadata: dict[str, Any] = {"name": name}
    if title:
        metadata["title"] = title
    metadata["description"] = description or f"{DESCRIPTIONS[palette_kind]}: {title}"
    metadata["annotations"] = _annotations(ctx, annotations)
    metadata["tags"] = list(dict.fromkeys(t for t in tags if t))
    links = console_link(ctx.console_url, palette_kind, uid, owner.project_uid)
    if links:
        metadata["links"] = links
    body_spec: dict[str, Any] = {"type": SPEC_TYPES[palette_kind], "lifecycle": LIFECYCLE}
    body_spec["owner"] = ctx.options.owner_ref
    body_spec.update({k: v for k, v in spec.items() if v})
    body = {"apiVersion": API_VERSION, "kind": kind, "metadata": metadata, "spec": body_spec}
    part = part_for(ctx.inv, palette_kind, uids or (uid,), owner.project_uid)
    return MappedEntity(entity_ref(kind, name), name, kind, palette_kind, key, owner.project_uid, part, body)


def _relations(ctx: Context, owner: Ownership, depends_on: list[str]) -> dict[str, Any]:
    return {"system": system_ref(ctx, owner), "dependsOn": depends_on}


# --- one builder per kind ----------------------------------------------------------------------


def project_entity(ctx: Context, project: ProjectSummary) -> MappedEntity:
    """Project → System ``spectrocloud-project``; ``spec.description`` wins if Palette ever sends one."""
    meta = project.metadata
    spec = project.raw.get("spec")
    description = spec.get("description") if isinstance(spec, dict) else None
    return _entity(
        ctx,
        PROJECT,
        project.uid,
        project.uid,
        project.name,
        Ownership("project", project.uid),
        {
            "project-id": project.uid,
            "scope": meta.annotations.get("scope") or "project",
            "tenant-id": meta.tenant_uid or "",
        },
        ["spectrocloud", "project"],
        {},
        description=description if isinstance(description, str) else None,
    )


def _cluster_common(ctx: Context, cluster: ClusterSummary, owner: Ownership) -> dict[str, str | None]:
    meta = cluster.metadata
    return {
        "cluster-id": cluster.uid,
        "scope": owner.scope,
        "project-id": meta.project_uid or "",
        "project-name": ctx.owner_label(owner),
    }


def _kubernetes_version(
    ctx: Context, cluster: ClusterSummary, templates: list[ProfileTemplate]
) -> str | None:
    """kubeMeta, else the k8s pack of the attached templates, else of the profile versions (I14)."""
    kube = cluster.status.kube_meta
    if kube is not None and kube.kubernetes_version:
        return kube.kubernetes_version
    for template in templates:
        version = kubernetes_version_from_packs(template.packs) or ctx.kubernetes.get(template.uid)
        if version:
            return version
    return None


def _health(cluster: ClusterSummary) -> str | None:
    health = cluster.status.health
    return health.state if health is not None and health.state else None


def cluster_entity(ctx: Context, cluster: ClusterSummary) -> MappedEntity:
    """Cluster → Resource ``spectrocloud-cluster``."""
    owner = ownership(cluster.metadata)
    cloud_type = cluster.cloud_type or "unknown"
    templates = cluster.profile_templates
    annotations = _cluster_common(ctx, cluster, owner) | {
        "overlord-id": cluster.metadata.overlord_uid or "",
        "tenant-id": cluster.metadata.tenant_uid or "",
        "cloud-type": cloud_type,
        "state": cluster.state or "unknown",
        "health-state": _health(cluster),
        "kubernetes-version": _kubernetes_version(ctx, cluster, templates) or "N/A",
        "cluster-profile-refs": profile_refs_annotation(templates),
        "cluster-profile-versions": profile_versions_annotation(ctx, templates),
    }
    tags = ["spectrocloud", "cluster", sanitize_tag(cloud_type)]
    spec = _relations(ctx, owner, cluster_depends_on(ctx, templates))
    return _entity(ctx, CLUSTER, cluster.uid, cluster.uid, cluster.name, owner, annotations, tags, spec)


def _metric(cluster: ClusterSummary, resource: str) -> tuple[str | None, str | None]:
    status = cluster.raw.get("status")
    metrics = status.get("metrics") if isinstance(status, dict) else None
    values = metrics.get(resource) if isinstance(metrics, dict) else None
    if not isinstance(values, dict) or values.get("limit") is None:
        return None, None
    unit = values.get("unit")
    return js_string(values["limit"]), unit if isinstance(unit, str) and unit else None


def virtual_cluster_entity(ctx: Context, cluster: ClusterSummary) -> MappedEntity:
    """Virtual cluster → Resource ``spectrocloud-virtual-cluster``."""
    owner = ownership(cluster.metadata)
    templates = cluster.profile_templates
    cpu, cpu_unit = _metric(cluster, "cpu")
    memory, memory_unit = _metric(cluster, "memory")
    annotations = _cluster_common(ctx, cluster, owner) | {
        "tenant-id": cluster.metadata.tenant_uid or "",
        "cloud-type": cluster.cloud_type or "nested",
        "state": cluster.state or "unknown",
        "health-state": _health(cluster),
        "kubernetes-version": _kubernetes_version(ctx, cluster, templates),
        "cpu-limit": cpu,
        "cpu-limit-unit": (cpu_unit or "MilliCore") if cpu is not None else None,
        "memory-limit": memory,
        "memory-limit-unit": (memory_unit or "KiB") if memory is not None else None,
        "host-cluster-id": host_uid(cluster),
        "cluster-group-id": group_uid(cluster),
        "cluster-profile-refs": profile_refs_annotation(templates),
        "cluster-profile-versions": profile_versions_annotation(ctx, templates),
    }
    tags = ["spectrocloud", "virtual-cluster", "nested"]
    spec = _relations(ctx, owner, virtual_depends_on(ctx, cluster, templates))
    return _entity(
        ctx, VIRTUAL_CLUSTER, cluster.uid, cluster.uid, cluster.name, owner, annotations, tags, spec
    )


def cluster_group_entity(ctx: Context, group: GroupRecord) -> MappedEntity:
    """Cluster group → Resource ``spectrocloud-cluster-group``."""
    meta = group_meta(group)
    owner = group_ownership(group)
    config = group.detail.spec.clusters_config if group.detail is not None else None
    endpoint = config.get("endpointType") if isinstance(config, dict) else None
    endpoint = endpoint if isinstance(endpoint, str) and endpoint else group.summary.spec.endpoint_type
    templates = group_templates(group)
    annotations = {
        "cluster-group-id": group.uid,
        "scope": owner.scope,
        "project-id": meta.project_uid or "",
        "project-name": ctx.owner_label(owner),
        "endpoint-type": endpoint or None,
        "cluster-profile-refs": profile_refs_annotation(templates),
        "cluster-profile-versions": profile_versions_annotation(ctx, templates),
    }
    title = group_name(group)
    spec = _relations(ctx, owner, group_depends_on(ctx, group))
    tags = ["spectrocloud", "cluster-group"]
    return _entity(ctx, CLUSTER_GROUP, group.uid, group.uid, title, owner, annotations, tags, spec)


def profile_entity(ctx: Context, family: ProfileFamily) -> MappedEntity:
    """Profile family → ONE Resource ``spectrocloud-cluster-profile`` listing every version (I4, I12)."""
    item = family.representative
    summary = item.spec_summary
    latest = family.latest
    status = "published" if summary.published is not None else "draft" if summary.draft is not None else None
    versions = [{"uid": v.uid, "version": v.version or ""} for v in family.versions]
    annotations = {
        "profile-id": latest.uid,
        "scope": family.owner.scope,
        "project-id": item.metadata.project_uid or "",
        "overlord-id": item.metadata.overlord_uid or "",
        "profile-type": item.profile_type or None,
        "cloud-type": item.cloud_type or None,
        "version": latest.version,
        "profile-status": status,
        "profile-versions": compact_json(versions),
        "latest-version": latest.version,
    }
    spec = _relations(ctx, family.owner, [])
    tags = ["spectrocloud", "cluster-profile"]
    return _entity(
        ctx,
        CLUSTER_PROFILE,
        family.key,
        latest.uid,
        family.name,
        family.owner,
        annotations,
        tags,
        spec,
        uids=tuple(family.item_uids),
    )


# --- the whole inventory -----------------------------------------------------------------------


def map_inventory(
    inv: InstanceInventory,
    options: MappingOptions,
    known_names: Mapping[tuple[str, str], str] | None = None,
    *,
    partial: bool = False,
) -> MappingResult:
    """All entities, edges and profile versions of one instance, and the problems met on the way.

    ``known_names`` maps ``(palette_kind, key)`` to the name the store holds, so names never change
    while their object exists. Invalid entities are left out and reported (never served).
    ``partial``: the inventory holds only some parts (a project-scoped crawl); known names of objects
    it does not contain stay taken, so a newcomer gets the name a full crawl would give it.
    """
    sel = select(inv, options)
    requests = name_requests(sel)
    reserved = held_elsewhere(requests, known_names or {}) if partial else []
    assignment = assign_names(requests, inv.instance, known_names or {}, reserved)
    ctx = build_context(inv, options, sel, assignment.names)
    planned: Planned = []
    if options.resources.projects:
        planned += [(project_entity(ctx, project), []) for project in sel.kept_projects]
    for cluster in sel.clusters:
        entity = cluster_entity(ctx, cluster)
        planned.append(
            (entity, template_edges(ctx, entity.ref, CLUSTER, cluster.uid, cluster.profile_templates))
        )
    for cluster in sel.virtual_clusters:
        entity = virtual_cluster_entity(ctx, cluster)
        templates = cluster.profile_templates
        planned.append((entity, virtual_edges(ctx, entity.ref, VIRTUAL_CLUSTER, cluster, templates)))
    for group in sel.groups:
        entity = cluster_group_entity(ctx, group)
        planned.append((entity, group_edges(ctx, entity.ref, group)))
    planned += [(profile_entity(ctx, family), []) for family in sel.families]
    return _finish(ctx, planned, [*sel.problems, *assignment.problems])


def _finish(ctx: Context, planned: Planned, problems: list[Problem]) -> MappingResult:
    """Validate, drop what Backstage would reject, cut relations to it, sort everything."""
    kept: Planned = []
    dropped: set[str] = set()
    for entity, edges in planned:
        errors = validate_entity(entity.body)
        if errors:
            reason = "invalid under Backstage's rules: " + "; ".join(errors)
            problems.append(Problem(entity.palette_kind, entity.key, entity.name, reason))
            dropped.add(entity.ref)
        else:
            kept.append((entity, edges))
    if dropped:
        kept = [(_without_refs(entity, dropped), _cut(edges, dropped)) for entity, edges in kept]
    refs = {entity.ref for entity, _ in kept}
    versions = [
        ProfileVersion(
            v.uid, family.key, ref, family.name, v.version, family.owner.scope, family.owner.project_uid
        )
        for family in ctx.sel.families
        if (ref := ctx.targets[(CLUSTER_PROFILE, family.key)]) in refs
        for v in family.versions
    ]
    entities = sorted((e for e, _ in kept), key=lambda e: (KIND_ORDER[e.palette_kind], e.name.lower(), e.key))
    edges = sorted(
        dict.fromkeys(edge for _, edges in kept for edge in edges),
        key=lambda e: (e.src_ref, e.relation, e.dst_uid, e.profile_key or ""),
    )
    versions.sort(key=lambda v: (v.profile_ref, version_key(v.version), v.version_uid))
    problems.sort(key=lambda p: (p.palette_kind, p.key, p.level, p.reason, p.name))
    return MappingResult(entities, edges, versions, problems)


def _without_refs(entity: MappedEntity, dropped: set[str]) -> MappedEntity:
    spec = dict(entity.body["spec"])
    if str(spec.get("system", "")).lower() in dropped:
        del spec["system"]
    depends = [ref for ref in spec.get("dependsOn", []) if ref.lower() not in dropped]
    spec.pop("dependsOn", None)
    if depends:
        spec["dependsOn"] = depends
    return replace(entity, body={**entity.body, "spec": spec})


def _cut(edges: list[Edge], dropped: set[str]) -> list[Edge]:
    return [replace(e, dst_ref=None) if e.dst_ref is not None and e.dst_ref in dropped else e for e in edges]
