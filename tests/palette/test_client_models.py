"""Models: tolerant parsing, raw JSON round trip, crawler helpers, and parse speed."""

from __future__ import annotations

import copy
import time
from typing import Any

from ingestor.palette import models as m

TEMPLATES: list[dict[str, Any]] = [
    {
        "uid": "ver-1",
        "name": "base",
        "type": "cluster",
        "packs": [
            {"layer": "os", "name": "ubuntu", "tag": "22.04"},
            {"layer": "k8s", "name": "kubernetes", "tag": "1.28.4"},
        ],
    },
    {"uid": "ver-2", "name": "addons", "type": "add-on", "packs": None},
]


def summary(uid: str = "c1", cloud_type: str = "eks") -> dict[str, Any]:
    return {
        "metadata": {
            "uid": uid,
            "name": "one",
            "annotations": {"scope": "tenant", "tenantUid": "t"},
            "labels": {"env": "prod", "n": 3},
            "deletionTimestamp": m.ZERO_TIME,
        },
        "specSummary": {
            "cloudConfig": {"cloudType": cloud_type, "machinePools": None},
            "clusterProfileTemplates": TEMPLATES,
            "clusterProfileTemplate": TEMPLATES[0],
        },
        "status": {"state": "Running", "health": {"state": "Healthy", "conditions": None}, "virtual": None},
        "unknownTopLevel": {"kept": True},
    }


def test_summary_helpers() -> None:
    item = m.ClusterSummary.model_validate(summary())
    assert item.cloud_type == "eks" and not item.is_virtual
    assert item.kubernetes_version == "1.28.4"
    assert item.profile_version_uids == ["ver-1", "ver-2"]  # legacy duplicate dropped
    assert item.metadata.scope == "tenant" and item.metadata.project_uid is None
    assert item.metadata.labels == {"env": "prod", "n": "3"}
    assert not item.metadata.is_deleted
    assert item.status.health is not None and item.status.health.conditions == []
    assert item.raw["unknownTopLevel"] == {"kept": True}
    assert item.model_extra == {"unknownTopLevel": {"kept": True}}


def test_raw_is_the_input_and_dump_reproduces_keys() -> None:
    data = summary()
    item = m.ClusterSummary.model_validate(data)
    assert item.raw is data
    dumped = item.model_dump(by_alias=True, exclude_unset=True)
    assert set(dumped) == set(data)
    assert set(dumped["specSummary"]) == set(data["specSummary"])
    assert dumped["metadata"]["deletionTimestamp"] == m.ZERO_TIME
    # nested parts rebuild their JSON by alias
    assert item.metadata.raw["annotations"] == {"scope": "tenant", "tenantUid": "t"}


def test_virtual_detection_and_cloud_type_fallback() -> None:
    nested = m.ClusterSummary.model_validate(summary(cloud_type="nested"))
    assert nested.is_virtual
    by_status = m.ClusterSummary.model_validate(
        {
            "specSummary": {},
            "status": {"virtual": {"hostCluster": {"uid": "h1"}, "clusterGroup": {"uid": "g"}}},
        }
    )
    assert by_status.is_virtual and by_status.cloud_type is None
    detail = m.ClusterUidSummary.model_validate({"spec": {"cloudType": "aws"}})
    assert detail.cloud_type == "aws"  # spec.cloudType when cloudConfig is missing
    both = m.ClusterUidSummary.model_validate(
        {"spec": {"cloudType": "aws", "cloudConfig": {"cloudType": "eks"}}}
    )
    assert both.cloud_type == "eks"  # cloudConfig.cloudType first
    meta = m.ClusterMeta.model_validate({"spec": {"cloudType": "nested"}, "status": {"state": "Running"}})
    assert meta.is_virtual and meta.state == "Running"
    full = m.SpectroCluster.model_validate(
        {"spec": {"cloudType": "vsphere", "clusterConfig": {"hostClusterConfig": {"isHostCluster": True}}}}
    )
    assert not full.is_virtual and full.host_cluster_config is not None


def test_kubernetes_version_prefers_kube_meta() -> None:
    detail = m.ClusterUidSummary.model_validate(
        {
            "spec": {"clusterProfileTemplates": TEMPLATES},
            "status": {"kubeMeta": {"kubernetesVersion": "1.30.1"}},
        }
    )
    assert detail.kubernetes_version == "1.30.1"
    no_meta = m.ClusterUidSummary.model_validate(
        {"spec": {"clusterProfileTemplates": TEMPLATES}, "status": {}}
    )
    assert no_meta.kubernetes_version == "1.28.4"
    assert m.ClusterUidSummary.model_validate({}).kubernetes_version is None


def test_scope_defaults_and_deletion() -> None:
    meta = m.ObjectMeta.model_validate({"annotations": {"projectUid": "p"}})
    assert meta.scope == "project" and meta.project_uid == "p"
    assert m.ObjectMeta.model_validate({"annotations": None}).scope == "tenant"
    assert m.ObjectMeta.model_validate({"annotations": {"scope": "system"}}).scope == "system"
    assert m.ObjectMeta.model_validate({"deletionTimestamp": "2024-01-01T00:00:00.000Z"}).is_deleted


def test_profile_versions_and_usage() -> None:
    data = {
        "metadata": {"uid": "v3", "name": "base"},
        "specSummary": {
            "version": "1.2.0",
            "published": {"cloudType": "eks", "type": "cluster", "packs": None},
            "versions": [{"uid": "v1", "version": "1.0.0"}, {"uid": "v3", "version": "1.2.0"}],
        },
        "status": {"isPublished": True, "inUseClusters": [{"uid": "c1"}], "inUseClusterUids": ["c1", "c2"]},
    }
    item = m.ClusterProfileSummary.model_validate(data)
    assert item.version_uids == ["v1", "v3"] and item.version == "1.2.0"
    assert item.cloud_type == "eks" and item.profile_type == "cluster"
    assert item.in_use_cluster_uids == ["c1", "c2"]
    full = m.ClusterProfile.model_validate(
        {
            "metadata": {"uid": "v9"},
            "spec": {"versions": None, "published": {"profileVersion": "2.0.0", **TEMPLATES[0]}},
        }
    )
    assert full.version_uids == ["v9"] and full.version == "2.0.0" and full.kubernetes_version == "1.28.4"


def test_wrappers_and_null_lists() -> None:
    assert m.ClusterProfileList.model_validate({"profiles": None}).profiles == []
    assert (
        m.Variables.model_validate({"variables": [{"name": "a", "options": None}]}).by_name()["a"].options
        == []
    )
    packs = m.ProfilePacks.model_validate({"items": [{"metadata": {"uid": "p"}, "spec": {"layer": "k8s"}}]})
    assert packs.items[0].spec.layer == "k8s"
    dcs = m.VsphereDatacenters.model_validate({"items": [{"datacenter": "dc", "computeclusters": None}]})
    assert dcs.items[0].computeclusters == [] and dcs.raw["items"][0]["computeclusters"] is None
    res = m.VsphereComputeClusterResources.model_validate({"computecluster": {"resourcePools": ["a"]}})
    assert res.computecluster is not None and res.computecluster.resource_pools == ["a"]
    pool = m.IpPool.model_validate({"metadata": {"uid": "ip"}, "spec": {"priavetGatewayUid": "o1"}})
    assert pool.spec.private_gateway_uid == "o1"
    assert m.Manifest.model_validate({"spec": {"published": {"content": "a: 1"}}}).content == "a: 1"


def test_user_me_permissions_accept_tenant_or_tenant_uid() -> None:
    me = m.UserMe.model_validate(
        {
            "status": {
                "tenant": {"tenantUid": "t-1"},
                "projectPermissions": {"p1": ["cluster.list"], "p2": None},
                "tenantPermissions": {"tenant": ["project.list"], "t-1": ["cluster.get", "project.list"]},
            }
        }
    )
    assert me.project_uids == ["p1", "p2"] and me.project_permission_list("p2") == []
    assert me.tenant_permission_list() == ["project.list", "cluster.get"]


def test_cloud_account_repr_hides_spec_and_extras() -> None:
    account = m.CloudAccount.model_validate(
        {
            "metadata": {"uid": "a", "annotations": {"overlordUid": "o"}},
            "spec": {"password": "pw-1"},
            "x": "pw-2",
        }
    )
    assert "pw-1" not in repr(account) and "pw-2" not in repr(account)
    assert account.metadata.overlord_uid == "o" and account.raw["spec"]["password"] == "pw-1"


def test_parsing_ten_thousand_summaries_is_fast() -> None:
    items = []
    for i in range(10_000):
        item = copy.deepcopy(summary(uid=f"c{i}"))
        items.append(item)
    started = time.perf_counter()
    parsed = [m.ClusterSummary.model_validate(item) for item in items]
    elapsed = time.perf_counter() - started
    assert len({p.uid for p in parsed}) == 10_000
    assert elapsed < 10, f"parsing 10k summaries took {elapsed:.2f}s"
