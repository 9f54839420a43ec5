"""map_inventory behaviour (compat.md 2.2-2.6, I2-I14) on the scenario inventory and small variations."""

from __future__ import annotations

import json
import random
import time
from dataclasses import replace
from typing import Any

import pytest

from ingestor.catalog import (
    InstanceInventory,
    MappedEntity,
    MappingOptions,
    MappingResult,
    ResourceSwitches,
    map_inventory,
)
from ingestor.catalog.validation import validate_entity
from ingestor.config.models import CatalogProviderSettings

from .builders import cluster, group, profile, project, template
from .scenarios import inventory

P = "terasky.backstage.io"


def by_title(result: MappingResult, palette_kind: str) -> dict[str, MappedEntity]:
    return {e.body["metadata"].get("title", ""): e for e in result.entities if e.palette_kind == palette_kind}


def ann(entity: MappedEntity, name: str, prefix: str = P) -> str | None:
    value = entity.body["metadata"]["annotations"].get(f"{prefix}/{name}")
    assert value is None or isinstance(value, str)
    return value


@pytest.fixture(scope="module")
def default() -> MappingResult:
    return map_inventory(inventory(), MappingOptions())


def test_kinds_types_envelope(default: MappingResult) -> None:
    types = {
        "project": ("System", "spectrocloud-project"),
        "cluster": ("Resource", "spectrocloud-cluster"),
        "virtual-cluster": ("Resource", "spectrocloud-virtual-cluster"),
        "cluster-group": ("Resource", "spectrocloud-cluster-group"),
        "cluster-profile": ("Resource", "spectrocloud-cluster-profile"),
    }
    assert {e.palette_kind for e in default.entities} == set(types)
    for entity in default.entities:
        body = entity.body
        assert list(body) == ["apiVersion", "kind", "metadata", "spec"]
        assert (body["kind"], body["spec"]["type"]) == types[entity.palette_kind]
        assert body["apiVersion"] == "backstage.io/v1alpha1"
        assert body["spec"]["lifecycle"] == "production"
        assert body["spec"]["owner"] == "group:default/spectrocloud-auto-ingested"
        assert body["metadata"]["tags"][0] == "spectrocloud"
        assert ann(entity, "instance") == "prod"
        assert all(isinstance(v, str) for v in body["metadata"]["annotations"].values())
        assert validate_entity(body) == []
        assert entity.ref == f"{body['kind']}:default/{entity.name}".lower()
        assert body["metadata"]["description"].startswith("SpectroCloud ")


def test_names_are_valid_and_unique(default: MappingResult) -> None:
    refs = [e.ref for e in default.entities]
    assert len(refs) == len(set(refs))
    assert all(len(e.name) <= 63 for e in default.entities)


def test_relations_point_only_at_emitted_entities(default: MappingResult) -> None:
    refs = {e.ref for e in default.entities}
    for entity in default.entities:
        spec = entity.body["spec"]
        assert all(ref.startswith("resource:default/") and ref in refs for ref in spec.get("dependsOn", []))
        assert "dependsOn" not in spec or spec["dependsOn"]
        if "system" in spec:
            assert spec["system"] in refs and spec["system"].startswith("system:default/")
    for edge in default.edges:
        assert edge.src_ref in refs
        assert edge.dst_ref is None or edge.dst_ref in refs


def test_one_entity_per_profile_family_with_all_versions(default: MappingResult) -> None:
    base = [e for e in default.entities if e.key == "tenant::Base K8s"]
    assert len(base) == 1
    entity = base[0]
    assert json.loads(ann(entity, "profile-versions") or "") == [
        {"uid": "pv-base-100", "version": "1.0.0"},
        {"uid": "pv-base-190", "version": "1.9.0"},
        {"uid": "pv-base-1100", "version": "1.10.0"},
    ]
    assert ann(entity, "profile-id") == "pv-base-1100"
    assert ann(entity, "version") == ann(entity, "latest-version") == "1.10.0"
    # clusters on three different versions all depend on the one family entity (I4)
    users = [e for e in default.entities if entity.ref in e.body["spec"].get("dependsOn", [])]
    assert {e.key for e in users} == {"cl-a-underscore", "cl-a-dash", "cl-eks"}
    versions = {(v.version_uid, v.version) for v in default.profile_versions if v.profile_key == entity.key}
    assert versions == {("pv-base-100", "1.0.0"), ("pv-base-190", "1.9.0"), ("pv-base-1100", "1.10.0")}


def test_cluster_annotations(default: MappingResult) -> None:
    eks = by_title(default, "cluster")["eks_01"]
    assert json.loads(ann(eks, "cluster-profile-refs") or "") == [
        {"name": "Base K8s", "uid": "pv-base-1100"},
        {"name": "Addon", "uid": "pv-addon-1"},
    ]
    assert json.loads(ann(eks, "cluster-profile-versions") or "") == [
        {"name": "Base K8s", "uid": "pv-base-1100", "version": "1.10.0"},
        {"name": "Addon", "uid": "pv-addon-1", "version": "1.0.0"},
    ]
    assert ann(eks, "health-state") == "Unhealthy"
    assert ann(eks, "kubernetes-version") == "1.30.2"  # from the profile version's k8s pack
    assert ann(eks, "project-name") == "Payments"
    clusters = by_title(default, "cluster")
    assert ann(clusters["a_b"], "kubernetes-version") == "1.28.0"  # from the template's own pack
    assert ann(clusters["host-1"], "kubernetes-version") == "N/A"
    assert ann(clusters["host-1"], "state") == "unknown"
    assert ann(clusters["host-1"], "overlord-id") == "pcg-1"
    assert clusters["a_b"].body["metadata"]["tags"] == ["spectrocloud", "cluster", "edge-native"]
    assert ann(clusters["a_b"], "cloud-type") == "Edge_Native"
    assert ann(clusters["stray"], "project-name") == "proj-gone"  # unknown project: its uid
    assert "system" not in clusters["stray"].body["spec"]


def test_virtual_cluster(default: MappingResult) -> None:
    vcs = by_title(default, "virtual-cluster")
    one = vcs["vc_one"]
    host = by_title(default, "cluster")["host-1"].ref
    shared = by_title(default, "cluster-group")["shared"].ref
    addon = next(e.ref for e in default.entities if e.key == "project:proj-pay:Addon")
    assert one.body["spec"]["dependsOn"] == [host, shared, addon]
    assert one.body["spec"]["system"] == by_title(default, "project")["Payments"].ref
    assert (ann(one, "cpu-limit"), ann(one, "cpu-limit-unit")) == ("2000", "MilliCore")
    assert (ann(one, "memory-limit"), ann(one, "memory-limit-unit")) == ("1048576.5", "KiB")
    assert (ann(one, "host-cluster-id"), ann(one, "cluster-group-id")) == ("cl-host", "grp-shared")
    assert one.body["metadata"]["tags"] == ["spectrocloud", "virtual-cluster", "nested"]
    two = vcs["vc-two"]
    assert "dependsOn" not in two.body["spec"]  # its host was not crawled
    assert ann(two, "cloud-type") == "nested" and ann(two, "kubernetes-version") is None
    assert "vc-in-list" not in by_title(default, "cluster")  # a nested cluster in the cluster list


def test_virtual_cluster_kubernetes_version_from_templates() -> None:
    inv = InstanceInventory(
        "i",
        "https://api.example.com",
        "",
        virtual_clusters=[cluster("v", "v", cloud="nested", templates=[template("t", "k3s", "1.29.1")])],
    )
    (entity,) = map_inventory(inv, MappingOptions()).entities
    assert ann(entity, "kubernetes-version") == "1.29.1"  # I14


def test_groups(default: MappingResult) -> None:
    groups = by_title(default, "cluster-group")
    shared, science, beehive = groups["shared"], groups["ds-group"], groups["beehive"]
    assert shared.body["spec"]["dependsOn"] == [
        by_title(default, "cluster")["host-1"].ref,
        next(e.ref for e in default.entities if e.key == "system::spectro-core"),
    ]
    assert ann(shared, "endpoint-type") == "LoadBalancer"  # from the detail
    assert ann(science, "endpoint-type") == "Ingress"  # from the summary (no detail)
    assert ann(science, "project-name") == "Data_Science"  # I12
    assert ann(shared, "project-name") == "tenant"
    assert (beehive.name, ann(beehive, "scope")) == ("prod-system-beehive", "system")  # I7
    members = [(e.dst_uid, e.dst_ref is not None) for e in default.edges if e.relation == "group-member"]
    assert sorted(members) == [("cl-host", True), ("cl-long", True), ("cl-missing", False)]


def test_duplicates_are_mapped_once(default: MappingResult) -> None:
    keys = [(e.palette_kind, e.key) for e in default.entities]
    assert len(keys) == len(set(keys))
    assert ("project", "proj-pay") in keys and ("cluster-group", "grp-shared") in keys


def test_parts(default: MappingResult) -> None:
    parts = {e.key: e.part for e in default.entities}
    assert parts["proj-pay"] == ("tenant", "projects")
    assert parts["cl-eks"] == ("tenant", "clusters")  # what the crawler recorded
    assert parts["cl-legacy"] == ("proj-legacy", "clusters")  # natural part
    assert parts["tenant::Base K8s"] == ("tenant", "clusterProfiles")
    assert parts["project:proj-pay:Addon"] == ("proj-pay", "clusterProfiles")
    assert parts["vc-1"] == ("proj-pay", "virtualClusters")
    assert parts["grp-beehive"] == ("tenant", "clusterGroups")


def test_edges(default: MappingResult) -> None:
    uses = {(e.src_uid, e.dst_uid): e for e in default.edges if e.relation == "uses-profile-version"}
    assert uses[("cl-eks", "pv-base-1100")].profile_key == "tenant::Base K8s"
    assert uses[("cl-eks", "pv-base-1100")].version == "1.10.0"
    gone = uses[("cl-long", "pv-gone")]
    assert (gone.dst_ref, gone.profile_key, gone.version) == (None, None, "9.9.9")
    relations = {(e.src_uid, e.relation, e.dst_uid) for e in default.edges if e.src_kind == "virtual-cluster"}
    assert ("vc-1", "runs-on-host", "cl-host") in relations and (
        "vc-1",
        "in-group",
        "grp-shared",
    ) in relations


def test_links_go_to_the_console(default: MappingResult) -> None:
    eks = by_title(default, "cluster")["eks_01"]
    assert eks.body["metadata"]["links"] == [
        {
            "url": "https://console.palette.example.com/projects/proj-pay/clusters/cl-eks/overview",
            "title": "Open in Palette",
            "icon": "dashboard",
        }
    ]
    base = next(e for e in default.entities if e.key == "tenant::Base K8s")
    assert base.body["metadata"]["links"][0]["url"].endswith("/admin/profiles/cluster/pv-base-1100")


def test_unnamed_instance_custom_prefix_no_console() -> None:
    result = map_inventory(
        inventory(instance=None, console_url=""), MappingOptions(annotation_prefix="example.com")
    )
    for entity in result.entities:
        annotations = entity.body["metadata"]["annotations"]
        assert not any(k.startswith(P) for k in annotations)
        assert "example.com/instance" not in annotations
        assert "links" not in entity.body["metadata"]
        assert not entity.name.startswith("prod-")


def test_output_does_not_depend_on_input_order() -> None:
    inv = inventory()
    expected = map_inventory(inv, MappingOptions())
    rng = random.Random(3)
    for _ in range(5):
        shuffled: dict[str, Any] = {}
        for field in ("projects", "clusters", "virtual_clusters", "cluster_groups", "profiles"):
            items = list(getattr(inv, field))
            rng.shuffle(items)
            shuffled[field] = items
        assert map_inventory(replace(inv, **shuffled), MappingOptions()) == expected


def test_filters() -> None:
    options = MappingOptions(
        include_projects=("Payments", "Legacy"),
        exclude_projects=("Legacy",),
        exclude_tenant_scoped_resources=True,
    )
    result = map_inventory(inventory(), options)
    assert sorted(by_title(result, "project")) == ["Payments"]
    owners = {(e.palette_kind, e.project_uid) for e in result.entities}
    assert all(project_uid in (None, "proj-pay") for _, project_uid in owners)
    scopes = {ann(e, "scope") for e in result.entities if e.palette_kind != "project"}
    assert "tenant" not in scopes and "system" in scopes  # only tenant scope is excluded


def test_project_filters_only_drop_objects_when_a_list_is_set() -> None:
    result = map_inventory(inventory(), MappingOptions(exclude_tenant_scoped_resources=True))
    assert "stray" in by_title(result, "cluster")  # its project is unknown, but no list is configured
    assert len(by_title(result, "project")) == 4  # excludeTenantScopedResources never drops projects


def test_switches() -> None:
    options = MappingOptions(
        resources=ResourceSwitches(projects=False, cluster_profiles=False, cluster_groups=False)
    )
    result = map_inventory(inventory(), options)
    kinds = {e.palette_kind for e in result.entities}
    assert kinds == {"cluster", "virtual-cluster"}
    eks = by_title(result, "cluster")["eks_01"]
    assert eks.body["spec"]["system"] == "system:default/prod-payments"  # projects still name systems (I3)
    assert eks.name == "prod-payments-eks-01"  # ...and entities (I3)
    assert "dependsOn" not in eks.body["spec"]
    assert by_title(result, "virtual-cluster")["vc_one"].body["spec"]["dependsOn"] == [
        by_title(result, "cluster")["host-1"].ref
    ]
    edges = [e for e in result.edges if e.src_uid == "cl-eks"]
    assert edges and all(e.dst_ref is None and e.profile_key for e in edges)
    assert result.profile_versions == []


def test_owner_settings() -> None:
    result = map_inventory(inventory(), MappingOptions(owner_namespace="user", default_owner="jane"))
    assert {e.body["spec"]["owner"] for e in result.entities} == {"user:default/jane"}


def test_options_from_the_real_settings() -> None:
    settings = CatalogProviderSettings.model_validate(
        {
            "defaultOwner": "team-a",
            "ownerNamespace": "user",
            "includeProjects": ["Payments"],
            "excludeTenantScopedResources": True,
            "resources": {"virtualClusters": False},
        }
    )
    options = MappingOptions.from_settings("acme.io", settings.model_dump())
    assert options == MappingOptions(
        annotation_prefix="acme.io",
        default_owner="team-a",
        owner_namespace="user",
        include_projects=("Payments",),
        exclude_tenant_scoped_resources=True,
        resources=ResourceSwitches(virtual_clusters=False),
    )
    assert options.owner_ref == "user:default/team-a"


def test_invalid_entities_are_left_out_and_relations_to_them_cut(monkeypatch: pytest.MonkeyPatch) -> None:
    real = validate_entity

    def reject_host(entity: object) -> list[str]:
        assert isinstance(entity, dict)
        return ["pretend"] if entity["metadata"]["name"] == "prod-tenant-host-1" else real(entity)

    monkeypatch.setattr("ingestor.catalog.entities.validate_entity", reject_host)
    result = map_inventory(inventory(), MappingOptions())
    assert "host-1" not in by_title(result, "cluster")
    problem = next(p for p in result.problems if p.key == "cl-host")
    assert (problem.level, problem.name) == ("error", "prod-tenant-host-1")
    assert "pretend" in problem.reason
    host_ref = "resource:default/prod-tenant-host-1"
    assert all(host_ref not in e.body["spec"].get("dependsOn", []) for e in result.entities)
    assert [e.dst_ref for e in result.edges if e.dst_uid == "cl-host"] == [None, None]
    assert by_title(result, "virtual-cluster")["vc_one"].body["spec"]["dependsOn"][0].endswith("-shared")


def test_invalid_options_leave_everything_out_as_problems() -> None:
    result = map_inventory(inventory(), MappingOptions(annotation_prefix="Not A Prefix"))
    assert result.entities == [] and result.edges == [] and result.profile_versions == []
    errors = [p for p in result.problems if p.level == "error"]
    assert len(errors) == 22 and all("annotations key is not valid" in p.reason for p in errors)


def test_objects_without_uid_are_reported() -> None:
    inv = InstanceInventory("i", "https://api.example.com", "", clusters=[cluster("", "nameless")])
    result = map_inventory(inv, MappingOptions())
    assert result.entities == []
    assert [(p.palette_kind, p.name, p.level) for p in result.problems] == [("cluster", "nameless", "error")]


def test_urls_with_credentials_never_reach_the_output() -> None:
    inv = replace(
        inventory(),
        palette_url="https://user:s3cr3t-token@api.example.com/?key=s3cr3t-token#s3cr3t-token",
        console_url="https://admin:s3cr3t-token@console.example.com/",
    )
    result = map_inventory(inv, MappingOptions())
    text = json.dumps([e.body for e in result.entities]) + repr(result)
    assert "s3cr3t-token" not in text
    assert "admin:" not in text and "user:" not in text
    assert "spectrocloud:https://api.example.com" in text


def test_projects_named_like_tenant_or_system_do_not_break_scoping() -> None:
    inv = InstanceInventory(
        "prod",
        "https://api.example.com",
        "",
        projects=[project("p-t", "tenant")],
        clusters=[cluster("c1", "x", project="p-t"), cluster("c2", "x")],
        cluster_groups=[group("g1", "grp", project="p-t")],
        profiles=[profile("v1", "x", "1.0.0", [], project="p-t")],
    )
    result = map_inventory(inv, MappingOptions())
    names = {e.key: e.name for e in result.entities}
    assert names["c1"] != names["c2"] and {names["c1"], names["c2"]} >= {"prod-tenant-x"}
    assert names["project:p-t:x"] not in (names["c1"], names["c2"])
    assert len({e.ref for e in result.entities}) == len(result.entities)


def test_ten_thousand_clusters_map_in_a_few_seconds() -> None:
    projects = [project(f"p{i}", f"project-{i}") for i in range(50)]
    profiles = [
        profile(
            f"v{i}-2",
            f"family-{i}",
            "1.2.0",
            [(f"v{i}-{k}", f"1.{k}.0") for k in range(3)],
            project=f"p{i % 50}",
        )
        for i in range(500)
    ]
    clusters = [
        cluster(
            f"c{i}", f"cluster-{i}", project=f"p{i % 50}", templates=[template(f"v{i % 500}-{i % 3}", "x")]
        )
        for i in range(10_000)
    ]
    inv = InstanceInventory(
        "prod", "https://api.example.com", "https://console.example.com", projects, clusters
    )
    inv = replace(inv, profiles=profiles)
    started = time.perf_counter()
    result = map_inventory(inv, MappingOptions())
    elapsed = time.perf_counter() - started
    assert len(result.entities) == 10_550 and len(result.edges) == 10_000
    assert elapsed < 15, f"mapping 10,550 entities took {elapsed:.1f} s"
