"""Live uid/list tools (MCP-B) over the SDK client, compared with what the simulator serves directly."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from mcp.types import CallToolResult

from ingestor.palette.filters import profile_name_body, project_profiles_body
from tests.mcp.conftest import SERVICE_TOKEN, SIM_KEY, PluginClient, call

ALLOW_OTHER = (
    "p, role:default/creators, spectrocloud.cluster.create, create, allow\n"
    "g, user:default/jane, role:default/creators\n"
)
BAD_UIDS = ("../../v1/users", "..%2F..%2Fv1%2Fusers", "%3F", "%2E%2E", "a?b=1", "a" * 65, "", "a b")


@pytest.fixture
def faults(sim: Any) -> Iterator[Any]:
    """Add simulator faults for one test; all are cleared afterwards."""

    def add(*specs: dict[str, Any]) -> None:
        response = httpx.post(sim.url + "/__sim/faults", json=list(specs), headers={"ApiKey": SIM_KEY})
        assert response.status_code < 300, response.text

    yield add
    httpx.delete(sim.url + "/__sim/faults", headers={"ApiKey": SIM_KEY})


def direct(p: PluginClient, method: str, path: str, project: str | None = None, **kw: Any) -> Any:
    """What the simulator answers the API key holder directly."""
    headers = {"ApiKey": SIM_KEY, **({"ProjectUid": project} if project else {})}
    response = httpx.request(method, p.sim.url + path, headers=headers, timeout=30, **kw)
    response.raise_for_status()
    return response.json()


def ok(result: CallToolResult) -> dict[str, Any]:
    text = " ".join(getattr(c, "text", "") for c in result.content)
    assert result.is_error is False, text
    for secret in (SIM_KEY, SERVICE_TOKEN):
        assert secret not in text and secret not in json.dumps(result.structured_content)
    assert result.structured_content is not None
    return result.structured_content


def error(result: CallToolResult) -> str:
    assert result.is_error is True, result.structured_content
    text = " ".join(getattr(c, "text", "") for c in result.content)
    assert SIM_KEY not in text and SERVICE_TOKEN not in text
    return text.split(": ", 1)[1] if text.startswith("Error executing tool") else text


def projects(p: PluginClient) -> list[str]:
    return list(p.sim_get("/__sim/data/projects")["uids"])


def stored_clusters(p: PluginClient) -> list[dict[str, Any]]:
    return [p.sim_get(f"/__sim/data/clusters/{uid}") for uid in p.sim_get("/__sim/data/clusters")["uids"]]


def a_cluster(p: PluginClient, *, virtual: bool) -> dict[str, Any]:
    """A running project cluster: virtual (``nested``) or not."""
    for cluster in stored_clusters(p):
        nested = cluster["spec"].get("cloudType") == "nested"
        owned = bool((cluster["metadata"].get("annotations") or {}).get("projectUid"))
        if nested == virtual and owned and cluster["status"].get("state") == "Running":
            return cluster
    raise AssertionError("no such cluster in the simulator")


async def test_clusters_are_every_visible_project_plus_tenant_scope(plugin: Any) -> None:
    p: PluginClient = plugin()
    got = ok(await call(p, "list_spectrocloud_clusters"))["clusters"]
    expected: dict[str, dict[str, Any]] = {}
    for project in projects(p):
        for item in direct(p, "GET", "/v1/dashboard/spectroclusters/meta", project):
            expected.setdefault(item["metadata"]["uid"], item)
    for item in direct(p, "GET", "/v1/dashboard/spectroclusters/meta"):
        if (item["metadata"].get("annotations") or {}).get("scope", "tenant") == "tenant":
            expected.setdefault(item["metadata"]["uid"], item)
    assert len(got) == len({c["uid"] for c in got})  # de-duplicated
    assert {c["uid"]: c["name"] for c in got} == {u: i["metadata"]["name"] for u, i in expected.items()}
    stored = {c["metadata"]["uid"]: c for c in stored_clusters(p)}
    for item in got:
        assert item["state"] == stored[item["uid"]]["status"].get("state")
        assert item["cloudType"] == stored[item["uid"]]["spec"]["cloudType"]


async def test_clusters_of_one_project_ask_that_project_only(plugin: Any) -> None:
    p: PluginClient = plugin()
    project = projects(p)[1]
    got = ok(await call(p, "list_spectrocloud_clusters", {"projectUid": project}))["clusters"]
    expected = [
        c["metadata"]["uid"]
        for c in direct(p, "GET", "/v1/dashboard/spectroclusters/meta", project)
        if c["metadata"]["annotations"].get("projectUid") == project
    ]
    assert expected and sorted(c["uid"] for c in got) == sorted(expected)
    assert {c["projectUid"] for c in got} == {project}
    assert p.palette_paths() == ["/v1/dashboard/spectroclusters/meta"]  # no /users/me, no other project (M7)


async def test_a_user_session_sees_its_own_projects_only(plugin: Any) -> None:
    p: PluginClient = plugin()
    session = p.session_token("dev2")
    headers = {"X-SpectroCloud-Token": session}
    result = await call(p, "list_spectrocloud_clusters", bearer=p.token("user:default/jane"), **headers)
    got = ok(result)["clusters"]
    assert session not in json.dumps(result.structured_content)
    mine = {
        user["metadata"]["uid"]: user
        for uid in p.sim_get("/__sim/data/users")["uids"]
        if (user := p.sim_get(f"/__sim/data/users/{uid}"))["spec"]["emailId"].startswith("dev2@")
    }
    (dev2,) = mine.values()
    allowed = set(dev2["status"]["projectPermissions"])
    assert got and {c["projectUid"] for c in got} <= allowed
    assert {kind for _, path, kind in p.palette.requests} == {"session"}


async def test_virtual_clusters_page_to_the_end(plugin: Any) -> None:
    p: PluginClient = plugin(palette={"pageSize": 1})
    got = ok(await call(p, "list_spectrocloud_virtual_clusters"))["virtualClusters"]
    expected = {
        c["metadata"]["uid"]: c
        for c in stored_clusters(p)
        if c["spec"].get("cloudType") == "nested" and c["status"].get("state") != "Deleted"
    }
    assert len(expected) > 1
    assert {v["uid"]: (v["name"], v["state"]) for v in got} == {
        u: (c["metadata"]["name"], c["status"]["state"]) for u, c in expected.items()
    }
    searches = [path for path in p.palette_paths() if path == "/v1/dashboard/spectroclusters/search"]
    assert len(searches) > len(projects(p)) + 1  # more than one page per scope


async def test_cluster_groups_of_a_project_and_of_the_tenant(plugin: Any) -> None:
    p: PluginClient = plugin()
    for project in (None, projects(p)[0]):
        args = {"projectUid": project} if project else {}
        got = ok(await call(p, "list_spectrocloud_cluster_groups", args))["clusterGroups"]
        expected = direct(p, "GET", "/v1/clustergroups/hostCluster", project)["summaries"]
        assert got == expected and got


async def test_cluster_group_detail_and_unknown_group(plugin: Any) -> None:
    p: PluginClient = plugin()
    uid = p.sim_get("/__sim/data/clusterGroups")["uids"][0]
    got = ok(await call(p, "get_spectrocloud_cluster_group", {"clusterGroupUid": uid}))["clusterGroup"]
    assert got == direct(p, "GET", f"/v1/clustergroups/{uid}")
    missing = await call(p, "get_spectrocloud_cluster_group", {"clusterGroupUid": "0123456789abcdef01234567"})
    assert error(missing).startswith("Not found")


def searched(p: PluginClient, body: dict[str, Any], project: str | None = None) -> list[dict[str, Any]]:
    """Every page of the simulator's profile search."""
    items: list[dict[str, Any]] = []
    token = ""
    while True:
        page = direct(
            p,
            "POST",
            "/v1/dashboard/clusterprofiles",
            project,
            json=body,
            params={"continue": token} if token else {},
        )
        items += page["items"]
        token = page["listmeta"].get("continue") or ""
        if not token:
            return items


async def test_profiles_by_names_all_pages_case_insensitive(plugin: Any) -> None:
    p: PluginClient = plugin(palette={"pageSize": 1})
    project = projects(p)[0]
    names = ["EKS-base", "observability", "eks-base", "no-such-profile"]
    result = await call(p, "search_spectrocloud_profiles_by_names", {"names": names, "projectUid": project})
    got = ok(result)["profiles"]
    expected = [
        item
        for name in ("eks-base", "observability", "no-such-profile")
        for item in searched(p, profile_name_body(name), project)
    ]
    assert len(expected) >= 2
    assert sorted(g["uid"] for g in got) == sorted(i["metadata"]["uid"] for i in expected)
    by_uid = {i["metadata"]["uid"]: i for i in expected}
    for item in got:
        published = by_uid[item["uid"]]["specSummary"]["published"]
        assert (item["cloudType"], item["type"]) == (published["cloudType"], published["type"])
    empty = await call(p, "search_spectrocloud_profiles_by_names", {"names": []})
    assert empty.is_error is True


async def test_profiles_for_project_match_the_search(plugin: Any) -> None:
    p: PluginClient = plugin(palette={"pageSize": 2})
    project = projects(p)[0]
    got = ok(await call(p, "list_spectrocloud_profiles_for_project", {"projectUid": project}))["profiles"]
    expected = searched(p, project_profiles_body(["infra", "cluster"]), project)
    assert len(expected) > 2  # more than one page
    assert [g["uid"] for g in got] == [i["metadata"]["uid"] for i in expected]
    args = {"projectUid": project, "cloudType": "aws", "profileType": "cluster"}
    aws = ok(await call(p, "list_spectrocloud_profiles_for_project", args))["profiles"]
    assert aws and {a["cloudType"] for a in aws} == {"aws"}
    bad = await call(p, "list_spectrocloud_profiles_for_project", {"projectUid": project, "profileType": "x"})
    assert error(bad).startswith("Invalid input")


async def test_virtual_cluster_details_only_for_virtual_clusters(plugin: Any) -> None:
    p: PluginClient = plugin()
    vc = a_cluster(p, virtual=True)
    uid, project = vc["metadata"]["uid"], vc["metadata"]["annotations"]["projectUid"]
    args = {"virtualClusterUid": uid, "projectUid": project}
    got = ok(await call(p, "get_spectrocloud_virtual_cluster_details", args))["cluster"]
    summary = direct(p, "GET", f"/v1/dashboard/spectroclusters/{uid}", project)
    assert got == {"uid": uid, "name": summary["metadata"]["name"], "state": summary["status"]["state"]}
    host = a_cluster(p, virtual=False)
    args = {
        "virtualClusterUid": host["metadata"]["uid"],
        "projectUid": host["metadata"]["annotations"]["projectUid"],
    }
    assert error(await call(p, "get_spectrocloud_virtual_cluster_details", args)).startswith("Not found")


async def test_virtual_cluster_kubeconfig_checks_virtual_first(plugin: Any) -> None:
    p: PluginClient = plugin()
    vc = a_cluster(p, virtual=True)
    uid, project = vc["metadata"]["uid"], vc["metadata"]["annotations"]["projectUid"]
    args = {"virtualClusterUid": uid, "projectUid": project, "frp": False}
    got = ok(await call(p, "get_spectrocloud_kubeconfig_for_virtual_cluster", args))
    response = httpx.get(
        f"{p.sim.url}/v1/spectroclusters/{uid}/assets/kubeconfig",
        params={"frp": "false"},
        headers={"ApiKey": SIM_KEY, "ProjectUid": project},
    )
    assert got["kubeconfig"] == response.text and "apiVersion" in got["kubeconfig"]
    assert got["cluster"] == {"uid": uid, "name": vc["metadata"]["name"]}
    assert got["accessType"] == "client-oidc"
    host = a_cluster(p, virtual=False)
    before = len(p.palette.requests)
    args = {
        "virtualClusterUid": host["metadata"]["uid"],
        "projectUid": host["metadata"]["annotations"]["projectUid"],
    }
    assert error(await call(p, "get_spectrocloud_kubeconfig_for_virtual_cluster", args)).startswith(
        "Not found"
    )
    assert not any("kubeconfig" in path for path in p.palette_paths()[before:])


async def test_cloud_accounts_page_to_the_end(plugin: Any) -> None:
    p: PluginClient = plugin(palette={"pageSize": 1})
    expected = p.sim_get("/v1/cloudaccounts/aws?limit=0")["items"]
    added: list[str] = []
    try:
        while len(expected) < 2:
            body = {
                "metadata": {"name": f"extra-{len(added)}", "annotations": {"scope": "tenant"}},
                "spec": {},
            }
            response = httpx.post(
                p.sim.url + "/__sim/data/cloudAccounts?cloudType=aws", json=body, headers={"ApiKey": SIM_KEY}
            )
            assert response.status_code == 201, response.text
            added.append(response.json()["uid"])
            expected = p.sim_get("/v1/cloudaccounts/aws?limit=0")["items"]
        got = ok(await call(p, "list_spectrocloud_cloud_accounts", {"cloudType": "aws"}))["accounts"]
        assert got == [{"uid": a["metadata"]["uid"], "name": a["metadata"]["name"]} for a in expected]
        assert len([x for x in p.palette_paths() if x == "/v1/cloudaccounts/aws"]) >= 2
    finally:
        for uid in added:
            httpx.delete(f"{p.sim.url}/__sim/data/cloudAccounts/{uid}", headers={"ApiKey": SIM_KEY})


UID_CALLS = [
    ("list_spectrocloud_clusters", {}, "projectUid"),
    ("list_spectrocloud_cluster_groups", {}, "projectUid"),
    ("search_spectrocloud_profiles_by_names", {"names": ["x"]}, "projectUid"),
    ("list_spectrocloud_profiles_for_project", {}, "projectUid"),
    ("get_spectrocloud_virtual_cluster_details", {}, "virtualClusterUid"),
    ("get_spectrocloud_kubeconfig_for_virtual_cluster", {}, "virtualClusterUid"),
    ("get_spectrocloud_cluster_group", {}, "clusterGroupUid"),
    ("list_spectrocloud_cloud_accounts", {"cloudType": "aws"}, "projectUid"),
]


async def test_invalid_inputs_never_reach_palette(plugin: Any) -> None:
    p: PluginClient = plugin()
    for tool, args, field in UID_CALLS:
        for bad in BAD_UIDS:
            result = await call(p, tool, {**args, field: bad})
            assert error(result).startswith("Invalid input"), (tool, bad)
    for cloud in ("nope", "../aws", "AWS"):
        result = await call(p, "list_spectrocloud_cloud_accounts", {"cloudType": cloud})
        assert error(result).startswith("Invalid input")
    result = await call(p, "list_spectrocloud_clusters", {"instanceName": "nope"})
    assert error(result).startswith("Invalid input") and "main" in error(result)
    assert p.palette.requests == []


async def test_permission_denied_is_forbidden_before_palette(plugin: Any) -> None:
    p: PluginClient = plugin(policy=ALLOW_OTHER)
    bearer = p.token("user:default/jane")
    for tool, args, field in UID_CALLS:
        result = await call(p, tool, {**args, field: "0123456789abcdef01234567"}, bearer=bearer)
        assert error(result).startswith("Forbidden"), tool
    result = await call(p, "list_spectrocloud_virtual_clusters", bearer=bearer)
    assert error(result).startswith("Forbidden")
    assert p.palette.requests == []


async def test_a_failing_project_fails_the_list(plugin: Any, faults: Any) -> None:
    p: PluginClient = plugin()
    project = projects(p)[0]
    faults(
        {"kind": "error", "path": "/v1/dashboard/spectroclusters/meta", "status": 500, "project_uid": project}
    )
    result = await call(p, "list_spectrocloud_clusters")
    assert error(result).startswith("Palette unavailable") and result.structured_content is None


async def test_a_failing_page_fails_the_account_list(plugin: Any, faults: Any) -> None:
    p: PluginClient = plugin()
    faults({"kind": "error", "path": "/v1/cloudaccounts/aws", "status": 503})
    result = await call(p, "list_spectrocloud_cloud_accounts", {"cloudType": "aws"})
    assert error(result).startswith("Palette unavailable")
