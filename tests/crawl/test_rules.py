"""Pure rules of the crawl: which scope owns a listed object, and which parts wait for a failed one."""

from __future__ import annotations

from typing import Any

import pytest

from ingestor.catalog import GroupRecord, InstanceInventory
from ingestor.crawl.dependency import DEPENDENCY_FAILED, hold_dependents
from ingestor.crawl.lists import belongs
from ingestor.crawl.snapshot import PartOutcome
from ingestor.palette.models import ClusterGroupSummary, ClusterProfileSummary, ClusterSummary, ObjectMeta


def meta(**annotations: str) -> ObjectMeta:
    return ObjectMeta(uid="u1", name="n", annotations=annotations)


@pytest.mark.parametrize(
    ("annotations", "hint", "tenant", "p1"),
    [
        ({"scope": "tenant"}, None, True, False),
        ({"scope": "system"}, None, True, False),
        ({"scope": "project", "projectUid": "p1"}, None, False, True),
        ({"scope": "project", "projectUid": "p2"}, None, False, False),
        ({"projectUid": "p1"}, None, False, True),
        ({}, None, True, True),  # nothing says otherwise: the list that returned it owns it
        ({}, "tenant", True, False),  # a group summary's spec.scope
        ({}, "system", True, False),
    ],
)
def test_which_scope_owns_a_listed_object(
    annotations: dict[str, str], hint: str | None, tenant: bool, p1: bool
) -> None:
    assert belongs(meta(**annotations), "tenant", hint) is tenant
    assert belongs(meta(**annotations), "p1", hint) is p1


def cluster(uid: str, project: str, versions: list[str], **status: Any) -> ClusterSummary:
    return ClusterSummary.model_validate(
        {
            "metadata": {"uid": uid, "name": uid, "annotations": {"scope": "project", "projectUid": project}},
            "specSummary": {"clusterProfileTemplates": [{"uid": v, "name": v} for v in versions]},
            "status": status,
        }
    )


def profile(uid: str, scope: str, project: str = "") -> ClusterProfileSummary:
    annotations = {"scope": scope, **({"projectUid": project} if project else {})}
    return ClusterProfileSummary.model_validate(
        {
            "metadata": {"uid": uid, "name": uid, "annotations": annotations},
            "specSummary": {"versions": [{"uid": uid}]},
        }
    )


def outcomes(*parts: tuple[str, str, bool]) -> dict[tuple[str, str], PartOutcome]:
    return {(s, k): PartOutcome(s, k, ok) for s, k, ok in parts}


def test_a_part_naming_versions_of_a_failed_profile_part_is_held() -> None:
    inv = InstanceInventory(
        "i",
        "http://p",
        "",
        clusters=[cluster("c1", "p1", ["v-tenant", "v-p1"]), cluster("c2", "p2", ["v-tenant"])],
        profiles=[profile("v-tenant", "tenant")],
        part_of={("cluster", "c1"): ("p1", "clusters"), ("cluster", "c2"): ("p2", "clusters")},
    )
    state = outcomes(("p1", "clusters", True), ("p1", "clusterProfiles", False), ("p2", "clusters", True))

    held = hold_dependents(inv, state)

    assert held[("p1", "clusters")].ok is False and held[("p1", "clusters")].error_class == DEPENDENCY_FAILED
    assert held[("p2", "clusters")].ok  # its only version resolved
    assert held[("p1", "clusterProfiles")] == state[("p1", "clusterProfiles")]


def test_nothing_is_held_when_no_part_failed_even_with_unresolved_references() -> None:
    inv = InstanceInventory(
        "i",
        "http://p",
        "",
        clusters=[cluster("c1", "p1", ["gone"])],
        part_of={("cluster", "c1"): ("p1", "clusters")},
    )
    state = outcomes(("p1", "clusters", True), ("p1", "clusterProfiles", True))
    assert hold_dependents(inv, state) == state


def test_tenant_groups_wait_for_a_failed_cluster_part_of_any_project() -> None:
    group = ClusterGroupSummary.model_validate(
        {
            "metadata": {"uid": "g1", "name": "g1", "annotations": {"scope": "tenant"}},
            "spec": {"scope": "tenant", "hostClusters": [{"uid": "h-in-p3"}]},
        }
    )
    virtual = cluster("v1", "p1", [], virtual={"hostCluster": {"uid": "h-tenant"}})
    inv = InstanceInventory(
        "i",
        "http://p",
        "",
        virtual_clusters=[virtual],
        cluster_groups=[GroupRecord(group)],
        part_of={
            ("cluster-group", "g1"): ("tenant", "clusterGroups"),
            ("virtual-cluster", "v1"): ("p1", "virtualClusters"),
        },
    )
    state = outcomes(
        ("tenant", "clusterGroups", True), ("p3", "clusters", False), ("p1", "virtualClusters", True)
    )

    held = hold_dependents(inv, state)

    assert held[("tenant", "clusterGroups")].error_class == DEPENDENCY_FAILED
    assert held[("p1", "virtualClusters")].ok  # its host can only live in p1 or the tenant, neither failed
