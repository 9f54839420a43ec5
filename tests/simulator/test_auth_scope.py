"""Credentials (401), per-user project permissions (403), scope resolution and server-set annotations."""

from __future__ import annotations

import httpx
import pytest

from ingestor.simulator.dataset import Dataset, owner_of
from ingestor.simulator.options import SimulatorOptions
from ingestor.simulator.server import SimulatorServer
from tests.simulator.helpers import API_KEY, assert_error


def _user(sim: SimulatorServer, login: str) -> dict:  # type: ignore[type-arg]
    return next(
        u for u in sim.dataset.collection("users").values() if u["spec"]["emailId"].startswith(login + "@")
    )


@pytest.mark.parametrize(
    "headers",
    [{}, {"ApiKey": "not-the-key"}, {"Authorization": "not-a-token"}, {"Authorization": f"Bearer {API_KEY}"}],
    ids=["none", "bad-key", "bad-token", "bearer-key"],
)
def test_missing_or_invalid_credentials_are_401(sim: SimulatorServer, headers: dict[str, str]) -> None:
    response = httpx.get(f"{sim.url}/v1/users/info", headers=headers)
    body = assert_error(response, 401, "Unauthorized")
    assert API_KEY not in response.text and "not-the-key" not in body["message"]


def test_health_needs_no_credential(sim: SimulatorServer) -> None:
    assert httpx.get(f"{sim.url}/health").json() == {"status": "ok"}


@pytest.mark.parametrize("name", ["ApiKey", "apiKey", "APIKEY"])
def test_api_key_header_name_is_case_insensitive(sim: SimulatorServer, name: str) -> None:
    response = httpx.get(f"{sim.url}/v1/users/info", headers={name: API_KEY})
    assert response.status_code == 200
    assert response.json()["tenantUid"] == sim.dataset.tenant.uid


def test_raw_session_token_identifies_its_user(sim: SimulatorServer) -> None:
    dev = _user(sim, "dev1")
    response = httpx.get(f"{sim.url}/v1/users/info", headers={"Authorization": dev["sessionTokens"][0]})
    assert response.json()["userUid"] == dev["metadata"]["uid"]
    me = httpx.get(f"{sim.url}/v1/users/me", headers={"Authorization": dev["sessionTokens"][0]}).json()
    assert set(me["status"]["projectPermissions"]) == set(dev["status"]["projectPermissions"])
    assert me["status"]["tenantPermissions"] == {}


def test_admin_me_has_tenant_permissions_under_tenant_key(client: httpx.Client, sim: SimulatorServer) -> None:
    me = client.get("/v1/users/me").json()
    assert "cluster.list" in me["status"]["tenantPermissions"]["tenant"]
    assert set(me["status"]["projectPermissions"]) == set(sim.dataset.collection("projects"))
    assert me["status"]["tenant"]["tenantUid"] == sim.dataset.tenant.uid


def test_project_outside_the_users_permissions_is_403(sim: SimulatorServer) -> None:
    dev = _user(sim, "dev1")
    allowed = set(dev["status"]["projectPermissions"])
    other = next(p for p in sim.dataset.collection("projects") if p not in allowed)
    headers = {"ApiKey": dev["apiKeys"][0], "ProjectUid": other}
    assert_error(
        httpx.get(f"{sim.url}/v1/dashboard/spectroclusters/meta", headers=headers), 403, "OperationForbidden"
    )
    headers["ProjectUid"] = next(iter(allowed))
    assert httpx.get(f"{sim.url}/v1/dashboard/spectroclusters/meta", headers=headers).status_code == 200


def test_non_admin_sees_only_permitted_projects(sim: SimulatorServer) -> None:
    dev = _user(sim, "dev1")
    response = httpx.post(f"{sim.url}/v1/dashboard/projects", headers={"ApiKey": dev["apiKeys"][0]}, json={})
    assert {p["metadata"]["uid"] for p in response.json()["items"]} == set(
        dev["status"]["projectPermissions"]
    )
    meta = httpx.get(
        f"{sim.url}/v1/dashboard/spectroclusters/meta", headers={"ApiKey": dev["apiKeys"][0]}
    ).json()
    assert {m["metadata"]["annotations"].get("projectUid") for m in meta} <= set(
        dev["status"]["projectPermissions"]
    )
    other = next(u for u in sim.dataset.collection("users") if u != dev["metadata"]["uid"])
    assert_error(httpx.get(f"{sim.url}/v1/users/{other}", headers={"ApiKey": dev["apiKeys"][0]}), 403)


def test_unknown_project_is_403(client: httpx.Client) -> None:
    assert_error(client.get("/v1/dashboard/spectroclusters/meta", headers={"ProjectUid": "0" * 24}), 403)


def test_tenant_scope_lists_span_projects(client: httpx.Client, sim: SimulatorServer) -> None:
    meta = client.get("/v1/dashboard/spectroclusters/meta").json()
    assert len(meta) == len(sim.dataset.collection("clusters"))
    scopes = {m["metadata"]["annotations"]["scope"] for m in meta}
    assert scopes == {"project", "tenant"}
    for item in meta:
        annotations = item["metadata"]["annotations"]
        assert annotations["tenantUid"] == sim.dataset.tenant.uid
        assert ("projectUid" in annotations) == (annotations["scope"] == "project")


@pytest.mark.parametrize("how", ["header", "HEADER", "query", "query-lower"])
def test_project_scope_from_header_or_query(client: httpx.Client, sim: SimulatorServer, how: str) -> None:
    project = next(iter(sim.dataset.collection("projects")))
    headers, params = {}, {}
    if how == "header":
        headers = {"ProjectUid": project}
    elif how == "HEADER":
        headers = {"PROJECTUID": project}
    elif how == "query":
        params = {"ProjectUid": project}
    else:
        params = {"projectUid": project}
    meta = client.get("/v1/dashboard/spectroclusters/meta", headers=headers, params=params).json()
    assert meta and {m["metadata"]["annotations"]["projectUid"] for m in meta} == {project}


def test_project_lists_of_shareable_things_include_tenant_and_system(
    client: httpx.Client, sim: SimulatorServer
) -> None:
    project = next(iter(sim.dataset.collection("projects")))
    in_project = {"ProjectUid": project}
    profiles = client.post("/v1/dashboard/clusterprofiles", headers=in_project, json={"filter": {}}).json()[
        "items"
    ]
    scopes = {p["metadata"]["annotations"]["scope"] for p in profiles}
    assert scopes == {"project", "tenant", "system"}
    assert {
        p["metadata"]["annotations"].get("projectUid")
        for p in profiles
        if p["metadata"]["annotations"]["scope"] == "project"
    } == {project}
    tenant_only = client.post("/v1/dashboard/clusterprofiles", json={"filter": {}}).json()["items"]
    assert {p["metadata"]["annotations"]["scope"] for p in tenant_only} == {"tenant", "system"}
    own = client.post(
        "/v1/dashboard/clusterprofiles", headers=in_project, json={"filter": {"scope": "project"}}
    ).json()
    assert own["items"] and {p["metadata"]["annotations"]["scope"] for p in own["items"]} == {"project"}
    groups = client.get("/v1/clustergroups/hostCluster", headers=in_project).json()["summaries"]
    assert {"tenant", "system"} <= {g["spec"]["scope"] for g in groups}
    keys = client.get("/v1/users/assets/sshkeys", headers=in_project).json()["items"]
    assert {k["metadata"]["annotations"]["scope"] for k in keys} == {"project", "tenant"}
    accounts = client.get(
        "/v1/cloudaccounts/aws", headers={"ProjectUid": list(sim.dataset.collection("projects"))[1]}
    ).json()
    assert {a["metadata"]["annotations"]["scope"] for a in accounts["items"]} == {"project", "tenant"}


def test_get_by_uid_needs_the_matching_project(client: httpx.Client, sim: SimulatorServer) -> None:
    record = next(r for r in sim.dataset.collection("clusters").values() if owner_of(r)[0] == "project")
    uid, project = record["metadata"]["uid"], owner_of(record)[1]
    assert_error(client.get(f"/v1/spectroclusters/{uid}"), 404, "ResourceNotFound")
    other = next(p for p in sim.dataset.collection("projects") if p != project)
    assert_error(client.get(f"/v1/dashboard/spectroclusters/{uid}", headers={"ProjectUid": other}), 404)
    found = client.get(f"/v1/spectroclusters/{uid}", headers={"ProjectUid": project}).json()
    assert found["metadata"]["annotations"] == {
        **found["metadata"]["annotations"],
        "scope": "project",
        "projectUid": project,
    }
    profile = next(
        r for r in sim.dataset.collection("clusterProfiles").values() if owner_of(r)[0] == "project"
    )
    assert_error(client.get(f"/v1/clusterprofiles/{profile['metadata']['uid']}"), 404)
    tenant_profile = next(
        r for r in sim.dataset.collection("clusterProfiles").values() if owner_of(r)[0] == "tenant"
    )
    assert (
        client.get(
            f"/v1/clusterprofiles/{tenant_profile['metadata']['uid']}", headers={"ProjectUid": project}
        ).status_code
        == 200
    )


def test_vsphere_accounts_carry_their_gateway(client: httpx.Client) -> None:
    accounts = client.get("/v1/cloudaccounts/vsphere").json()["items"]
    overlords = {o["metadata"]["uid"] for o in client.get("/v1/overlords").json()["items"]}
    assert accounts and all(a["metadata"]["annotations"]["overlordUid"] in overlords for a in accounts)


def test_extra_token_resolvers_are_consulted() -> None:
    """The hook a later issue uses for Palette's HS256 session tokens."""

    def resolver(ds: Dataset, token: str) -> str | None:
        return next(iter(ds.collection("users"))) if token == "signed.jwt.here" else None

    options = SimulatorOptions(rate_limits=False)
    with SimulatorServer(options, token_resolvers=[resolver]) as sim:
        info = httpx.get(f"{sim.url}/v1/users/info", headers={"Authorization": "signed.jwt.here"})
        assert info.json()["userUid"] == next(iter(sim.dataset.collection("users")))
        assert_error(httpx.get(f"{sim.url}/v1/users/info", headers={"Authorization": "other.jwt"}), 401)


def test_user_projects_and_roles(sim: SimulatorServer) -> None:
    dev = _user(sim, "dev1")
    uid = dev["metadata"]["uid"]
    headers = {"ApiKey": dev["apiKeys"][0]}
    roles = httpx.get(f"{sim.url}/v1/users/{uid}/projects", headers=headers).json()["projects"]
    assert {p["uid"] for p in roles} == set(dev["status"]["projectPermissions"])
    assert {r["name"] for p in roles for r in p["roles"]} == {"Project Admin"}
    user = httpx.get(f"{sim.url}/v1/users/{uid}", headers=headers).json()
    assert user["spec"]["emailId"] == "dev1@acme.example"
    assert "apiKeys" not in user and "projectPermissions" not in user["status"]
