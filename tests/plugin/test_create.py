"""Routes 19 and 20 (cluster and virtual cluster creation) against the simulator, and the request body
limit: structural 400s before anything reaches Palette, 403/401 gating, Palette refusals as 422, the
audit line (no token, no body), and 413 for bodies over ``server.bodyLimitBytes``."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from structlog.testing import capture_logs

from ingestor.simulator.dataset import owner_of
from ingestor.simulator.server import SimulatorServer
from tests.plugin.conftest import SIM_KEY, PluginClient

JANE = "user:default/jane"
CREATORS = (
    "p, role:default/creators, spectrocloud.cluster.create, create, allow\n"
    "g, user:default/jane, role:default/creators\n"
)
VIEWERS = (
    "p, role:default/viewers, spectrocloud.cluster.view-info, read, allow\n"
    "g, user:default/jane, role:default/viewers\n"
)
BODY_MARKER = "ssh-ed25519 AAAAC3Nza-body-marker-7f3e"
TRAVERSALS = ["..%2F..%2Fv1%2Fusers", "%3Fa%3Db", "%2E%2E", "a/b"]


def project(sim: SimulatorServer) -> str:
    return sorted(sim.dataset.collection("projects"))[0]


def tenant_uid(sim: SimulatorServer, collection: str, match: Any) -> str:
    return next(
        uid
        for uid, record in sorted(sim.dataset.collection(collection).items())
        if owner_of(record)[0] == "tenant" and match(uid, record)
    )


def vsphere_body(sim: SimulatorServer, name: str) -> dict[str, Any]:
    """What the stock wizard sends for vSphere (compat.md 8.6): camelCase pools, ``spec.cloudType``."""
    account = tenant_uid(sim, "cloudAccounts", lambda u, r: sim.dataset.cloud_account_types[u] == "vsphere")
    profile = tenant_uid(sim, "clusterProfiles", lambda u, r: r["metadata"]["name"] == "vsphere-base")
    placement = {
        "cluster": "Cluster-A",
        "datastore": "vsanDatastore-1A",
        "resourcePool": "",
        "network": {"networkName": "VM Network", "staticIp": False},
    }

    def pool(name: str, control_plane: bool) -> dict[str, Any]:
        return {
            "cloudConfig": {
                "instanceType": {"numCPUs": 4, "memoryMiB": 8192, "diskGiB": 60},
                "placements": [placement],
            },
            "poolConfig": {
                "name": name,
                "labels": ["control-plane" if control_plane else "worker"],
                "isControlPlane": control_plane,
                "size": 1,
            },
        }

    return {
        "metadata": {"name": name, "labels": {"team": "spectro__tag"}, "annotations": {}},
        "spec": {
            "cloudType": "vsphere",
            "cloudAccountUid": account,
            "profiles": [{"uid": profile, "packValues": []}],
            "cloudConfig": {
                "network": {"networkName": "", "staticIp": False},
                "placement": {"datacenter": "Datacenter-1", "folder": "/Datacenter-1/vm/palette"},
                "staticIp": False,
                "sshKeys": [BODY_MARKER],
                "ntpServers": [],
            },
            "machinePoolConfig": [pool("control-plane-pool", True), pool("worker-pool-1", False)],
            "clusterConfig": {},
            "policies": {},
        },
    }


def virtual_entity(sim: SimulatorServer, name: str) -> dict[str, Any]:
    """A virtual cluster entity on a tenant cluster group that has a host."""
    hosts = sim.dataset.index().hosts_by_group
    group = tenant_uid(sim, "clusterGroups", lambda u, r: bool(hosts.get(u)))
    size = {"minCPU": 4, "maxCPU": 4, "minMemInMiB": 8192, "maxMemInMiB": 8192}
    return {
        "metadata": {"name": name},
        "spec": {
            "cloudAccountUid": "",
            "cloudConfig": {},
            "clusterConfig": {
                "hostClusterConfig": {
                    "clusterGroup": {"kind": "ClusterGroup", "name": "g", "uid": group},
                    "clusterEndpoint": {"type": "LoadBalancer", "config": {}},
                }
            },
            "machinepoolconfig": [{"cloudConfig": {"instanceType": {**size, "minStorageGiB": 20}}}],
            "profiles": [],
        },
    }


def creation(p: PluginClient, uid: str) -> dict[str, Any]:
    return next(item for item in p.sim_get("/__sim/creations")["items"] if item["uid"] == uid)


def remove(p: PluginClient, uid: str) -> None:
    httpx.delete(
        f"{p.sim.url}/__sim/data/clusters/{uid}", headers={"ApiKey": SIM_KEY}, timeout=30
    ).raise_for_status()


def assert_no_secrets(response: httpx.Response, *secrets: str) -> None:
    for secret in (SIM_KEY, *secrets):
        assert secret not in response.text


@pytest.fixture
def open_plugin(plugin: Any) -> PluginClient:
    """Permissions off: creation needs the caller's own Palette session (sent as X-SpectroCloud-Token)."""
    client: PluginClient = plugin()
    return client


@pytest.fixture
def admin_token(open_plugin: PluginClient) -> str:
    return open_plugin.session_token("admin")


@pytest.fixture
def inject(sim: SimulatorServer) -> Iterator[Callable[[dict[str, Any]], None]]:
    """Add a simulator fault; every fault added is removed after the test (the simulator is shared)."""
    added: list[str] = []

    def add(spec: dict[str, Any]) -> None:
        response = httpx.post(f"{sim.url}/__sim/faults", headers={"ApiKey": SIM_KEY}, json=spec, timeout=30)
        response.raise_for_status()
        added.extend(response.json()["ids"])

    yield add
    for fault_id in added:
        httpx.delete(f"{sim.url}/__sim/faults/{fault_id}", headers={"ApiKey": SIM_KEY}, timeout=30)


# --- route 19 ------------------------------------------------------------------------------------------


def test_vsphere_wizard_body_is_created_with_the_callers_session(
    open_plugin: PluginClient, admin_token: str
) -> None:
    p = open_plugin
    scope = project(p.sim)
    body = vsphere_body(p.sim, "created-by-route-19")
    response = p.post(
        "/clusters", params={"projectUid": scope}, json=body, headers={"X-SpectroCloud-Token": admin_token}
    )
    assert response.status_code == 201, response.text
    uid = response.json()["uid"]
    assert set(response.json()) == {"uid"}
    try:
        recorded = creation(p, uid)
        assert recorded["cloudType"] == "vsphere" and recorded["projectUid"] == scope
        assert recorded["name"] == "created-by-route-19"
        assert recorded["machinePoolField"] == "machinePoolConfig"  # forwarded as the wizard sent it
        served = p.sim_get(f"/v1/dashboard/spectroclusters/{uid}?ProjectUid={scope}")
        assert served["metadata"]["name"] == "created-by-route-19"
        assert served["spec"]["cloudConfig"]["cloudType"] == "vsphere"
        assert p.palette.requests == [("POST", "/v1/spectroclusters/vsphere", "session")]
        assert_no_secrets(response, admin_token)
    finally:
        remove(p, uid)


@pytest.mark.parametrize("cloud_type", ["nested", "Virtual", " NESTED "])
def test_nested_and_virtual_cloud_types_create_virtual_clusters(
    open_plugin: PluginClient, admin_token: str, cloud_type: str
) -> None:
    p = open_plugin
    entity = virtual_entity(p.sim, f"vc-{cloud_type.strip().lower()}")
    entity["spec"]["cloudType"] = cloud_type
    response = p.post("/clusters", json=entity, headers={"X-SpectroCloud-Token": admin_token})
    assert response.status_code == 201, response.text
    uid = response.json()["uid"]
    try:
        assert creation(p, uid)["cloudType"] == "virtual"
        assert creation(p, uid)["scope"] == "tenant"  # no projectUid: no ProjectUid header
        assert p.palette_paths() == ["/v1/spectroclusters/virtual"]
    finally:
        remove(p, uid)


def test_permission_grants_creation_with_the_instance_key(plugin: Any) -> None:
    """With permissions enabled the API key may stand in for a caller without a session (S2)."""
    p: PluginClient = plugin(policy=CREATORS)
    response = p.post("/clusters", params={"projectUid": project(p.sim)}, json=vsphere_body(p.sim, "by-key"))
    assert response.status_code == 201, response.text
    try:
        assert p.palette.requests == [("POST", "/v1/spectroclusters/vsphere", "api-key")]
        assert_no_secrets(response)
    finally:
        remove(p, response.json()["uid"])


def _body(**spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "x"}, "spec": spec}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{not json", "Invalid request body: malformed JSON"),
        (b'{"spec": {"cloudType": NaN}}', "Invalid request body: malformed JSON"),
        (b"\xff\xfe\x00", "Invalid request body: malformed JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "Invalid request body: malformed JSON"),
        (b"", "Invalid request body: expected a JSON object"),
        (b"[]", "Invalid request body: expected a JSON object"),
        (b'"vsphere"', "Invalid request body: expected a JSON object"),
        (
            json.dumps({"metadata": {"name": "x"}}).encode(),
            "Invalid cluster configuration: cloudType is required",
        ),
        (
            json.dumps({"cloudType": "vsphere", "name": "x"}).encode(),
            "Invalid cluster configuration: cloudType is required",
        ),
        (json.dumps(_body(cloudType=7)).encode(), "Invalid cluster configuration: cloudType is required"),
        (
            json.dumps(_body(cloudType=["eks"])).encode(),
            "Invalid cluster configuration: cloudType is required",
        ),
        (json.dumps(_body(cloudType="")).encode(), "Invalid cluster configuration: cloudType is required"),
        (
            json.dumps({"metadata": {}, "spec": "eks"}).encode(),
            "Invalid cluster configuration: cloudType is required",
        ),
        (json.dumps(_body(cloudType="gcp")).encode(), "Unsupported cloud type: gcp"),
        (json.dumps(_body(cloudType="edge-native")).encode(), "Unsupported cloud type: edge-native"),
        (
            json.dumps({"spec": {"cloudType": "eks"}}).encode(),
            "Invalid cluster configuration: metadata.name is required",
        ),
        (
            json.dumps({"metadata": {"name": "  "}, "spec": {"cloudType": "eks"}}).encode(),
            "Invalid cluster configuration: metadata.name is required",
        ),
        (
            json.dumps({"metadata": {"name": 5}, "spec": {"cloudType": "eks"}}).encode(),
            "Invalid cluster configuration: metadata.name is required",
        ),
    ],
)
def test_structural_problems_are_400_before_palette(
    open_plugin: PluginClient, admin_token: str, content: bytes, message: str
) -> None:
    p = open_plugin
    response = p.post(
        "/clusters",
        content=content,
        headers={"Content-Type": "application/json", "X-SpectroCloud-Token": admin_token},
    )
    assert response.status_code == 400, response.text
    assert response.json() == {"error": message}
    assert p.palette.requests == []


def test_unsupported_cloud_type_echo_is_bounded(open_plugin: PluginClient, admin_token: str) -> None:
    p = open_plugin
    response = p.post(
        "/clusters",
        json=_body(cloudType="x" * 5000 + "\n\x00"),
        headers={"X-SpectroCloud-Token": admin_token},
    )
    assert response.status_code == 400
    assert response.json()["error"] == "Unsupported cloud type: " + "x" * 40
    assert p.palette.requests == []


@pytest.mark.parametrize("bad", TRAVERSALS)
def test_bad_project_uid_is_400_before_palette(open_plugin: PluginClient, admin_token: str, bad: str) -> None:
    p = open_plugin
    response = httpx.post(
        f"{p.base}/clusters?projectUid={bad}",
        json=vsphere_body(p.sim, "never"),
        headers={"Authorization": f"Bearer {p.token()}", "X-SpectroCloud-Token": admin_token},
        timeout=30,
    )
    assert response.status_code == 400, response.text
    assert "projectUid" in response.json()["error"]
    assert p.palette.requests == []


def test_unknown_instance_is_400_listing_names(open_plugin: PluginClient, admin_token: str) -> None:
    p = open_plugin
    response = p.post(
        "/clusters",
        params={"instance": "elsewhere"},
        json=vsphere_body(p.sim, "never"),
        headers={"X-SpectroCloud-Token": admin_token},
    )
    assert response.status_code == 400
    assert "main" in response.json()["error"]
    assert p.palette.requests == []


@pytest.mark.parametrize("path", ["/clusters", "/virtualclusters"])
def test_without_the_create_permission_403_comes_first(plugin: Any, path: str) -> None:
    p: PluginClient = plugin(policy=VIEWERS)
    for content in (b"{broken", json.dumps({"clusterConfig": virtual_entity(p.sim, "no")}).encode()):
        response = p.post(path, content=content, headers={"Content-Type": "application/json"})
        assert response.status_code == 403, response.text
        assert response.json()["error"].startswith("Forbidden")
        assert "spectrocloud.cluster.create" in response.json()["error"]
    assert p.palette.requests == []


@pytest.mark.parametrize("path", ["/clusters", "/virtualclusters"])
def test_permissions_off_without_a_palette_session_is_401_reauth(
    open_plugin: PluginClient, path: str
) -> None:
    """Creation never falls back to the instance API key when permissions are off (S2)."""
    p = open_plugin
    entity = (
        vsphere_body(p.sim, "never") if path == "/clusters" else {"clusterConfig": virtual_entity(p.sim, "n")}
    )
    response = p.post(path, json=entity)
    assert response.status_code == 401, response.text
    assert response.json()["requiresReAuth"] is True
    assert response.headers["X-SpectroCloud-ReAuth-Required"] == "true"
    assert p.palette.requests == []
    assert_no_secrets(response, p.token())


def test_no_backstage_token_is_401(open_plugin: PluginClient) -> None:
    p = open_plugin
    response = p.post("/clusters", user=None, json=vsphere_body(p.sim, "never"))
    assert response.status_code == 401
    assert "requiresReAuth" not in response.json()
    assert p.palette.requests == []


def test_palette_validation_failure_is_422_with_its_code_not_its_body(
    open_plugin: PluginClient, admin_token: str
) -> None:
    p = open_plugin
    body = vsphere_body(p.sim, "bad-profile")
    body["spec"]["profiles"] = [{"uid": "0" * 24}]
    direct = httpx.post(
        f"{p.sim.url}/v1/spectroclusters/vsphere",
        headers={"ApiKey": SIM_KEY},
        json=body,
        timeout=30,
    )
    assert direct.status_code == 422  # what the simulator says on its own
    response = p.post("/clusters", json=body, headers={"X-SpectroCloud-Token": admin_token})
    assert response.status_code == 422, response.text
    error = response.json()
    assert error["code"] == direct.json()["code"] == "ValidationError"
    assert "status 422" in error["error"] and "code ValidationError" in error["error"]
    assert direct.json()["message"] not in response.text and "0" * 24 not in response.text
    assert p.palette.requests == [("POST", "/v1/spectroclusters/vsphere", "session")]


@pytest.mark.parametrize(
    ("fault", "status", "fragment"),
    [
        ({"status": 400, "code": "BadRequest", "message": "secret detail"}, 422, "code BadRequest"),
        ({"status": 409, "code": "ClusterAlreadyExists"}, 409, "conflicts"),
        ({"status": 403, "code": "OperationForbidden"}, 403, "Forbidden"),
        ({"status": 404, "code": "ResourceNotFound"}, 404, "not found"),
        ({"status": 500, "code": "InternalError", "message": "secret detail"}, 502, "Palette failed"),
    ],
)
def test_palette_failures_map_onto_the_status_contract(
    open_plugin: PluginClient,
    admin_token: str,
    inject: Callable[[dict[str, Any]], None],
    fault: dict[str, Any],
    status: int,
    fragment: str,
) -> None:
    p = open_plugin
    inject({"kind": "error", "path": "/v1/spectroclusters/*", "method": "POST", **fault})
    response = p.post(
        "/clusters", json=vsphere_body(p.sim, "faulty"), headers={"X-SpectroCloud-Token": admin_token}
    )
    assert response.status_code == status, response.text
    assert fragment in response.json()["error"]
    assert "secret detail" not in response.text
    assert not [c for c in p.sim_get("/__sim/creations")["items"] if c["name"] == "faulty"]


def test_palette_rejecting_the_session_is_401_reauth(open_plugin: PluginClient) -> None:
    p = open_plugin
    response = p.post(
        "/clusters",
        json=vsphere_body(p.sim, "never"),
        headers={"X-SpectroCloud-Token": "not-a-palette-session"},
    )
    assert response.status_code == 401
    assert response.json()["requiresReAuth"] is True
    assert_no_secrets(response, "not-a-palette-session")


# --- route 20 ------------------------------------------------------------------------------------------


def test_virtual_cluster_is_created_from_cluster_config(open_plugin: PluginClient, admin_token: str) -> None:
    p = open_plugin
    scope = project(p.sim)
    entity = virtual_entity(p.sim, "created-by-route-20")
    response = p.post(
        "/virtualclusters",
        params={"projectUid": scope, "instance": "main"},
        json={"clusterConfig": entity},
        headers={"X-SpectroCloud-Token": admin_token},
    )
    assert response.status_code == 201, response.text
    uid = response.json()["uid"]
    try:
        recorded = creation(p, uid)
        assert recorded["cloudType"] == "virtual" and recorded["projectUid"] == scope
        served = p.sim_get(f"/v1/dashboard/spectroclusters/{uid}?ProjectUid={scope}")
        assert served["metadata"]["name"] == "created-by-route-20"
        assert served["spec"]["cloudConfig"]["cloudType"] == "nested"
        assert p.palette.requests == [("POST", "/v1/spectroclusters/virtual", "session")]
        assert_no_secrets(response, admin_token)
    finally:
        remove(p, uid)


def _without(entity: dict[str, Any], *path: str) -> dict[str, Any]:
    node = entity
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return entity


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda e: {}, "Cluster name is required"),
        (lambda e: {"clusterConfig": "text"}, "Cluster name is required"),
        (lambda e: {**e}, "Cluster name is required"),  # the entity without the clusterConfig wrapper
        (lambda e: {"clusterConfig": _without(e, "metadata", "name")}, "Cluster name is required"),
        (
            lambda e: {
                "clusterConfig": _without(e, "spec", "clusterConfig", "hostClusterConfig", "clusterGroup")
            },
            "Cluster group UID is required",
        ),
        (lambda e: {"clusterConfig": _without(e, "spec")}, "Cluster group UID is required"),
        (
            lambda e: {
                "clusterConfig": {
                    **e,
                    "spec": {"clusterConfig": {"hostClusterConfig": {"clusterGroup": {"uid": 7}}}},
                }
            },
            "Cluster group UID is required",
        ),
    ],
)
def test_virtual_structural_problems_are_400(
    open_plugin: PluginClient, admin_token: str, make: Any, message: str
) -> None:
    p = open_plugin
    response = p.post(
        "/virtualclusters",
        json=make(virtual_entity(p.sim, "vc")),
        headers={"X-SpectroCloud-Token": admin_token},
    )
    assert response.status_code == 400, response.text
    assert response.json() == {"error": message}
    assert p.palette.requests == []


@pytest.mark.parametrize("bad", ["../../v1/users", "a?b=c", "%2E%2E", "x" * 65])
def test_virtual_cluster_group_uid_is_validated(
    open_plugin: PluginClient, admin_token: str, bad: str
) -> None:
    p = open_plugin
    entity = virtual_entity(p.sim, "vc")
    entity["spec"]["clusterConfig"]["hostClusterConfig"]["clusterGroup"]["uid"] = bad
    response = p.post(
        "/virtualclusters", json={"clusterConfig": entity}, headers={"X-SpectroCloud-Token": admin_token}
    )
    assert response.status_code == 400
    assert "clusterGroup.uid" in response.json()["error"]
    assert p.palette.requests == []


def test_virtual_malformed_json_is_400(open_plugin: PluginClient, admin_token: str) -> None:
    p = open_plugin
    response = p.post(
        "/virtualclusters",
        content=b'{"clusterConfig": ',
        headers={"Content-Type": "application/json", "X-SpectroCloud-Token": admin_token},
    )
    assert response.status_code == 400
    assert response.json() == {"error": "Invalid request body: malformed JSON"}


def test_virtual_palette_refusal_is_422(open_plugin: PluginClient, admin_token: str) -> None:
    p = open_plugin
    entity = virtual_entity(p.sim, "vc-unknown-group")
    entity["spec"]["clusterConfig"]["hostClusterConfig"]["clusterGroup"]["uid"] = "f" * 24
    response = p.post(
        "/virtualclusters", json={"clusterConfig": entity}, headers={"X-SpectroCloud-Token": admin_token}
    )
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "ValidationError"
    assert "f" * 24 not in response.text


# --- audit ---------------------------------------------------------------------------------------------


def _audit_lines(logs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [entry for entry in logs if entry.get("event") == "plugin.cluster_create"]


def test_every_attempt_is_audited_without_token_or_body(open_plugin: PluginClient, admin_token: str) -> None:
    p = open_plugin
    scope = project(p.sim)
    backstage_token = p.token(JANE)
    headers = {"Authorization": f"Bearer {backstage_token}", "X-SpectroCloud-Token": admin_token}
    with capture_logs() as logs:
        created = p.post(
            "/clusters", params={"projectUid": scope}, json=vsphere_body(p.sim, "audited"), headers=headers
        )
        refused = p.post("/clusters", json=_body(cloudType="gcp"), headers=headers)
        no_session = p.post("/virtualclusters", json={"clusterConfig": virtual_entity(p.sim, "vc-audit")})
    assert created.status_code == 201 and refused.status_code == 400 and no_session.status_code == 401
    uid = created.json()["uid"]
    try:
        lines = _audit_lines(logs)
        assert len(lines) == 3
        ok, invalid, reauth = lines
        assert ok["log_level"] == "info"
        assert {
            k: ok[k] for k in ("caller", "instance", "project", "cluster", "cloud_type", "outcome", "uid")
        } == {
            "caller": JANE,
            "instance": "main",
            "project": scope,
            "cluster": "audited",
            "cloud_type": "vsphere",
            "outcome": "created",
            "uid": uid,
        }
        assert (invalid["outcome"], invalid["status"], invalid["cloud_type"], invalid["uid"]) == (
            "invalid",
            400,
            None,
            None,
        )
        assert (reauth["outcome"], reauth["status"], reauth["cloud_type"], reauth["cluster"]) == (
            "reauth",
            401,
            "virtual",
            "vc-audit",
        )
        everything = repr(logs)
        for secret in (admin_token, backstage_token, SIM_KEY, BODY_MARKER, "spectro__tag", "vsanDatastore"):
            assert secret not in everything
    finally:
        remove(p, uid)


# --- body limit ----------------------------------------------------------------------------------------


LIMIT = 2048


@pytest.fixture
def limited(plugin: Any) -> PluginClient:
    client: PluginClient = plugin(server={"bodyLimitBytes": LIMIT})
    return client


def _padded(sim: SimulatorServer, size: int) -> bytes:
    body = vsphere_body(sim, "big")
    body["metadata"]["annotations"]["description"] = ""
    base = len(json.dumps(body))
    body["metadata"]["annotations"]["description"] = "d" * (size - base)
    raw = json.dumps(body).encode()
    assert len(raw) == size
    return raw


def test_declared_length_over_the_limit_is_413_without_palette(limited: PluginClient) -> None:
    p = limited
    response = p.post(
        "/clusters", content=_padded(p.sim, LIMIT + 1), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json() == {"error": f"request body exceeds the limit of {LIMIT} bytes"}
    assert p.palette.requests == []


def test_chunked_body_over_the_limit_is_413(limited: PluginClient) -> None:
    p = limited
    raw = _padded(p.sim, LIMIT * 4)

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(raw), 512):
            yield raw[start : start + 512]

    with capture_logs() as logs:
        response = p.post("/virtualclusters", content=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413, response.text
    assert response.json()["error"].startswith("request body exceeds the limit")
    assert p.palette.requests == []
    # No Content-Length: the middleware counted the chunks as the route read them.
    cut = [e for e in logs if e["event"] == "api.body_too_large"]
    assert len(cut) == 1 and cut[0]["received"] > LIMIT and "declared" not in cut[0]


def test_bodies_within_the_limit_reach_the_route(limited: PluginClient) -> None:
    p = limited
    raw = _padded(p.sim, LIMIT)

    def chunks() -> Iterator[bytes]:
        yield raw[: LIMIT // 2]
        yield raw[LIMIT // 2 :]

    for content in (raw, chunks()):
        response = p.post("/clusters", content=content, headers={"Content-Type": "application/json"})
        # Permissions are off and there is no session: the route itself answered.
        assert response.status_code == 401, response.text


def test_limit_applies_to_every_route_and_method(limited: PluginClient) -> None:
    p = limited
    response = p.get("/clusters", content=b"x" * (LIMIT + 10))
    assert response.status_code == 413
    health = httpx.request("GET", p.server.url + "/health", content=b"x" * (LIMIT + 10), timeout=30)
    assert health.status_code == 413
    assert p.palette.requests == []


def test_openapi_documents_the_bodies_and_answers(open_plugin: PluginClient) -> None:
    document = httpx.get(open_plugin.server.url + "/openapi.json", timeout=30).json()
    cases = (("/clusters", ["metadata", "spec"], 19), ("/virtualclusters", ["clusterConfig"], 20))
    for path, required, number in cases:
        operation = document["paths"]["/api/spectrocloud" + path]["post"]
        schema = operation["requestBody"]["content"]["application/json"]["schema"]
        assert operation["requestBody"]["required"] is True and schema["required"] == required
        assert {"201", "400", "403", "413", "422"} <= set(operation["responses"])
        assert operation["description"].startswith(f"Route {number}:")
    cluster = document["paths"]["/api/spectrocloud/clusters"]["post"]
    spec = cluster["requestBody"]["content"]["application/json"]["schema"]["properties"]["spec"]
    assert set(spec["properties"]["cloudType"]["enum"]) == {
        "eks",
        "aws",
        "aks",
        "azure",
        "vsphere",
        "nested",
        "virtual",
    }
