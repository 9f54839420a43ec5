"""Which Palette objects become entities: de-duplication by uid (I6, I13), the ``catalogProvider``
project and scope filters (compat.md 2.6) and the ``resources.*`` switches.

Pure; imports only ``ingestor.palette.models`` and sibling catalog modules.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from ingestor.catalog.inventory import (
    CLUSTER,
    CLUSTER_GROUP,
    CLUSTER_PROFILE,
    PROJECT,
    TENANT,
    VIRTUAL_CLUSTER,
    GroupRecord,
    InstanceInventory,
)
from ingestor.catalog.naming import Ownership, ownership
from ingestor.catalog.options import MappingOptions
from ingestor.catalog.profiles import ProfileFamily, build_families
from ingestor.catalog.result import Problem
from ingestor.palette.models import ClusterSummary, ObjectMeta, ProjectSummary

T = TypeVar("T")


@dataclass
class Selection:
    """The de-duplicated inventory and the subset to emit, each list sorted by uid (or family key)."""

    projects: dict[str, ProjectSummary]  # every crawled project, by uid (for naming, I3)
    kept_projects: list[ProjectSummary]  # after the project filters: spec.system targets
    clusters: list[ClusterSummary] = field(default_factory=list)
    virtual_clusters: list[ClusterSummary] = field(default_factory=list)
    groups: list[GroupRecord] = field(default_factory=list)
    families: list[ProfileFamily] = field(default_factory=list)  # families to emit
    all_families: list[ProfileFamily] = field(default_factory=list)  # every family (version lookup)
    problems: list[Problem] = field(default_factory=list)


def group_meta(group: GroupRecord) -> ObjectMeta:
    """The detail's metadata when it carries annotations, else the summary's."""
    if group.detail is not None and group.detail.metadata.annotations:
        return group.detail.metadata
    return group.summary.metadata


def group_ownership(group: GroupRecord) -> Ownership:
    return ownership(group_meta(group), group.summary.spec.scope)


def select(inv: InstanceInventory, options: MappingOptions) -> Selection:
    problems: list[Problem] = []
    projects = _unique(inv.projects, PROJECT, lambda p: p.uid, lambda p: p.name, problems)
    kept = [p for p in projects if _project_kept(p, options)]
    sel = Selection({p.uid: p for p in projects}, kept)
    kept_uids = frozenset(p.uid for p in kept)

    def keep(meta: ObjectMeta, owner: Ownership) -> bool:
        if options.exclude_tenant_scoped_resources and owner.scope == TENANT:
            return False
        project_uid = meta.project_uid
        return not (options.project_filter_active and project_uid and project_uid not in kept_uids)

    virtual = _unique(inv.virtual_clusters, VIRTUAL_CLUSTER, lambda c: c.uid, lambda c: c.name, problems)
    virtual_uids = {c.uid for c in virtual}
    clusters = _unique(inv.clusters, CLUSTER, lambda c: c.uid, lambda c: c.name, problems)
    # Virtual clusters come from the nested search; the anchor also skipped `nested` ones here.
    clusters = [c for c in clusters if c.uid not in virtual_uids and not c.is_virtual]
    groups = _unique(inv.cluster_groups, CLUSTER_GROUP, lambda g: g.uid, group_name, problems)
    items = _unique(inv.profiles, CLUSTER_PROFILE, lambda p: p.uid, lambda p: p.name, problems)
    sel.all_families = build_families(items)
    switches = options.resources
    if switches.clusters:
        sel.clusters = [c for c in clusters if keep(c.metadata, ownership(c.metadata))]
    if switches.virtual_clusters:
        sel.virtual_clusters = [c for c in virtual if keep(c.metadata, ownership(c.metadata))]
    if switches.cluster_groups:
        sel.groups = [g for g in groups if keep(group_meta(g), group_ownership(g))]
    if switches.cluster_profiles:
        sel.families = [f for f in sel.all_families if keep(f.representative.metadata, f.owner)]
    sel.problems = problems
    return sel


def _project_kept(project: ProjectSummary, options: MappingOptions) -> bool:
    """``includeProjects`` then ``excludeProjects`` (exact names).

    ``excludeTenantScopedResources`` does not apply: projects are tenant-level objects (Palette
    annotates them ``scope: tenant``), so the anchor's rule would drop every System and with them
    every ``spec.system``.
    """
    if options.include_projects and project.name not in options.include_projects:
        return False
    return project.name not in options.exclude_projects


def group_name(group: GroupRecord) -> str:
    """The summary's name, else the detail's."""
    return group.summary.name or (group.detail.name if group.detail is not None else "")


def _unique(
    items: Sequence[T],
    palette_kind: str,
    uid_of: Callable[[T], str],
    name_of: Callable[[T], str],
    problems: list[Problem],
) -> list[T]:
    """One object per uid, sorted by uid; objects without a uid are reported and left out."""
    by_uid: dict[str, list[T]] = {}
    for item in items:
        uid = uid_of(item)
        if not uid:
            problems.append(Problem(palette_kind, "", name_of(item), "the object has no uid"))
            continue
        by_uid.setdefault(uid, []).append(item)
    return [_pick(by_uid[uid]) for uid in sorted(by_uid)]


def _pick(copies: Iterable[T]) -> T:
    """The same object seen in several lists: the most recently modified copy, ties by content."""
    copies = list(copies)
    if len(copies) == 1:
        return copies[0]
    return max(copies, key=_fingerprint)


def _fingerprint(item: object) -> tuple[str, str]:
    target = item.summary if isinstance(item, GroupRecord) else item
    meta = getattr(target, "metadata", None)
    modified = (meta.last_modified_timestamp if isinstance(meta, ObjectMeta) else None) or ""
    raw = getattr(target, "raw", None)
    detail = item.detail.raw if isinstance(item, GroupRecord) and item.detail is not None else None
    return modified, json.dumps([raw, detail], sort_keys=True, default=str)
