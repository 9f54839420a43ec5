"""Parts whose entities would be built wrong because a part they point into failed: they are held as well.

A cluster names its profile versions, a virtual cluster its host and group, a group its members. When such
a reference does not resolve in this crawl and a part that could hold the target failed, building the
entity now would drop the relation (and put it back next time): the referring part is reported failed
with ``DependencyFailedError`` and its stored entities stay as they were. Its objects still help resolve
others. Pure; imports ``catalog`` helpers only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

from ingestor.catalog.inventory import (
    CLUSTER,
    CLUSTER_GROUP,
    CLUSTER_PROFILE,
    PART_KINDS,
    TENANT,
    VIRTUAL_CLUSTER,
    InstanceInventory,
    PartKey,
)
from ingestor.catalog.relations import group_templates, group_uid, host_uid, member_uids
from ingestor.crawl.snapshot import PartOutcome

CLUSTERS = PART_KINDS[CLUSTER]
VIRTUAL_CLUSTERS = PART_KINDS[VIRTUAL_CLUSTER]
GROUPS = PART_KINDS[CLUSTER_GROUP]
PROFILES = PART_KINDS[CLUSTER_PROFILE]
DEPENDENCY_FAILED = "DependencyFailedError"


class _Known:
    """Uids this crawl fetched, and which parts failed."""

    def __init__(self, inv: InstanceInventory, failed: Iterable[PartKey]) -> None:
        self.failed = set(failed)
        self.versions = {p.uid for p in inv.profiles} | {
            v.uid for p in inv.profiles for v in p.spec_summary.versions
        }
        self.clusters = {c.uid for c in inv.clusters}
        self.groups = {g.uid for g in inv.cluster_groups}

    def failed_in(self, kind: str, scope: str, *, anywhere: bool = False) -> PartKey | None:
        """A failed ``kind`` part an object of ``scope`` may point into: its own scope's or the tenant's."""
        for part in sorted(self.failed):
            if part[1] == kind and (anywhere or part[0] in (scope, TENANT)):
                return part
        return None

    def missing(self, uids: Iterable[str | None], known: set[str], kind: str, scope: str) -> PartKey | None:
        """The failed part that may hold one of ``uids`` this crawl could not resolve, if any."""
        if any(uid and uid not in known for uid in uids):
            return self.failed_in(kind, scope, anywhere=kind == CLUSTERS and scope == TENANT)
        return None


def _blockers(inv: InstanceInventory, known: _Known) -> dict[PartKey, PartKey]:
    """Part -> the failed part it depends on, for every part holding an unresolvable reference."""
    out: dict[PartKey, PartKey] = {}

    def check(palette_kind: str, uid: str, candidates: Sequence[PartKey | None]) -> None:
        part = inv.part_of.get((palette_kind, uid))
        blocker = next((c for c in candidates if c is not None), None)
        if part is not None and blocker is not None and part not in out:
            out[part] = blocker

    def scope_of(palette_kind: str, uid: str) -> str:
        return inv.part_of.get((palette_kind, uid), (TENANT, ""))[0]

    for cluster in inv.clusters:
        scope = scope_of(CLUSTER, cluster.uid)
        check(
            CLUSTER,
            cluster.uid,
            [known.missing(cluster.profile_version_uids, known.versions, PROFILES, scope)],
        )
    for cluster in inv.virtual_clusters:
        scope = scope_of(VIRTUAL_CLUSTER, cluster.uid)
        candidates = [
            known.missing(cluster.profile_version_uids, known.versions, PROFILES, scope),
            known.missing([host_uid(cluster)], known.clusters, CLUSTERS, scope),
            known.missing([group_uid(cluster)], known.groups, GROUPS, scope),
        ]
        check(VIRTUAL_CLUSTER, cluster.uid, candidates)
    for group in inv.cluster_groups:
        scope = scope_of(CLUSTER_GROUP, group.uid)
        templates = [t.uid for t in group_templates(group)]
        candidates = [
            known.missing(templates, known.versions, PROFILES, scope),
            known.missing(member_uids(group), known.clusters, CLUSTERS, scope),
        ]
        check(CLUSTER_GROUP, group.uid, candidates)
    return out


def hold_dependents(
    inv: InstanceInventory, outcomes: Mapping[PartKey, PartOutcome]
) -> dict[PartKey, PartOutcome]:
    """``outcomes`` with every ok part that points into a failed part turned into a failed one."""
    failed = [key for key, outcome in outcomes.items() if not outcome.ok]
    if not failed:
        return dict(outcomes)
    result = dict(outcomes)
    for part, blocker in _blockers(inv, _Known(inv, failed)).items():
        outcome = result.get(part)
        if outcome is None or not outcome.ok:
            continue
        message = f"points into the failed part {blocker[0]}/{blocker[1]}; kept as it was"
        result[part] = replace(outcome, ok=False, error_class=DEPENDENCY_FAILED, error=message)
    return result
