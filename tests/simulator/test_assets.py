"""Kubeconfigs, manifests, profile sub-resources, unpaged shapes, accounts, vSphere, gateways, SSH keys,
and the generic error statuses (404 unknown path, 405 wrong method)."""

from __future__ import annotations

import httpx
import pytest

from ingestor.simulator.dataset import owner_of
from ingestor.simulator.server import SimulatorServer
from tests.simulator.helpers import assert_error

VARIANTS = ["kubeconfig", "kubeconfigclient", "adminKubeconfig", "frpKubeconfig"]


def _cluster(sim: SimulatorServer, state: str) -> tuple[str, dict[str, str]]:
    record = next(r for r in sim.dataset.collection("clusters").values() if r["status"]["state"] == state)
    project = owner_of(record)[1]
    return record["metadata"]["uid"], ({"ProjectUid": project} if project else {})


@pytest.mark.parametrize("variant", VARIANTS)
def test_kubeconfig_downloads(client: httpx.Client, sim: SimulatorServer, variant: str) -> None:
    uid, scope = _cluster(sim, "Running")
    response = client.get(f"/v1/spectroclusters/{uid}/assets/{variant}", headers=scope)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/octet-stream"
    name = sim.dataset.collection("clusters")[uid]["metadata"]["name"]
    assert response.headers["content-disposition"] == f"attachment; filename={name}.kubeconfig"
    assert response.text.startswith("apiVersion: v1\nkind: Config\n") and f"name: {name}" in response.text


def test_kubeconfig_frp_switch_and_missing(client: httpx.Client, sim: SimulatorServer) -> None:
    uid, scope = _cluster(sim, "Running")
    proxied = client.get(f"/v1/spectroclusters/{uid}/assets/kubeconfig", headers=scope).text
    direct = client.get(
        f"/v1/spectroclusters/{uid}/assets/kubeconfig", params={"frp": "false"}, headers=scope
    ).text
    assert "proxy.example.com" in proxied and "proxy.example.com" not in direct
    pending, scope = _cluster(sim, "Provisioning")
    for variant in VARIANTS:
        assert_error(
            client.get(f"/v1/spectroclusters/{pending}/assets/{variant}", headers=scope),
            404,
            "ResourceNotFound",
        )


def test_manifests_only_through_their_cluster(client: httpx.Client, sim: SimulatorServer) -> None:
    record = next(
        r
        for r in sim.dataset.collection("clusters").values()
        if any(p["manifests"] for t in r["spec"]["clusterProfileTemplates"] for p in t["packs"])
    )
    project = owner_of(record)[1]
    scope = {"ProjectUid": project} if project else {}
    manifest = next(
        m for t in record["spec"]["clusterProfileTemplates"] for p in t["packs"] for m in p["manifests"]
    )
    uid = record["metadata"]["uid"]
    body = client.get(f"/v1/spectroclusters/{uid}/pack/manifests/{manifest['uid']}", headers=scope).json()
    assert body["metadata"]["uid"] == manifest["uid"] and body["spec"]["published"]["content"].startswith(
        "apiVersion"
    )
    assert body["spec"]["published"]["digest"].startswith("sha256:")
    assert_error(client.get(f"/v1/spectroclusters/{uid}/pack/manifests/{'f' * 24}", headers=scope), 404)


def test_profile_versions_path_does_not_exist(client: httpx.Client, sim: SimulatorServer) -> None:
    """TeraSky calls it; Palette has no such route (palette-api.md 4.2)."""
    profile = next(
        r for r in sim.dataset.collection("clusterProfiles").values() if owner_of(r)[0] == "tenant"
    )
    uid = profile["metadata"]["uid"]
    version = profile["spec"]["versions"] or [{"uid": uid}]
    assert_error(
        client.get(f"/v1/clusterprofiles/{uid}/versions/{version[0]['uid']}"), 404, "ResourceNotFound"
    )
    assert client.get(f"/v1/clusterprofiles/{uid}").status_code == 200


def test_profile_get_works_with_any_version_uid(client: httpx.Client, sim: SimulatorServer) -> None:
    index = sim.dataset.index()
    family = next(
        members for key, members in index.families.items() if key[0] == "tenant" and len(members) == 3
    )
    bodies = [client.get(f"/v1/clusterprofiles/{uid}").json() for uid in family]
    assert [b["metadata"]["uid"] for b in bodies] == family
    assert all([v["uid"] for v in b["spec"]["versions"]] == family for b in bodies)
    used = [set(c["uid"] for c in b["status"]["inUseClusters"]) for b in bodies]
    assert sum(bool(u) for u in used) >= 2, "clusters are pinned to different versions of one family"
    packs = client.get(f"/v1/clusterprofiles/{family[0]}/packs").json()["items"]
    assert {p["spec"]["layer"] for p in packs} == {"os", "k8s", "cni", "csi"}
    variables = client.get(f"/v1/clusterprofiles/{family[0]}/variables").json()["variables"]
    assert variables and all({"name", "defaultValue", "required"} <= set(v) for v in variables)


def test_unpaged_shapes(client: httpx.Client, sim: SimulatorServer) -> None:
    meta = client.get("/v1/dashboard/spectroclusters/meta").json()
    assert isinstance(meta, list) and "nested" in {m["spec"]["cloudType"] for m in meta}
    groups = client.get("/v1/clustergroups/hostCluster").json()
    assert set(groups) == {"summaries"}
    host_group = next(g for g in groups["summaries"] if g["spec"]["hostClustersCount"])
    detail = client.get(f"/v1/clustergroups/{host_group['metadata']['uid']}").json()
    assert {r["clusterUid"] for r in detail["spec"]["clusterRefs"]} == {
        h["uid"] for h in host_group["spec"]["hostClusters"]
    }
    assert set(client.get("/v1/overlords").json()) == {"items"}
    uid, scope = _cluster(sim, "Running")
    assert set(client.get(f"/v1/spectroclusters/{uid}/profiles", headers=scope).json()) == {"profiles"}


def test_cloud_account_secrets_are_masked(client: httpx.Client, sim: SimulatorServer) -> None:
    secrets = {"secretKey", "clientSecret", "password"}
    stored = [
        v
        for r in sim.dataset.collection("cloudAccounts").values()
        for k, v in r["spec"].items()
        if k in secrets
    ]
    assert stored
    seen = ""
    for cloud in ("aws", "azure", "vsphere"):
        seen += client.get(f"/v1/cloudaccounts/{cloud}", params={"limit": 0}).text
        for project in sim.dataset.collection("projects"):
            seen += client.get(f"/v1/cloudaccounts/{cloud}", headers={"ProjectUid": project}).text
    for uid, cloud in sim.dataset.cloud_account_types.items():
        record = sim.dataset.collection("cloudAccounts")[uid]
        project = owner_of(record)[1]
        one = client.get(
            f"/v1/cloudaccounts/{cloud}/{uid}", headers={"ProjectUid": project} if project else {}
        )
        seen += one.text
        assert one.status_code == 200
    assert all(secret not in seen for secret in stored)
    assert "********" in seen
    azure = client.get("/v1/cloudaccounts/azure").json()["items"][0]["spec"]
    assert azure["clientSecret"] == "********" and azure["tenantId"]


def test_account_list_paging_filters_and_order(client: httpx.Client, sim: SimulatorServer) -> None:
    project = next(
        p
        for p in sim.dataset.collection("projects")
        if any(owner_of(a)[1] == p for a in sim.dataset.collection("cloudAccounts").values())
    )
    scope = {"ProjectUid": project}
    everything = client.get("/v1/cloudaccounts/aws", headers=scope, params={"limit": 0}).json()
    assert len(everything["items"]) == 2 and everything["listmeta"]["continue"] == ""
    first = client.get("/v1/cloudaccounts/aws", headers=scope, params={"limit": 1}).json()
    assert len(first["items"]) == 1 and first["listmeta"]["continue"]
    second = client.get(
        "/v1/cloudaccounts/aws", headers=scope, params={"limit": 1, "continue": first["listmeta"]["continue"]}
    ).json()
    assert second["items"][0]["metadata"]["uid"] != first["items"][0]["metadata"]["uid"]
    name = everything["items"][0]["metadata"]["name"]
    filtered = client.get(
        "/v1/cloudaccounts/aws", headers=scope, params={"filters": f"metadata.name={name}"}
    ).json()
    assert [a["metadata"]["name"] for a in filtered["items"]] == [name]
    ordered = client.get(
        "/v1/cloudaccounts/aws", headers=scope, params={"orderBy": "metadata.name=-1"}
    ).json()
    names = [a["metadata"]["name"] for a in ordered["items"]]
    assert names == sorted(names, reverse=True)
    summary = client.get("/v1/cloudaccounts/summary", headers=scope).json()["items"]
    assert {s["kind"] for s in summary} == {"aws", "azure", "vsphere"}


def test_vsphere_inventory_and_gateways(client: httpx.Client, sim: SimulatorServer) -> None:
    account = next(u for u, t in sim.dataset.cloud_account_types.items() if t == "vsphere")
    datacenters = client.get(f"/v1/cloudaccounts/vsphere/{account}/properties/datacenters").json()["items"]
    assert [d["datacenter"] for d in datacenters] == ["Datacenter-1", "Datacenter-2"]
    resources = f"/v1/cloudaccounts/vsphere/{account}/properties/computecluster/resources"
    assert_error(client.get(resources, params={"datacenter": "Datacenter-1"}), 422)
    assert_error(client.get(resources, params={"datacenter": "Datacenter-1", "computecluster": "nope"}), 404)
    found = client.get(resources, params={"datacenter": "Datacenter-1", "computecluster": "Cluster-A"}).json()
    assert found["computecluster"]["name"] == "Cluster-A" and found["computecluster"]["networks"]
    gateway = client.get("/v1/cloudaccounts/vsphere").json()["items"][0]["metadata"]["annotations"][
        "overlordUid"
    ]
    overlord = client.get(f"/v1/overlords/{gateway}").json()
    assert overlord["spec"]["cloudAccountUid"] == account
    pools = client.get(f"/v1/overlords/vsphere/{gateway}/pools").json()["items"]
    assert pools and {p["spec"]["priavetGatewayUid"] for p in pools} == {gateway}
    assert [p["metadata"]["uid"] for p in overlord["spec"]["ipPools"]] == [
        p["metadata"]["uid"] for p in pools
    ]
    named = client.get("/v1/overlords", params={"name": "System Private Gateway"}).json()["items"]
    assert [o["spec"]["isSystem"] for o in named] == [True]
    assert_error(client.get(f"/v1/overlords/{'0' * 24}"), 404)


def test_ssh_key_lifecycle(fresh_sim: SimulatorServer, fresh_client: httpx.Client) -> None:
    project = next(iter(fresh_sim.dataset.collection("projects")))
    scope = {"ProjectUid": project}
    body = {"metadata": {"name": "ci-key"}, "spec": {"publicKey": "ssh-ed25519 AAAAC3Nz ci@example"}}
    created = fresh_client.post("/v1/users/assets/sshkeys", headers=scope, json=body)
    assert created.status_code == 201 and created.headers["AuditUid"]
    uid = created.json()["uid"]
    assert_error(fresh_client.post("/v1/users/assets/sshkeys", headers=scope, json=body), 409)
    assert_error(
        fresh_client.post("/v1/users/assets/sshkeys", headers=scope, json={"metadata": {"name": "x"}}), 422
    )
    assert_error(
        fresh_client.post("/v1/users/assets/sshkeys", headers=scope, json={"spec": {"publicKey": 7}}), 422
    )
    got = fresh_client.get(f"/v1/users/assets/sshkeys/{uid}", headers=scope).json()
    assert got["metadata"]["annotations"]["projectUid"] == project and got["spec"] == body["spec"]
    assert_error(fresh_client.get(f"/v1/users/assets/sshkeys/{uid}"), 404)
    changed = {"metadata": {"name": "ci-key-2"}, "spec": {"publicKey": "ssh-ed25519 BBBB ci@example"}}
    assert fresh_client.put(f"/v1/users/assets/sshkeys/{uid}", headers=scope, json=changed).status_code == 204
    after = fresh_client.get(f"/v1/users/assets/sshkeys/{uid}", headers=scope).json()
    assert after["metadata"]["name"] == "ci-key-2"
    assert after["metadata"]["lastModifiedTimestamp"] > got["metadata"]["lastModifiedTimestamp"]
    assert fresh_client.delete(f"/v1/users/assets/sshkeys/{uid}", headers=scope).status_code == 204
    assert_error(fresh_client.get(f"/v1/users/assets/sshkeys/{uid}", headers=scope), 404)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/dashboard/spectroclusters/search"),
        ("POST", "/v1/dashboard/spectroclusters/meta"),
        ("PATCH", "/v1/users/assets/sshkeys"),
        ("GET", "/v1/dashboard/projects"),
    ],
)
def test_wrong_method_is_405(client: httpx.Client, method: str, path: str) -> None:
    assert_error(client.request(method, path), 405, "MethodNotAllowed")


def test_unknown_path_and_uid_are_404(client: httpx.Client) -> None:
    assert_error(client.get("/v1/spectroclusters/" + "0" * 24), 404, "ResourceNotFound")
    assert_error(client.get("/v1/no/such/thing"), 404, "ResourceNotFound")
    assert_error(client.get("/v1/clustergroups/" + "0" * 24), 404, "ResourceNotFound")
