"""Routes 16, 23-28: cloud accounts (redacted), vSphere inventory, SSH keys, gateways and IP pools,
served live from the simulator through our service on real sockets."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from ingestor.api.plugin.redaction import MASK, is_secret_name, redact_secrets
from tests.plugin.conftest import SIM_KEY, PluginClient

JANE = "user:default/jane"
ALLOW_VIEW = (
    "p, role:default/viewers, spectrocloud.cluster.view-info, read, allow\n"
    "g, user:default/jane, role:default/viewers\n"
)
ALLOW_OTHER = (
    "p, role:default/creators, spectrocloud.cluster.create, create, allow\n"
    "g, user:default/jane, role:default/creators\n"
)
BAD_UIDS = ("..%2F..%2Fv1%2Fusers", "%3F", "%2E%2E", "abc%3Fx%3D1", "a" * 65, "abc%20def")


# -- helpers ------------------------------------------------------------------------------------------
def first_project(p: PluginClient) -> str:
    return str(p.sim_get("/__sim/data/projects")["uids"][0])


def vsphere_account(p: PluginClient) -> dict[str, Any]:
    items = p.sim_get("/v1/cloudaccounts/vsphere?limit=0")["items"]
    assert items
    return dict(items[0])


def pcg_uid(p: PluginClient) -> str:
    return str(vsphere_account(p)["metadata"]["annotations"]["overlordUid"])


def assert_no_secret(response: httpx.Response, *secrets: str) -> None:
    """Neither the simulator key nor any of ``secrets`` appears in the body or a response header."""
    headers = " ".join(f"{k}: {v}" for k, v in response.headers.items())
    for secret in (SIM_KEY, *secrets):
        assert secret not in response.text and secret not in headers


def sim_admin(p: PluginClient, method: str, path: str, body: Any = None) -> httpx.Response:
    response = httpx.request(method, p.sim.url + path, headers={"ApiKey": SIM_KEY}, json=body, timeout=30)
    assert response.status_code < 300, response.text
    return response


@pytest.fixture
def faults(plugin: Any) -> Iterator[Any]:
    """``faults(p, fault_dict)`` injects a simulator fault; all are removed after the test."""
    used: list[PluginClient] = []

    def add(p: PluginClient, fault: dict[str, Any]) -> None:
        used.append(p)
        sim_admin(p, "POST", "/__sim/faults", fault)

    yield add
    for p in used[:1]:
        sim_admin(p, "DELETE", "/__sim/faults")


# -- pure redaction -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name",
    [
        "password",
        "secretKey",
        "accessKey",
        "clientSecret",
        "externalId",
        "jsonCredentials",
        "apiKey",
        "privateKey",
        "sessionToken",
        "key",
        "ssh_private_key",
        "client-secret",
        "credentials",
    ],
)
def test_secret_names_are_recognised(name: str) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "credentialType",
        "tokenExpiry",
        "jsonCredentialsFileName",
        "publicKey",
        "username",
        "vcenterServer",
        "clientId",
        "tenantId",
        "arn",
        "overlordUid",
        "insecure",
        "partition",
    ],
)
def test_descriptive_names_are_kept(name: str) -> None:
    assert not is_secret_name(name)


def test_redaction_masks_values_keeps_keys_and_never_mutates_input() -> None:
    account = {
        "metadata": {"uid": "u1", "annotations": {"overlordUid": "pcg1", "scope": "tenant"}},
        "spec": {
            "credentialType": "sts",
            "sts": {"arn": "arn:aws:iam::1:role/x", "externalId": "ext-123"},
            "secretKey": "",
            "password": None,
            "nested": [{"token": "t-1"}, {"name": "n"}],
            "credentials": {"user": "u", "pass": "p"},
        },
    }
    before = copy.deepcopy(account)
    out = redact_secrets(account)
    assert account == before
    assert out["metadata"] == before["metadata"]
    assert out["spec"]["credentialType"] == "sts"
    assert out["spec"]["sts"] == {"arn": "arn:aws:iam::1:role/x", "externalId": MASK}
    assert out["spec"]["secretKey"] == "" and out["spec"]["password"] is None
    assert out["spec"]["nested"] == [{"token": MASK}, {"name": "n"}]
    assert out["spec"]["credentials"] == MASK


# -- route 16 ---------------------------------------------------------------------------------------
def test_account_list_pages_to_the_end_and_redacts(plugin: Any) -> None:
    p = plugin(palette={"pageSize": 2})
    secrets = [f"raw-secret-{i}-9f1c" for i in range(3)]
    added = [
        sim_admin(
            p,
            "POST",
            "/__sim/data/cloudAccounts?cloudType=aws",
            {
                "apiVersion": "v1",
                "kind": "aws",
                "metadata": {"name": f"extra-aws-{i}", "annotations": {"scope": "tenant"}},
                "spec": {
                    "credentialType": "secret",
                    "accessKey": f"AKIAEXTRA{i}",
                    "sessionToken": secret,
                    "jsonCredentials": secret + "-json",
                },
                "status": {"state": "Running"},
            },
        ).json()["uid"]
        for i, secret in enumerate(secrets)
    ]
    try:
        expected = p.sim_get("/v1/cloudaccounts/aws?limit=0")["items"]
        assert len(expected) > 2  # more than one page of 2
        response = p.get("/cloudaccounts/aws")
        assert response.status_code == 200, response.text
        accounts = response.json()["accounts"]
        assert [a["metadata"] for a in accounts] == [a["metadata"] for a in expected]
        pages = [path for path in p.palette_paths() if path == "/v1/cloudaccounts/aws"]
        assert len(pages) >= 2
        by_uid = {a["metadata"]["uid"]: a for a in accounts}
        for uid in added:
            spec = by_uid[uid]["spec"]
            assert spec["sessionToken"] == MASK and spec["jsonCredentials"] == MASK
            assert spec["accessKey"] == MASK and spec["credentialType"] == "secret"
        assert_no_secret(response, *secrets)
    finally:
        for uid in added:
            sim_admin(p, "DELETE", f"/__sim/data/cloudAccounts/{uid}")


def test_account_list_in_a_project_includes_project_accounts(plugin: Any) -> None:
    p = plugin()
    records = [
        p.sim_get(f"/__sim/data/cloudAccounts/{u}") for u in p.sim_get("/__sim/data/cloudAccounts")["uids"]
    ]
    project = next(
        r["metadata"]["annotations"]["projectUid"]
        for r in records
        if r["kind"] == "aws" and r["metadata"]["annotations"].get("projectUid")
    )
    expected = p.sim_get(f"/v1/cloudaccounts/aws?limit=0&projectUid={project}")["items"]
    response = p.get("/cloudaccounts/aws", params={"projectUid": project})
    assert response.status_code == 200, response.text
    accounts = response.json()["accounts"]
    assert {a["metadata"]["uid"] for a in accounts} == {a["metadata"]["uid"] for a in expected}
    sts = [a for a in accounts if a["spec"].get("credentialType") == "sts"]
    assert sts, "the simulator's project AWS account uses STS"
    assert all(a["spec"]["sts"]["externalId"] == MASK for a in sts)
    raw = [a for a in expected if a["spec"].get("credentialType") == "sts"]
    assert_no_secret(response, *(a["spec"]["sts"]["externalId"] for a in raw))


def test_account_list_failing_page_fails_the_call(plugin: Any, faults: Any) -> None:
    p = plugin(palette={"pageSize": 1})
    assert len(p.sim_get("/v1/cloudaccounts/aws?limit=0")["items"]) >= 1
    faults(p, {"kind": "page", "path": "/v1/cloudaccounts/aws", "mode": "repeat_continue"})
    extra = sim_admin(
        p,
        "POST",
        "/__sim/data/cloudAccounts?cloudType=aws",
        {"kind": "aws", "metadata": {"name": "page-two"}, "spec": {}, "status": {"state": "Running"}},
    ).json()["uid"]
    try:
        response = p.get("/cloudaccounts/aws")
        assert response.status_code == 502, response.text
        assert "accounts" not in response.json()
    finally:
        sim_admin(p, "DELETE", f"/__sim/data/cloudAccounts/{extra}")


# -- route 25 ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("cloud", ["aws", "azure", "vsphere"])
def test_account_detail_keeps_metadata_and_masks_secrets(plugin: Any, cloud: str) -> None:
    p = plugin()
    listed = p.sim_get(f"/v1/cloudaccounts/{cloud}?limit=0")["items"]
    uid = listed[0]["metadata"]["uid"]
    direct = p.sim_get(f"/v1/cloudaccounts/{cloud}/{uid}")
    stored = p.sim_get(f"/__sim/data/cloudAccounts/{uid}")
    response = p.get(f"/cloudaccounts/{cloud}/{uid}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["metadata"] == direct["metadata"]
    assert set(body["spec"]) == set(direct["spec"])
    for key, value in direct["spec"].items():
        assert body["spec"][key] == (MASK if is_secret_name(key) and value else value)
    assert_no_secret(response, *(str(v) for k, v in stored["spec"].items() if is_secret_name(k) and v))
    if cloud == "vsphere":
        assert (
            body["metadata"]["annotations"]["overlordUid"] == direct["metadata"]["annotations"]["overlordUid"]
        )
        assert body["spec"]["password"] == MASK
        assert body["spec"]["username"] == direct["spec"]["username"]


def test_account_detail_redacts_secrets_palette_did_not_mask(plugin: Any) -> None:
    p = plugin()
    secret = "gcp-like-raw-credential-77aa"
    uid = sim_admin(
        p,
        "POST",
        "/__sim/data/cloudAccounts?cloudType=azure",
        {
            "kind": "azure",
            "metadata": {"name": "leaky", "annotations": {"scope": "tenant"}},
            "spec": {
                "tenantId": "t-1",
                "clientId": "c-1",
                "clientSecret": "",
                "jsonCredentials": secret,
                "extra": {"privateKey": secret, "note": "kept"},
            },
            "status": {"state": "Running"},
        },
    ).json()["uid"]
    try:
        response = p.get(f"/cloudaccounts/azure/{uid}")
        assert response.status_code == 200, response.text
        spec = response.json()["spec"]
        assert spec["jsonCredentials"] == MASK
        assert spec["extra"] == {"privateKey": MASK, "note": "kept"}
        assert spec["tenantId"] == "t-1" and spec["clientId"] == "c-1"
        assert_no_secret(response, secret)
    finally:
        sim_admin(p, "DELETE", f"/__sim/data/cloudAccounts/{uid}")


def test_account_detail_unknown_uid_is_a_json_404(plugin: Any) -> None:
    p = plugin()
    response = p.get("/cloudaccounts/aws/0123456789abcdef01234567")
    assert response.status_code == 404
    assert "not found" in response.json()["error"]
    # the wrong type for an existing account is a 404 too, never an empty 200 (F4)
    vsphere_uid = vsphere_account(p)["metadata"]["uid"]
    response = p.get(f"/cloudaccounts/aws/{vsphere_uid}")
    assert response.status_code == 404 and response.json()["error"]


# -- routes 23, 24 ------------------------------------------------------------------------------------
def test_vsphere_metadata_is_the_raw_datacenter_list(plugin: Any) -> None:
    p = plugin()
    uid = vsphere_account(p)["metadata"]["uid"]
    response = p.get(f"/cloudaccounts/vsphere/{uid}/metadata")
    assert response.status_code == 200, response.text
    assert response.json() == p.sim_get(f"/v1/cloudaccounts/vsphere/{uid}/properties/datacenters")
    assert response.json()["items"][0]["computeclusters"]
    assert p.palette_paths() == [f"/v1/cloudaccounts/vsphere/{uid}/properties/datacenters"]


def test_vsphere_compute_cluster_resources(plugin: Any) -> None:
    p = plugin()
    uid = vsphere_account(p)["metadata"]["uid"]
    dc = p.sim_get(f"/v1/cloudaccounts/vsphere/{uid}/properties/datacenters")["items"][1]
    params = {"datacenter": dc["datacenter"], "computecluster": dc["computeclusters"][-1]}
    response = p.get(f"/cloudaccounts/vsphere/{uid}/computecluster/resources", params=params)
    assert response.status_code == 200, response.text
    query = "&".join(f"{k}={v}" for k, v in params.items())
    direct = p.sim_get(f"/v1/cloudaccounts/vsphere/{uid}/properties/computecluster/resources?{query}")
    assert response.json() == direct
    assert response.json()["computecluster"]["datastores"]
    missing = {**params, "computecluster": "no-such-cluster"}
    response = p.get(f"/cloudaccounts/vsphere/{uid}/computecluster/resources", params=missing)
    assert response.status_code == 404 and "not found" in response.json()["error"]


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"datacenter": "Datacenter-1"},
        {"computecluster": "Cluster-A"},
        {"datacenter": "", "computecluster": "Cluster-A"},
        {"datacenter": "   ", "computecluster": "Cluster-A"},
        {"datacenter": "D" * 256, "computecluster": "Cluster-A"},
        [("datacenter", "Datacenter-1"), ("datacenter", "Datacenter-2"), ("computecluster", "Cluster-A")],
    ],
)
def test_vsphere_resources_need_both_names_once_and_bounded(plugin: Any, params: Any) -> None:
    p = plugin()
    uid = vsphere_account(p)["metadata"]["uid"]
    response = p.get(f"/cloudaccounts/vsphere/{uid}/computecluster/resources", params=params)
    assert response.status_code == 400, response.text
    assert response.json()["error"]
    assert p.palette.requests == []


# -- routes 26, 27, 28 --------------------------------------------------------------------------------
@pytest.mark.parametrize("scoped", [False, True])
def test_ssh_keys_overlords_and_pools_match_palette(plugin: Any, scoped: bool) -> None:
    p = plugin()
    query = f"?projectUid={first_project(p)}" if scoped else ""
    params = {"projectUid": first_project(p)} if scoped else {}
    pcg = pcg_uid(p)
    for ours, palette in (
        ("/users/sshkeys", "/v1/users/assets/sshkeys"),
        ("/overlords", "/v1/overlords"),
        (f"/overlords/vsphere/{pcg}/pools", f"/v1/overlords/vsphere/{pcg}/pools"),
    ):
        response = p.get(ours, params=params)
        assert response.status_code == 200, (ours, response.text)
        expected = p.sim_get(palette + query)
        assert response.json() == {"items": expected["items"]}
        assert response.json()["items"], ours
    if scoped:
        tenant_keys = p.sim_get("/v1/users/assets/sshkeys")["items"]
        assert len(p.get("/users/sshkeys", params=params).json()["items"]) > len(tenant_keys)


def test_ssh_keys_with_the_callers_palette_session(plugin: Any) -> None:
    p = plugin()
    token = p.session_token("dev1")
    project = first_project(p)
    response = p.get(
        "/users/sshkeys", params={"projectUid": project}, headers={"X-SpectroCloud-Token": token}
    )
    assert response.status_code == 200, response.text
    assert response.json()["items"] == p.sim_get(f"/v1/users/assets/sshkeys?projectUid={project}")["items"]
    assert p.palette.requests == [("GET", "/v1/users/assets/sshkeys", "session")]
    assert_no_secret(response, token)


def test_pools_of_an_unknown_gateway_is_404(plugin: Any) -> None:
    p = plugin()
    response = p.get("/overlords/vsphere/0123456789abcdef01234567/pools")
    assert response.status_code == 404
    assert response.json()["error"].startswith("Private cloud gateway not found")


# -- shared contract: validation, instance, permissions, Palette failures, no leaks --------------------
def route_paths(p: PluginClient) -> list[str]:
    vsphere = vsphere_account(p)["metadata"]["uid"]
    return [
        "/cloudaccounts/aws",
        f"/cloudaccounts/vsphere/{vsphere}/metadata",
        f"/cloudaccounts/vsphere/{vsphere}/computecluster/resources?datacenter=Datacenter-1&computecluster=Cluster-A",
        f"/cloudaccounts/vsphere/{vsphere}",
        "/users/sshkeys",
        "/overlords",
        f"/overlords/vsphere/{pcg_uid(p)}/pools",
    ]


UID_ROUTES = (
    "/cloudaccounts/vsphere/{}/metadata",
    "/cloudaccounts/vsphere/{}/computecluster/resources?datacenter=Datacenter-1&computecluster=Cluster-A",
    "/cloudaccounts/aws/{}",
    "/overlords/vsphere/{}/pools",
)


@pytest.mark.parametrize("template", UID_ROUTES)
def test_bad_uids_are_400_and_never_reach_palette(plugin: Any, template: str) -> None:
    p = plugin()
    for bad in BAD_UIDS:
        response = httpx.get(
            p.base + template.format(bad),
            headers={"Authorization": f"Bearer {p.token(JANE)}"},
            timeout=30,
        )
        assert response.status_code == 400, (bad, response.status_code, response.text)
        assert "must be 1-64 letters" in response.json()["error"]
    assert p.palette.requests == []


@pytest.mark.parametrize(
    "path",
    [
        "/cloudaccounts/nope",
        "/cloudaccounts/AWS",
        "/cloudaccounts/nope/0123456789abcdef01234567",
        "/cloudaccounts/%2E%2E",
    ],
)
def test_unsupported_cloud_type_is_400_naming_the_allowed_ones(plugin: Any, path: str) -> None:
    p = plugin()
    response = p.get(path)
    assert response.status_code == 400, response.text
    assert "aws, azure, gcp, vsphere" in response.json()["error"]
    assert p.palette.requests == []


def test_unknown_instance_is_400_listing_instances(plugin: Any) -> None:
    p = plugin()
    for path in route_paths(p):
        sep = "&" if "?" in path else "?"
        response = p.get(f"{path}{sep}instance=elsewhere")
        assert response.status_code == 400, (path, response.text)
        assert "main" in response.json()["error"]
    assert p.palette.requests == []


def test_permission_denied_is_403_before_anything_else(plugin: Any) -> None:
    p = plugin(policy=ALLOW_OTHER)
    paths = [
        *route_paths(p),
        "/cloudaccounts/nope",  # a bad cloud type is still a 403 first
        "/cloudaccounts/vsphere/0123456789abcdef01234567/computecluster/resources",  # missing names too
        "/overlords/vsphere/..%2Fx/pools",
    ]
    for path in paths:
        response = p.get(path)
        assert response.status_code == 403, (path, response.text)
        assert response.json()["error"].startswith("Forbidden")
    assert p.palette.requests == []


def test_view_info_grants_every_route(plugin: Any) -> None:
    p = plugin(policy=ALLOW_VIEW)
    token = p.token(JANE)
    for path in route_paths(p):
        response = p.get(path)
        assert response.status_code == 200, (path, response.text)
        assert_no_secret(response, token)


@pytest.mark.parametrize(
    ("fault", "status"),
    [
        ({"kind": "error", "status": 500}, 502),
        ({"kind": "error", "status": 403}, 403),
        ({"kind": "storm", "retry_after": 1}, 503),
        ({"kind": "malformed", "mode": "garble"}, 502),
    ],
)
def test_palette_failures_follow_the_status_contract(
    plugin: Any, faults: Any, fault: dict[str, Any], status: int
) -> None:
    p = plugin()
    paths = route_paths(p)
    faults(p, {**fault, "path": "/v1/*"})
    for path in paths:
        response = p.get(path)
        assert response.status_code == status, (path, response.text)
        body = response.json()
        assert set(body) >= {"error"} and not set(body) & {"accounts", "items"}
        if status == 403:
            assert body["error"].startswith("Forbidden")
        if status == 503:
            assert int(response.headers["Retry-After"]) >= 1
        assert_no_secret(response, p.token(JANE))


def test_openapi_documents_the_routes_with_contract_names(plugin: Any) -> None:
    p = plugin()
    paths = httpx.get(p.server.url + "/openapi.json", timeout=30).json()["paths"]
    prefix = "/api/spectrocloud"
    for path in (
        "/cloudaccounts/{cloudType}",
        "/cloudaccounts/{cloudType}/{accountUid}",
        "/cloudaccounts/vsphere/{accountUid}/metadata",
        "/cloudaccounts/vsphere/{accountUid}/computecluster/resources",
        "/users/sshkeys",
        "/overlords",
        "/overlords/vsphere/{overlordUid}/pools",
    ):
        assert "get" in paths[prefix + path], path
    names = {
        q["name"]
        for q in paths[prefix + "/cloudaccounts/vsphere/{accountUid}/computecluster/resources"]["get"][
            "parameters"
        ]
    }
    assert {"accountUid", "datacenter", "computecluster", "instance", "projectUid"} <= names
