"""What every entity builder needs to know about the whole inventory: names, relation targets,
profile versions. Built once per mapping.

Pure; imports only ``ingestor.palette.models`` and sibling catalog modules.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ingestor.catalog.inventory import (
    CLUSTER,
    CLUSTER_GROUP,
    CLUSTER_PROFILE,
    PROJECT,
    VIRTUAL_CLUSTER,
    InstanceInventory,
)
from ingestor.catalog.links import clean_base_url
from ingestor.catalog.naming import NameRequest, Ownership, entity_ref, ownership, project_part
from ingestor.catalog.options import MappingOptions
from ingestor.catalog.profiles import VersionHit, index_versions, kubernetes_by_version
from ingestor.catalog.selection import Selection, group_name, group_ownership
from ingestor.palette.models import ClusterSummary

SYSTEM = "System"
RESOURCE = "Resource"


@dataclass(frozen=True)
class Context:
    inv: InstanceInventory
    options: MappingOptions
    sel: Selection
    names: Mapping[tuple[str, str], str]  # (palette_kind, key) -> entity name
    targets: Mapping[tuple[str, str], str]  # (palette_kind, uid or family key) -> ref of a planned Resource
    system_refs: Mapping[str, str]  # project uid -> System ref (kept projects, emitted or not: I3)
    versions: Mapping[str, VersionHit]  # profile version uid -> family (every family)
    kubernetes: Mapping[str, str]  # profile version uid -> Kubernetes version of its k8s pack
    palette_url: str  # cleaned
    console_url: str  # cleaned ("" for no links)

    def project_name(self, project_uid: str) -> str:
        """The crawled project's name, else its uid (the anchor's fallback)."""
        project = self.sel.projects.get(project_uid)
        return project.name if project is not None and project.name else project_uid

    def owner_label(self, owner: Ownership) -> str:
        """``P/project-name``: the project's name, else ``tenant`` / ``system``."""
        return self.project_name(owner.project_uid) if owner.project_uid else owner.scope

    def annotation(self, name: str) -> str:
        return self.options.annotation(name)


def _parts(sel: Selection, owner: Ownership, name: str) -> tuple[str, ...]:
    """The anchor's naming input: ``<project name>-<name>``, ``tenant-<name>``, ``system-<name>`` (I7)."""
    if owner.project_uid is None:
        return (owner.scope, name)
    project = sel.projects.get(owner.project_uid)
    return (project_part(project.name if project is not None else "", owner.project_uid), name)


def name_requests(sel: Selection) -> list[NameRequest]:
    """Every entity we may emit, plus every kept project (its System ref is ``spec.system``)."""
    requests = [NameRequest(PROJECT, p.uid, SYSTEM, (p.name,)) for p in sel.kept_projects]

    def cluster_request(kind: str, cluster: ClusterSummary) -> NameRequest:
        parts = _parts(sel, ownership(cluster.metadata), cluster.name)
        return NameRequest(kind, cluster.uid, RESOURCE, parts)

    requests += [cluster_request(CLUSTER, c) for c in sel.clusters]
    requests += [cluster_request(VIRTUAL_CLUSTER, c) for c in sel.virtual_clusters]
    for group in sel.groups:
        parts = _parts(sel, group_ownership(group), group_name(group))
        requests.append(NameRequest(CLUSTER_GROUP, group.uid, RESOURCE, parts))
    for family in sel.families:
        requests.append(
            NameRequest(CLUSTER_PROFILE, family.key, RESOURCE, _parts(sel, family.owner, family.name))
        )
    return requests


def held_elsewhere(
    requests: list[NameRequest], known_names: Mapping[tuple[str, str], str]
) -> list[tuple[NameRequest, str]]:
    """Stored names of objects this inventory does not contain: a partial (project-scoped) mapping must
    not hand them out, since the full crawl keeps them for their objects."""
    wanted = {(r.palette_kind, r.key) for r in requests}
    return [
        (NameRequest(palette_kind, key, SYSTEM if palette_kind == PROJECT else RESOURCE, ()), name)
        for (palette_kind, key), name in sorted(known_names.items())
        if (palette_kind, key) not in wanted
    ]


def build_context(
    inv: InstanceInventory, options: MappingOptions, sel: Selection, names: Mapping[tuple[str, str], str]
) -> Context:
    targets: dict[tuple[str, str], str] = {}
    for kind, items in ((CLUSTER, sel.clusters), (VIRTUAL_CLUSTER, sel.virtual_clusters)):
        for cluster in items:
            targets[(kind, cluster.uid)] = entity_ref(RESOURCE, names[(kind, cluster.uid)])
    for group in sel.groups:
        targets[(CLUSTER_GROUP, group.uid)] = entity_ref(RESOURCE, names[(CLUSTER_GROUP, group.uid)])
    for family in sel.families:
        targets[(CLUSTER_PROFILE, family.key)] = entity_ref(RESOURCE, names[(CLUSTER_PROFILE, family.key)])
    system_refs = {p.uid: entity_ref(SYSTEM, names[(PROJECT, p.uid)]) for p in sel.kept_projects}
    profile_items = [item for family in sel.all_families for item in family.items]
    return Context(
        inv=inv,
        options=options,
        sel=sel,
        names=names,
        targets=targets,
        system_refs=system_refs,
        versions=index_versions(sel.all_families),
        kubernetes=kubernetes_by_version(profile_items),
        palette_url=clean_base_url(inv.palette_url),
        console_url=clean_base_url(inv.console_url),
    )
