"""Cluster creation: 422 with failing paths, 400 on malformed JSON, 409 on duplicates, and 201 + AuditUid
with the new cluster visible in lists, meta, details and the profiles' ``inUseClusters``."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from ingestor.palette.schema import SpecValidator
from ingestor.simulator.dataset import owner_of
from ingestor.simulator.server import SimulatorServer
from tests.simulator.helpers import assert_error, assert_valid

UID = re.compile(r"^[0-9a-f]{24}$")


def _project(sim: SimulatorServer) -> str:
    return next(iter(sim.dataset.collection("projects")))


def _account(sim: SimulatorServer, cloud: str) -> str:
    return next(
        u
        for u, t in sim.dataset.cloud_account_types.items()
        if t == cloud and owner_of(sim.dataset.collection("cloudAccounts")[u])[0] == "tenant"
    )


def _profile(sim: SimulatorServer, name: str, version: str = "1.1.0") -> str:
    return next(
        u
        for u, r in sim.dataset.collection("clusterProfiles").items()
        if r["metadata"]["name"] == name and r["spec"]["version"] == version
    )


def eks_body(
    sim: SimulatorServer, name: str = "new-eks", pools_key: str = "machinepoolconfig"
) -> dict[str, Any]:
    pool = {
        "cloudConfig": {"instanceType": "t3.large"},
        "poolConfig": {"name": "worker-pool", "size": 2, "labels": ["worker"]},
    }
    return {
        "metadata": {
            "name": name,
            "labels": {"team": "payments"},
            "annotations": {"description": "made by a test"},
        },
        "spec": {
            "cloudAccountUid": _account(sim, "aws"),
            "cloudConfig": {"region": "us-west-2"},
            pools_key: [pool],
            "profiles": [{"uid": _profile(sim, "eks-base")}],
        },
    }


def vsphere_body(sim: SimulatorServer, name: str = "new-vsphere") -> dict[str, Any]:
    placement = {
        "cluster": "Cluster-A",
        "datacenter": "Datacenter-1",
        "datastore": "vsanDatastore-1A",
        "folder": "/Datacenter-1/vm/palette",
        "resourcePool": "Resources",
        "network": {"networkName": "VM Network", "staticIp": False},
    }
    pools = [
        {
            "cloudConfig": {
                "instanceType": {"numCPUs": 4, "memoryMiB": 8192, "diskGiB": 60},
                "placements": [placement],
            },
            "poolConfig": {"name": "cp-pool", "size": 1, "labels": ["control-plane"], "isControlPlane": True},
        },
        {
            "cloudConfig": {
                "instanceType": {"numCPUs": 8, "memoryMiB": 16384, "diskGiB": 100},
                "placements": [placement],
            },
            "poolConfig": {"name": "worker-pool", "size": 3, "labels": ["worker"]},
        },
    ]
    return {
        "metadata": {"name": name},
        "spec": {
            "cloudAccountUid": _account(sim, "vsphere"),
            "cloudConfig": {"placement": placement, "sshKeys": ["ssh-ed25519 AAAA test"], "staticIp": False},
            "machinepoolconfig": pools,
            "profiles": [{"uid": _profile(sim, "vsphere-base", "1.0.0")}],
        },
    }


def virtual_body(sim: SimulatorServer, name: str = "new-vc") -> dict[str, Any]:
    index = sim.dataset.index()
    group = next(
        g
        for g, hosts in index.hosts_by_group.items()
        if hosts and owner_of(sim.dataset.collection("clusterGroups")[g])[0] == "tenant"
    )
    limits = {
        "maxCPU": 4,
        "maxMemInMiB": 8192,
        "maxStorageGiB": 20,
        "minCPU": 1,
        "minMemInMiB": 1024,
        "minStorageGiB": 5,
    }
    return {
        "metadata": {"name": name},
        "spec": {
            "clusterConfig": {
                "hostClusterConfig": {
                    "clusterGroup": {"uid": group},
                    "hostCluster": {"uid": index.hosts_by_group[group][0]},
                }
            },
            "machinepoolconfig": [{"cloudConfig": {"instanceType": limits}}],
            "profiles": [],
        },
    }


def test_create_eks_is_visible_everywhere(
    fresh_sim: SimulatorServer, fresh_client: httpx.Client, validator: SpecValidator
) -> None:
    project = _project(fresh_sim)
    scope = {"ProjectUid": project}
    before = fresh_sim.dataset.revision
    response = fresh_client.post("/v1/spectroclusters/eks", headers=scope, json=eks_body(fresh_sim))
    assert response.status_code == 201, response.text
    assert_valid(validator, "v1Uid", response.json())
    uid = response.json()["uid"]
    assert UID.match(uid) and UID.match(response.headers["AuditUid"])
    assert fresh_sim.dataset.revision > before

    detail = fresh_client.get(f"/v1/dashboard/spectroclusters/{uid}", headers=scope).json()
    assert detail["status"]["state"] == "Provisioning"
    assert detail["spec"]["cloudConfig"]["cloudType"] == "eks"
    assert detail["status"]["kubeMeta"]["hasKubeConfig"] is False
    assert_valid(validator, "v1SpectroClusterUidSummary", detail)
    full = fresh_client.get(f"/v1/spectroclusters/{uid}", headers=scope).json()
    assert_valid(validator, "v1SpectroCluster", full)
    assert full["metadata"]["labels"] == {"team": "payments"}
    assert full["metadata"]["annotations"]["description"] == "made by a test"
    assert full["metadata"]["annotations"]["projectUid"] == project
    meta = fresh_client.get("/v1/dashboard/spectroclusters/meta", headers=scope).json()
    assert uid in {m["metadata"]["uid"] for m in meta}
    found = fresh_client.post(
        "/v1/dashboard/spectroclusters/search",
        headers=scope,
        json={
            "filter": {
                "filterGroups": [
                    {
                        "filters": [
                            {
                                "property": "clusterName",
                                "type": "string",
                                "condition": {"string": {"operator": "eq", "match": {"values": ["new-eks"]}}},
                            }
                        ]
                    }
                ]
            }
        },
    )
    assert [i["metadata"]["uid"] for i in found.json()["items"]] == [uid]
    profile = fresh_client.get(f"/v1/clusterprofiles/{_profile(fresh_sim, 'eks-base')}", headers=scope).json()
    assert uid in {c["uid"] for c in profile["status"]["inUseClusters"]}
    assert_error(
        fresh_client.get(f"/v1/spectroclusters/{uid}/assets/kubeconfig", headers=scope),
        404,
        "ResourceNotFound",
    )
    assert fresh_sim.dataset.creations[-1] == {
        **fresh_sim.dataset.creations[-1],
        "uid": uid,
        "machinePoolField": "machinepoolconfig",
    }


def test_create_vsphere_and_the_camel_case_pool_key(
    fresh_sim: SimulatorServer, fresh_client: httpx.Client
) -> None:
    response = fresh_client.post("/v1/spectroclusters/vsphere", json=vsphere_body(fresh_sim))
    assert response.status_code == 201, response.text
    uid = response.json()["uid"]
    detail = fresh_client.get(f"/v1/dashboard/spectroclusters/{uid}").json()
    pools = detail["spec"]["cloudConfig"]["machinePools"]
    assert [(p["size"], p["isControlPlane"]) for p in pools] == [(1, True), (3, False)]
    assert detail["metadata"]["annotations"]["scope"] == "tenant"
    assert detail["metadata"]["annotations"]["overlordUid"]
    camel = eks_body(fresh_sim, "camel-eks", pools_key="machinePoolConfig")
    assert fresh_client.post("/v1/spectroclusters/eks", json=camel).status_code == 201
    assert fresh_sim.dataset.creations[-1]["machinePoolField"] == "machinePoolConfig"
    bad = eks_body(fresh_sim, "camel-bad", pools_key="machinePoolConfig")
    del bad["spec"]["machinePoolConfig"][0]["poolConfig"]["labels"]
    body = assert_error(fresh_client.post("/v1/spectroclusters/eks", json=bad), 422)
    assert any("machinepoolconfig.0.poolConfig" in e and "labels" in e for e in body["details"]["errors"])


def test_create_virtual_cluster_links_group_and_host(
    fresh_sim: SimulatorServer, fresh_client: httpx.Client
) -> None:
    project = _project(fresh_sim)
    body = virtual_body(fresh_sim)
    response = fresh_client.post("/v1/spectroclusters/virtual", headers={"ProjectUid": project}, json=body)
    assert response.status_code == 201, response.text
    uid = response.json()["uid"]
    host_config = body["spec"]["clusterConfig"]["hostClusterConfig"]
    summary = fresh_client.get(f"/v1/dashboard/spectroclusters/{uid}", headers={"ProjectUid": project}).json()
    assert summary["spec"]["cloudConfig"]["cloudType"] == "nested"
    assert summary["status"]["virtual"]["clusterGroup"]["uid"] == host_config["clusterGroup"]["uid"]
    assert summary["status"]["virtual"]["hostCluster"]["uid"] == host_config["hostCluster"]["uid"]
    host = fresh_client.get(f"/v1/spectroclusters/{host_config['hostCluster']['uid']}").json()
    assert uid in {v["uid"] for v in host["status"]["virtual"]["virtualClusters"]}
    groups = fresh_client.get("/v1/clustergroups/hostCluster").json()["summaries"]
    group = next(g for g in groups if g["metadata"]["uid"] == host_config["clusterGroup"]["uid"])
    assert group["spec"]["virtualClustersCount"] == len(
        fresh_sim.dataset.index().vcs_by_group[group["metadata"]["uid"]]
    )


@pytest.mark.parametrize("kind", ["eks", "aws", "aks", "azure", "vsphere", "virtual"])
def test_schema_violations_are_422_with_paths(fresh_client: httpx.Client, kind: str) -> None:
    body = {
        "metadata": {"name": "broken"},
        "spec": {"machinepoolconfig": [{"poolConfig": {"size": "three"}}]},
    }
    error = assert_error(fresh_client.post(f"/v1/spectroclusters/{kind}", json=body), 422)
    errors = error["details"]["errors"]
    assert errors and all(":" in e for e in errors)
    if kind != "virtual":
        assert any(e.startswith("spec.machinepoolconfig.0.poolConfig") for e in errors)
        assert any(
            e.startswith("spec:") or e.startswith("spec.cloudConfig") or "cloudConfig" in e for e in errors
        )


def test_semantic_problems_are_422(fresh_sim: SimulatorServer, fresh_client: httpx.Client) -> None:
    body = eks_body(fresh_sim)
    body["metadata"] = {}
    body["spec"]["profiles"] = [{"uid": "0" * 24}]
    body["spec"]["cloudAccountUid"] = _account(fresh_sim, "azure")
    error = assert_error(fresh_client.post("/v1/spectroclusters/eks", json=body), 422)
    paths = sorted(e.split(":")[0] for e in error["details"]["errors"])
    assert paths == ["metadata.name", "spec.cloudAccountUid", "spec.profiles.0.uid"]


def test_malformed_json_is_400_and_duplicates_409(
    fresh_sim: SimulatorServer, fresh_client: httpx.Client
) -> None:
    assert_error(fresh_client.post("/v1/spectroclusters/eks", content=b'{"metadata": '), 400, "BadRequest")
    scope = {"ProjectUid": _project(fresh_sim)}
    assert (
        fresh_client.post(
            "/v1/spectroclusters/eks", headers=scope, json=eks_body(fresh_sim, "twin")
        ).status_code
        == 201
    )
    assert_error(
        fresh_client.post("/v1/spectroclusters/eks", headers=scope, json=eks_body(fresh_sim, "twin")), 409
    )
    # the same name in another scope is fine
    assert fresh_client.post("/v1/spectroclusters/eks", json=eks_body(fresh_sim, "twin")).status_code == 201


def test_provision_finishes_new_clusters(fresh_sim: SimulatorServer, fresh_client: httpx.Client) -> None:
    uid = fresh_client.post("/v1/spectroclusters/eks", json=eks_body(fresh_sim, "soon-ready")).json()["uid"]
    assert_error(fresh_client.get(f"/v1/spectroclusters/{uid}/assets/adminKubeconfig"), 404)
    done = fresh_client.post("/__sim/provision").json()["provisioned"]
    assert uid in done
    detail = fresh_client.get(f"/v1/dashboard/spectroclusters/{uid}").json()
    assert detail["status"]["state"] == "Running" and detail["status"]["kubeMeta"]["hasKubeConfig"] is True
    kubeconfig = fresh_client.get(f"/v1/spectroclusters/{uid}/assets/adminKubeconfig")
    assert kubeconfig.status_code == 200 and "soon-ready" in kubeconfig.text
    assert fresh_client.post("/__sim/provision").json()["provisioned"] == []
