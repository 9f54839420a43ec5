"""Every simulator endpoint answers what its Palette definition allows, in strict mode, with every
``x-omitempty: false`` field present and no duplicate list items."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from ingestor.palette.schema import SpecValidator
from ingestor.simulator.dataset import owner_of
from ingestor.simulator.server import SimulatorServer
from tests.simulator.helpers import assert_error, assert_valid, missing_always_fields

SEARCH_NON_VIRTUAL = {
    "filter": {
        "conjunction": "and",
        "filterGroups": [
            {
                "conjunction": "and",
                "filters": [
                    {
                        "property": "environment",
                        "type": "string",
                        "condition": {
                            "string": {
                                "operator": "eq",
                                "negation": True,
                                "match": {"conjunction": "or", "values": ["nested"]},
                            }
                        },
                    },
                    {"property": "isDeleted", "type": "bool", "condition": {"bool": {"value": False}}},
                ],
            }
        ],
    },
    "sort": [],
}


def _pick(sim: SimulatorServer, collection: str, test: Any) -> dict[str, Any]:
    return next(r for r in sim.dataset.collection(collection).values() if test(r))


def _headers(record: dict[str, Any]) -> dict[str, str]:
    project = owner_of(record)[1]
    return {"ProjectUid": project} if project else {}


def _cases(sim: SimulatorServer) -> list[tuple[str, str, dict[str, str], Any, str]]:
    """(method, path, headers, json body, definition) for every endpoint and scope worth covering."""
    ds = sim.dataset
    project = next(iter(ds.collection("projects")))
    in_project = {"ProjectUid": project}
    cluster = _pick(
        sim,
        "clusters",
        lambda r: (
            owner_of(r)[1] == project
            and r["spec"]["cloudType"] != "nested"
            and any(p["manifests"] for t in r["spec"]["clusterProfileTemplates"] for p in t["packs"])
        ),
    )
    host = _pick(
        sim,
        "clusters",
        lambda r: (
            r["spec"]["clusterConfig"]["hostClusterConfig"]["isHostCluster"] and owner_of(r)[0] == "tenant"
        ),
    )
    vc = _pick(sim, "clusters", lambda r: r["spec"]["cloudType"] == "nested")
    addon = _pick(sim, "clusterProfiles", lambda r: owner_of(r)[0] == "project")
    group = _pick(sim, "clusterGroups", lambda r: owner_of(r)[0] == "tenant")
    user = next(iter(ds.collection("users")))
    overlord = _pick(sim, "overlords", lambda r: not r["spec"]["isSystem"])
    vsphere = next(u for u, t in ds.cloud_account_types.items() if t == "vsphere")
    key = _pick(sim, "sshKeys", lambda r: owner_of(r)[0] == "project")
    manifest = next(
        m for t in cluster["spec"]["clusterProfileTemplates"] for p in t["packs"] for m in p["manifests"]
    )
    cu, hu, vu = cluster["metadata"]["uid"], host["metadata"]["uid"], vc["metadata"]["uid"]
    cases: list[tuple[str, str, dict[str, str], Any, str]] = [
        ("POST", "/v1/dashboard/projects", {}, {"filter": {}}, "v1ProjectsSummary"),
        ("GET", "/v1/dashboard/projects/metadata", {}, None, "v1ProjectsMetadata"),
        ("GET", f"/v1/projects/{project}", {}, None, "v1Project"),
        ("GET", "/v1/users/me", {}, None, "v1UserMe"),
        ("GET", "/v1/users/info", {}, None, "v1UserInfo"),
        ("GET", f"/v1/users/{user}", {}, None, "v1User"),
        ("GET", f"/v1/users/{user}/projects", {}, None, "v1ProjectRolesEntity"),
        ("GET", "/v1/dashboard/spectroclusters/search/schema", {}, None, "v1SearchFilterSchemaSpec"),
        ("GET", "/v1/dashboard/spectroclusters/search/input", {}, None, "v1ClusterSearchInputSpec"),
        (
            "GET",
            "/v1/dashboard/spectroclusters/metadata?quickFilter=hostclusters",
            {},
            None,
            "v1SpectroClustersMetadata",
        ),
        ("GET", f"/v1/dashboard/spectroclusters/{hu}", {}, None, "v1SpectroClusterUidSummary"),
        ("GET", f"/v1/spectroclusters/{hu}", {}, None, "v1SpectroCluster"),
        ("GET", f"/v1/dashboard/spectroclusters/{vu}", _headers(vc), None, "v1SpectroClusterUidSummary"),
        ("GET", f"/v1/spectroclusters/{vu}", _headers(vc), None, "v1SpectroCluster"),
        ("GET", f"/v1/spectroclusters/{cu}/profiles", in_project, None, "v1SpectroClusterProfileList"),
        ("GET", f"/v1/spectroclusters/{cu}/pack/manifests/{manifest['uid']}", in_project, None, "v1Manifest"),
        ("GET", "/v1/dashboard/clusterprofiles/metadata", in_project, None, "v1ClusterProfilesMetadata"),
        ("GET", f"/v1/clusterprofiles/{addon['metadata']['uid']}", in_project, None, "v1ClusterProfile"),
        (
            "GET",
            f"/v1/clusterprofiles/{addon['metadata']['uid']}/packs",
            in_project,
            None,
            "v1ClusterProfilePacksEntities",
        ),
        ("GET", f"/v1/clusterprofiles/{addon['metadata']['uid']}/variables", in_project, None, "v1Variables"),
        (
            "GET",
            "/v1/clustergroups/hostCluster/metadata",
            in_project,
            None,
            "v1ClusterGroupsHostClusterMetadata",
        ),
        ("GET", f"/v1/clustergroups/{group['metadata']['uid']}", {}, None, "v1ClusterGroup"),
        (
            "POST",
            f"/v1/dashboard/clustergroups/{group['metadata']['uid']}/hostClusters",
            {},
            {},
            "v1SpectroClustersSummary",
        ),
        (
            "POST",
            f"/v1/dashboard/clustergroups/{group['metadata']['uid']}/virtualClusters",
            {},
            {},
            "v1SpectroClustersSummary",
        ),
        (
            "GET",
            f"/v1/cloudaccounts/vsphere/{vsphere}/properties/datacenters",
            {},
            None,
            "v1VsphereDatacenters",
        ),
        (
            "GET",
            f"/v1/overlords/vsphere/{overlord['metadata']['uid']}/properties/datacenters",
            {},
            None,
            "v1VsphereDatacenters",
        ),
        (
            "GET",
            f"/v1/cloudaccounts/vsphere/{vsphere}/properties/computecluster/resources?datacenter=Datacenter-1"
            "&computecluster=Cluster-A",
            {},
            None,
            "v1VsphereComputeClusterResources",
        ),
        (
            "GET",
            f"/v1/overlords/vsphere/{overlord['metadata']['uid']}/properties/computecluster/resources"
            "?datacenter=Datacenter-2&computecluster=Cluster-B",
            {},
            None,
            "v1VsphereComputeClusterResources",
        ),
        (
            "GET",
            f"/v1/clouds/vsphere/datacenters/Datacenter-1/computeclusters/Cluster-B?cloudAccountUid={vsphere}",
            {},
            None,
            "v1VsphereComputeClusterResources",
        ),
        ("GET", f"/v1/overlords/{overlord['metadata']['uid']}", {}, None, "v1Overlord"),
        ("GET", f"/v1/overlords/vsphere/{overlord['metadata']['uid']}/pools", {}, None, "v1IpPools"),
        ("GET", f"/v1/users/assets/sshkeys/{key['metadata']['uid']}", _headers(key), None, "v1UserAssetSsh"),
        ("GET", "/v1/cloudaccounts/summary", in_project, None, "v1CloudAccountsSummary"),
    ]
    for scope in ({}, in_project):
        cases += [
            (
                "POST",
                "/v1/dashboard/spectroclusters/search",
                scope,
                SEARCH_NON_VIRTUAL,
                "v1SpectroClustersSummary",
            ),
            ("POST", "/v1/dashboard/spectroclusters/search", scope, {}, "v1SpectroClustersSummary"),
            ("GET", "/v1/dashboard/spectroclusters/meta", scope, None, "v1SpectroClustersMeta"),
            ("GET", "/v1/dashboard/spectroclusters/metadata", scope, None, "v1SpectroClustersMetadata"),
            (
                "POST",
                "/v1/dashboard/spectroclusters/metadata/search",
                scope,
                {},
                "v1SpectroClustersMetadataSearch",
            ),
            ("POST", "/v1/dashboard/clusterprofiles", scope, {"filter": {}}, "v1ClusterProfilesSummary"),
            ("GET", "/v1/clustergroups/hostCluster", scope, None, "v1ClusterGroupsHostClusterSummary"),
            ("GET", "/v1/cloudaccounts/aws", scope, None, "v1AwsAccounts"),
            ("GET", "/v1/cloudaccounts/azure", scope, None, "v1AzureAccounts"),
            ("GET", "/v1/cloudaccounts/vsphere", scope, None, "v1VsphereAccounts"),
            ("GET", "/v1/overlords", scope, None, "v1Overlords"),
            ("GET", "/v1/users/assets/sshkeys", scope, None, "v1UserAssetsSsh"),
        ]
    for uid, cloud in ds.cloud_account_types.items():
        record = ds.collection("cloudAccounts")[uid]
        definition = {"aws": "v1AwsAccount", "azure": "v1AzureAccount", "vsphere": "v1VsphereAccount"}[cloud]
        cases.append(("GET", f"/v1/cloudaccounts/{cloud}/{uid}", _headers(record), None, definition))
    return cases


def test_every_endpoint_is_strictly_valid(
    sim: SimulatorServer, client: httpx.Client, validator: SpecValidator
) -> None:
    cases = _cases(sim)
    for method, path, headers, body, definition in cases:
        response = client.request(method, path, headers=headers, json=body)
        assert response.status_code == 200, f"{method} {path}: {response.status_code} {response.text[:200]}"
        data = response.json()
        assert_valid(validator, definition, data)
    assert len(cases) > 50


def test_every_cluster_and_profile_view_is_valid(
    sim: SimulatorServer, client: httpx.Client, validator: SpecValidator
) -> None:
    """All records, not just one of each: catches generator branches (deleted, virtual, hosts, edge...)."""
    for uid, record in sim.dataset.collection("clusters").items():
        headers = _headers(record)
        assert_valid(
            validator, "v1SpectroCluster", client.get(f"/v1/spectroclusters/{uid}", headers=headers).json()
        )
        summary = client.get(f"/v1/dashboard/spectroclusters/{uid}", headers=headers).json()
        assert_valid(validator, "v1SpectroClusterUidSummary", summary)
    for uid, record in sim.dataset.collection("clusterProfiles").items():
        assert_valid(
            validator,
            "v1ClusterProfile",
            client.get(f"/v1/clusterprofiles/{uid}", headers=_headers(record)).json(),
        )


def test_error_bodies_are_v1errors(client: httpx.Client, validator: SpecValidator) -> None:
    responses = [
        client.get("/v1/nothing/here"),
        client.get("/v1/users/me", headers={"ApiKey": "wrong"}),
        client.post("/v1/dashboard/spectroclusters/search", content=b"{not json"),
        client.post("/v1/dashboard/spectroclusters/search?limit=51", json={}),
        client.delete("/v1/dashboard/spectroclusters/meta"),
    ]
    for response in responses:
        assert response.status_code >= 400
        assert response.headers["content-type"].startswith("application/json")
        assert_valid(validator, "v1Error", response.json())
        assert "details" not in response.json() or isinstance(response.json()["details"], dict)


def test_checker_catches_missing_always_fields(validator: SpecValidator) -> None:
    """The presence check itself works (a listmeta without ``continue`` is reported)."""
    page = {"items": [], "listmeta": {"count": 0, "limit": 50, "offset": 0}}
    assert missing_always_fields(validator, "v1SpectroClustersSummary", page) == ["$.listmeta.continue"]


@pytest.mark.parametrize(
    "path", ["/v1/dashboard/spectroclusters/meta", "/v1/overlords", "/v1/users/assets/sshkeys"]
)
def test_unpaged_lists_have_no_duplicates(client: httpx.Client, path: str) -> None:
    data = client.get(path).json()
    items = data if isinstance(data, list) else data["items"]
    uids = [item["metadata"]["uid"] for item in items]
    assert uids and len(uids) == len(set(uids))


def test_unknown_definition_paths_are_404(client: httpx.Client) -> None:
    assert_error(client.get("/v1/spectroclusters/eks"), 405, "MethodNotAllowed")
