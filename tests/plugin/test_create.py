"""Routes 19 and 20 (cluster and virtual cluster creation) against the simulator, over sockets.

The seed's simple bodies (every cloud type) and the anchor's entities become bodies that Palette's own
definitions (the full swagger file) accept and the simulator creates; bad fields are a 422 listing every
problem with nothing sent; malformed JSON and non-objects stay 400; profile variables are checked against the
profiles' declarations; virtual clusters inherit the group's endpoint type; Palette's refusals map onto the
status contract; 403/401 gating; one audit line per attempt (no token, body, SSH key or variable value); 413
for bodies over ``server.bodyLimitBytes``.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import httpx
import pytest
from structlog.testing import capture_logs

from ingestor.palette.schema import SpecValidator
from ingestor.simulator.dataset import owner_of
from ingestor.simulator.server import SimulatorServer
from tests.contract.conftest import swagger_path
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
VALUE_MARKER = "Value-Marker-9c1d!"
TRAVERSALS = ["..%2F..%2Fv1%2Fusers", "%3Fa%3Db", "%2E%2E", "a/b"]
DEFINITIONS = {
    "eks": "v1SpectroEksClusterEntity",
    "aws": "v1SpectroAwsClusterEntity",
    "aks": "v1SpectroAzureClusterEntity",
    "azure": "v1SpectroAzureClusterEntity",
    "vsphere": "v1SpectroVsphereClusterEntity",
    "virtual": "v1SpectroVirtualClusterEntity",
}
ACCOUNT_TYPES = {"eks": "aws", "aws": "aws", "aks": "azure", "azure": "azure", "vsphere": "vsphere"}
GROUP_UID_FIELD = "clusterConfig.spec.clusterConfig.hostClusterConfig.clusterGroup.uid"
Sent = list[tuple[str, dict[str, Any]]]

# --- simulator data --------------------------------------------------------------------------------------


def project(sim: SimulatorServer) -> str:
    return sorted(sim.dataset.collection("projects"))[0]


def tenant_uid(sim: SimulatorServer, collection: str, match: Callable[[str, Any], bool]) -> str:
    return next(
        uid
        for uid, record in sorted(sim.dataset.collection(collection).items())
        if owner_of(record)[0] == "tenant" and match(uid, record)
    )


def account(sim: SimulatorServer, cloud: str) -> str:
    """The tenant cloud account a cluster of ``cloud`` uses."""
    return tenant_uid(
        sim, "cloudAccounts", lambda u, r: sim.dataset.cloud_account_types[u] == ACCOUNT_TYPES[cloud]
    )


def base_profile(sim: SimulatorServer, cloud: str) -> str:
    """Version 1.0.0 of the tenant's full-stack profile for ``cloud`` (``eks-base``, ...)."""
    return tenant_uid(
        sim,
        "clusterProfiles",
        lambda u, r: r["metadata"]["name"] == f"{cloud}-base" and r["spec"]["version"] == "1.0.0",
    )


def addon_profile(sim: SimulatorServer, scope: str, name: str = "ingress") -> str:
    """Version 1.0.0 of an add-on family of the project ``scope``."""
    return next(
        uid
        for uid, record in sorted(sim.dataset.collection("clusterProfiles").items())
        if owner_of(record) == ("project", scope)
        and record["metadata"]["name"] == name
        and record["spec"]["version"] == "1.0.0"
    )


def host_group(sim: SimulatorServer) -> str:
    """A tenant cluster group that has a host cluster."""
    hosts = sim.dataset.index().hosts_by_group
    return tenant_uid(sim, "clusterGroups", lambda u, r: bool(hosts.get(u)))


def ip_pool(sim: SimulatorServer) -> str:
    return sorted(sim.dataset.ip_pool_overlords)[0]


def sim_patch(sim: SimulatorServer, collection: str, uid: str, patch: dict[str, Any]) -> None:
    response = httpx.patch(
        f"{sim.url}/__sim/data/{collection}/{uid}", headers={"ApiKey": SIM_KEY}, json=patch, timeout=30
    )
    response.raise_for_status()


# --- request bodies --------------------------------------------------------------------------------------


def _pool(name: str, instance: Any, count: int, **extra: Any) -> dict[str, Any]:
    return {"name": name, "instanceType": instance, "count": count, **extra}


def simple_body(sim: SimulatorServer, cloud: str, name: str) -> dict[str, Any]:
    """The seed's simple body for ``cloud``, with real account and profile uids of the simulator."""
    body: dict[str, Any] = {
        "cloudType": cloud,
        "name": name,
        "description": "made by test_create",
        "tags": ["team-a"],
        "cloudAccountUid": account(sim, cloud),
        "profileUids": [base_profile(sim, cloud)],
    }
    taint = {"key": "dedicated", "value": "apps", "effect": "NoSchedule"}
    worker: dict[str, Any] = {"minSize": 1, "maxSize": 5, "labels": ["apps"], "taints": [taint]}
    if cloud == "eks":
        body |= {"region": "us-east-1", "sshKeyName": "ops", "vpcId": "vpc-0abc"}
        pools = [_pool("workers", "m6i.large", 2, capacityType="spot", azs=["us-east-1a"], **worker)]
    elif cloud == "aws":
        body |= {"region": "eu-west-1", "sshKeyName": "ops"}
        pools = [_pool("cp", "m6i.large", 1, controlPlane=True), _pool("workers", "m6i.xlarge", 2, **worker)]
    elif cloud == "aks":
        body |= {
            "location": "westeurope",
            "subscriptionId": "sub-1",
            "resourceGroup": "rg",
            "sshKey": BODY_MARKER,
        }
        pools = [
            _pool("system", "Standard_D4s_v5", 1, systemNodePool=True),
            _pool("workers", "Standard_D8s_v5", 2, **worker),
        ]
    elif cloud == "azure":
        body |= {"region": "westeurope", "subscriptionId": "sub-1", "sshKey": BODY_MARKER}
        pools = [
            _pool("cp", "Standard_D4s_v5", 1, labels=["control-plane"]),
            _pool("workers", "Standard_D4s_v5", 2, **worker),
        ]
    else:
        body["vsphere"] = {
            "datacenter": "Datacenter-1",
            "folder": "/Datacenter-1/vm/palette",
            "cluster": "Cluster-A",
            "datastore": "vsanDatastore-1A",
            "network": "VM Network",
            "resourcePool": "Resources",
            "ipPoolUid": ip_pool(sim),
            "sshKeys": [BODY_MARKER],
        }
        size = {"numCPUs": 4, "memoryMiB": 8192, "diskGiB": 60}
        pools = [_pool("cp", size, 1, controlPlane=True), _pool("workers", size, 2, **worker)]
    body["machinePoolConfig"] = pools
    return body


def vsphere_body(sim: SimulatorServer, name: str) -> dict[str, Any]:
    """What the stock wizard sends for vSphere (compat.md 8.6): camelCase pools, ``spec.cloudType``."""
    placement = {
        "cluster": "Cluster-A",
        "datastore": "vsanDatastore-1A",
        "resourcePool": "",
        "network": {"networkName": "VM Network", "staticIp": False, "parentPoolUid": ""},
    }

    def pool(name: str, control_plane: bool) -> dict[str, Any]:
        return {
            "cloudConfig": {
                "instanceType": {"numCPUs": 4, "memoryMiB": 8192, "diskGiB": 60},
                "placements": [copy.deepcopy(placement)],
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
            "cloudAccountUid": account(sim, "vsphere"),
            "profiles": [{"uid": base_profile(sim, "vsphere"), "packValues": []}],
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
    """What the stock wizard sends for a virtual cluster, on a tenant cluster group that has a host."""
    size = {"minCPU": 4, "maxCPU": 4, "minMemInMiB": 8192, "maxMemInMiB": 8192}
    return {
        "metadata": {"name": name},
        "spec": {
            "cloudAccountUid": "",
            "cloudConfig": {},
            "clusterConfig": {
                "hostClusterConfig": {
                    "clusterGroup": {"kind": "ClusterGroup", "name": "g", "uid": host_group(sim)},
                    "clusterEndpoint": {"type": "LoadBalancer", "config": {}},
                }
            },
            "machinePoolConfig": [
                {"cloudConfig": {"instanceType": {**size, "minStorageGiB": 20, "maxStorageGiB": 20}}}
            ],
            "profiles": [],
        },
    }


def simple_virtual(group: str, name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "clusterGroupUid": group, "cpu": 2, "memoryGiB": 4, "storageGiB": 10, **extra}


# --- fixtures and checks ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def palette_spec() -> SpecValidator:
    """Every definition of Palette's full swagger file (not the service's bundle)."""
    path = swagger_path()
    if path is None:
        pytest.skip("Palette swagger file not found: set PALETTE_OPENAPI or provide ../shared/palette/")
    return SpecValidator.from_swagger(path)


@pytest.fixture
def open_plugin(plugin: Any) -> PluginClient:
    """Permissions off: creation needs the caller's own Palette session (sent as X-SpectroCloud-Token)."""
    client: PluginClient = plugin()
    return client


@pytest.fixture
def admin_token(open_plugin: PluginClient) -> str:
    return open_plugin.session_token("admin")


@pytest.fixture
def session(admin_token: str) -> dict[str, str]:
    return {"X-SpectroCloud-Token": admin_token}


def record_creations(p: PluginClient, monkeypatch: pytest.MonkeyPatch) -> Sent:
    """From now on, every body our service POSTs to ``/v1/spectroclusters/*`` (path, JSON)."""
    sent: Sent = []
    inner = p.palette.handle_async_request

    async def handle(request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path.startswith("/v1/spectroclusters/"):
            sent.append((request.url.path, json.loads(await request.aread())))
        return await inner(request)

    monkeypatch.setattr(p.palette, "handle_async_request", handle)
    return sent


@pytest.fixture
def sent(open_plugin: PluginClient, monkeypatch: pytest.MonkeyPatch) -> Sent:
    return record_creations(open_plugin, monkeypatch)


@pytest.fixture
def created(sim: SimulatorServer) -> Iterator[list[str]]:
    """Uids of clusters a test made; removed afterwards (the simulator is shared by the module)."""
    uids: list[str] = []
    yield uids
    for uid in uids:
        httpx.delete(f"{sim.url}/__sim/data/clusters/{uid}", headers={"ApiKey": SIM_KEY}, timeout=30)


@pytest.fixture
def inject(sim: SimulatorServer) -> Iterator[Callable[[dict[str, Any]], None]]:
    """Add a simulator fault; every fault added is removed after the test."""
    added: list[str] = []

    def add(spec: dict[str, Any]) -> None:
        response = httpx.post(f"{sim.url}/__sim/faults", headers={"ApiKey": SIM_KEY}, json=spec, timeout=30)
        response.raise_for_status()
        added.extend(response.json()["ids"])

    yield add
    for fault_id in added:
        httpx.delete(f"{sim.url}/__sim/faults/{fault_id}", headers={"ApiKey": SIM_KEY}, timeout=30)


def creation(p: PluginClient, uid: str) -> dict[str, Any]:
    """What the simulator recorded of the creation of ``uid``."""
    return next(item for item in p.sim_get("/__sim/creations")["items"] if item["uid"] == uid)


def served(p: PluginClient, uid: str, scope: str | None) -> dict[str, Any]:
    query = f"?ProjectUid={scope}" if scope else ""
    summary: dict[str, Any] = p.sim_get(f"/v1/dashboard/spectroclusters/{uid}{query}")
    return summary


def creation_posts(p: PluginClient) -> list[str]:
    return [
        path for method, path, _ in p.palette.requests if method == "POST" and "/spectroclusters/" in path
    ]


REQUIRED_PROPERTY = re.compile(r"'([^']+)' is a required property")


def fields(response: httpx.Response) -> set[str]:
    """The fields a 422 of our checks names (and the answer's shape). A schema problem "'x' is a required
    property" on ``parent`` names ``parent.x`` (see ``test_schema_problems_name_the_missing_field``)."""
    assert response.status_code == 422, response.text
    body = response.json()
    assert set(body) == {"error", "problems"}, body
    named = set()
    for problem in body["problems"]:
        assert set(problem) == {"field", "message"}
        missing = REQUIRED_PROPERTY.fullmatch(problem["message"])
        named.add(f"{problem['field']}.{missing[1]}" if missing else problem["field"])
    return named


def assert_no_secrets(text: str, *secrets: str) -> None:
    for secret in (SIM_KEY, *secrets):
        assert secret not in text


def assert_valid(spec: SpecValidator, definition: str, body: dict[str, Any], strict: bool = False) -> None:
    """``body`` matches ``definition``; ``strict``: also without a field the definition does not know."""
    assert spec.errors(definition, body, strict=strict) == [], definition


# --- route 19: simple bodies -----------------------------------------------------------------------------


@pytest.mark.parametrize("cloud", ["eks", "aws", "aks", "azure", "vsphere"])
def test_simple_body_of_each_cloud_type_is_created(
    open_plugin: PluginClient,
    session: dict[str, str],
    sent: Sent,
    created: list[str],
    palette_spec: SpecValidator,
    cloud: str,
) -> None:
    p = open_plugin
    scope = project(p.sim)
    body = simple_body(p.sim, cloud, f"simple-{cloud}")
    response = p.post("/clusters", params={"projectUid": scope}, json=body, headers=session)
    assert response.status_code == 201, response.text
    assert set(response.json()) == {"uid"}
    uid = response.json()["uid"]
    created.append(uid)

    profile = body["profileUids"][0]
    assert p.palette.requests == [
        ("GET", f"/v1/clusterprofiles/{profile}/variables", "session"),
        ("POST", f"/v1/spectroclusters/{cloud}", "session"),
    ]
    [(path, entity)] = sent
    assert path == f"/v1/spectroclusters/{cloud}"
    assert_valid(palette_spec, DEFINITIONS[cloud], entity, strict=True)
    spec = entity["spec"]
    assert entity["metadata"]["name"] == f"simple-{cloud}"
    assert entity["metadata"]["labels"] == {"team-a": "spectro__tag"}
    assert entity["metadata"]["annotations"] == {"description": "made by test_create"}
    assert spec["cloudAccountUid"] == body["cloudAccountUid"]
    assert [item["uid"] for item in spec["profiles"]] == [profile]
    assert "machinePoolConfig" not in spec
    pools = {pool["poolConfig"]["name"]: pool for pool in spec["machinepoolconfig"]}
    assert set(pools) == {pool["name"] for pool in body["machinePoolConfig"]}
    config = spec["cloudConfig"]
    if cloud in ("eks", "aws"):
        assert config["region"] == body["region"] and config["sshKeyName"] == "ops"
    if cloud in ("aks", "azure"):
        assert config["subscriptionId"] == "sub-1" and config["location"] == "westeurope"
        assert config["sshKey"] == BODY_MARKER
    if cloud in ("eks", "aks"):  # a managed control plane: workers only
        assert not any(pool["poolConfig"].get("isControlPlane") for pool in pools.values())
    else:
        planes = [name for name, pool in pools.items() if pool["poolConfig"]["isControlPlane"]]
        assert len(planes) == 1 and "control-plane" in pools[planes[0]]["poolConfig"]["labels"]
    if cloud == "aks":
        assert pools["system"]["managedPoolConfig"]["isSystemNodePool"] is True
        assert pools["workers"]["managedPoolConfig"]["isSystemNodePool"] is False
    if cloud == "vsphere":
        assert config["placement"]["datacenter"] == "Datacenter-1" and config["staticIp"] is True
        network = pools["workers"]["cloudConfig"]["placements"][0]["network"]
        assert network == {"networkName": "VM Network", "staticIp": True, "parentPoolUid": ip_pool(p.sim)}
    worker = pools["workers"]["poolConfig"]
    assert (worker["size"], worker["minSize"], worker["maxSize"]) == (2, 1, 5)
    assert worker["taints"] == [{"key": "dedicated", "value": "apps", "effect": "NoSchedule"}]
    assert "apps" in worker["labels"] and worker["isControlPlane"] is False

    recorded = creation(p, uid)
    assert (recorded["cloudType"], recorded["projectUid"]) == (cloud, scope)
    assert (recorded["name"], recorded["machinePoolField"]) == (f"simple-{cloud}", "machinepoolconfig")
    assert uid in p.sim.dataset.collection("clusters")
    summary = served(p, uid, scope)
    assert summary["metadata"]["name"] == f"simple-{cloud}"
    assert summary["spec"]["cloudConfig"]["cloudType"] == cloud
    assert_no_secrets(response.text, session["X-SpectroCloud-Token"])


def test_simple_body_problems_are_reported_all_at_once(
    open_plugin: PluginClient, session: dict[str, str]
) -> None:
    p = open_plugin
    body = {
        "cloudType": "eks",
        "name": "Not_A_Name",
        "cloudAccountUid": account(p.sim, "eks"),
        "profileUids": [],
        "subnetId": VALUE_MARKER,
        "machinePoolConfig": [{"name": "w", "instanceType": "m6i.large", "count": "many"}],
    }
    response = p.post("/clusters", json=body, headers=session)
    assert {"name", "profileUids", "subnetId", "machinePoolConfig[0].count", "region"} <= fields(response)
    assert VALUE_MARKER not in response.text and "Not_A_Name" not in response.text
    assert p.palette.requests == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"cloudAccountUid": "../../v1/users"}, "cloudAccountUid"),
        ({"profileUids": ["0" * 24]}, "profileUids[0]"),  # Palette does not know it: 404 on its variables
        ({"region": None}, "region"),
        ({"vsphere": {"datacenter": "d"}}, "vsphere"),
    ],
)
def test_simple_body_field_problems_are_422_before_creation(
    open_plugin: PluginClient, session: dict[str, str], change: dict[str, Any], field: str
) -> None:
    p = open_plugin
    body = {**simple_body(p.sim, "eks", "never"), **change}
    response = p.post("/clusters", params={"projectUid": project(p.sim)}, json=body, headers=session)
    assert field in fields(response)
    assert creation_posts(p) == []


# --- route 19: Palette entities --------------------------------------------------------------------------


def test_wizard_vsphere_body_is_repaired_and_created(
    open_plugin: PluginClient,
    session: dict[str, str],
    sent: Sent,
    created: list[str],
    palette_spec: SpecValidator,
) -> None:
    p = open_plugin
    scope = project(p.sim)
    response = p.post(
        "/clusters", params={"projectUid": scope}, json=vsphere_body(p.sim, "wizard-vsphere"), headers=session
    )
    assert response.status_code == 201, response.text
    uid = response.json()["uid"]
    created.append(uid)
    assert p.palette.requests == [("POST", "/v1/spectroclusters/vsphere", "session")]
    [(_, entity)] = sent
    spec = entity["spec"]
    assert "machinePoolConfig" not in spec and len(spec["machinepoolconfig"]) == 2
    assert "network" not in spec["cloudConfig"]
    assert "clusterConfig" not in spec and "policies" not in spec
    for pool in spec["machinepoolconfig"]:
        assert pool["cloudConfig"]["placements"][0]["network"] == {
            "networkName": "VM Network",
            "staticIp": False,
        }
    assert_valid(palette_spec, DEFINITIONS["vsphere"], entity)
    recorded = creation(p, uid)
    assert recorded["machinePoolField"] == "machinepoolconfig"  # Palette's spelling, not the wizard's
    assert (recorded["cloudType"], recorded["projectUid"]) == ("vsphere", scope)
    summary = served(p, uid, scope)
    assert summary["metadata"]["name"] == "wizard-vsphere"
    assert summary["spec"]["cloudConfig"]["cloudType"] == "vsphere"


def wizard_public_body(sim: SimulatorServer) -> dict[str, Any]:
    """The wizard's eks/aws/aks/azure body (compat 8.6): no region, no ``machinepoolconfig``."""
    return {
        "metadata": {"name": "wizard-aws", "labels": {}, "annotations": {}},
        "spec": {
            "cloudType": "aws",
            "cloudAccountUid": account(sim, "aws"),
            "profiles": [{"uid": base_profile(sim, "aws"), "packValues": []}],
            "cloudConfig": {
                "controlPlane": {"instanceType": "m6i.large", "count": 1, "diskSize": 60},
                "workerPools": [{"name": "w", "size": 1, "instanceType": "", "minSize": 1, "maxSize": 10}],
            },
            "clusterConfig": {},
            "policies": {},
        },
    }


def test_wizard_public_cloud_body_is_refused_naming_what_is_missing(
    open_plugin: PluginClient, session: dict[str, str]
) -> None:
    p = open_plugin
    response = p.post("/clusters", json=wizard_public_body(p.sim), headers=session)
    assert {"spec.cloudConfig.region", "spec.machinepoolconfig"} <= fields(response)
    assert p.palette.requests == []


def test_schema_problems_name_the_missing_field(open_plugin: PluginClient, session: dict[str, str]) -> None:
    p = open_plugin
    response = p.post("/clusters", json=wizard_public_body(p.sim), headers=session)
    assert response.status_code == 422, response.text
    problems = {problem["field"]: problem["message"] for problem in response.json()["problems"]}
    assert problems.get("spec.cloudConfig.region") == "is required"


@pytest.mark.parametrize("cloud_type", ["nested", "Virtual", " NESTED "])
def test_nested_and_virtual_cloud_types_create_virtual_clusters(
    open_plugin: PluginClient, session: dict[str, str], created: list[str], cloud_type: str
) -> None:
    p = open_plugin
    entity = virtual_entity(p.sim, f"vc-{cloud_type.strip().lower()}")
    entity["spec"]["cloudType"] = cloud_type
    response = p.post("/clusters", json=entity, headers=session)
    assert response.status_code == 201, response.text
    uid = response.json()["uid"]
    created.append(uid)
    assert creation(p, uid)["cloudType"] == "virtual"
    assert creation(p, uid)["scope"] == "tenant"  # no projectUid: no ProjectUid header
    assert p.palette_paths() == ["/v1/spectroclusters/virtual"]


def test_permission_grants_creation_with_the_instance_key(plugin: Any, created: list[str]) -> None:
    """With permissions enabled the API key may stand in for a caller without a session (S2)."""
    p: PluginClient = plugin(policy=CREATORS)
    response = p.post("/clusters", params={"projectUid": project(p.sim)}, json=vsphere_body(p.sim, "by-key"))
    assert response.status_code == 201, response.text
    created.append(response.json()["uid"])
    assert p.palette.requests == [("POST", "/v1/spectroclusters/vsphere", "api-key")]
    assert_no_secrets(response.text)


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
    ],
)
@pytest.mark.parametrize("path", ["/clusters", "/virtualclusters"])
def test_malformed_and_non_object_bodies_are_400(
    open_plugin: PluginClient, session: dict[str, str], path: str, content: bytes, message: str
) -> None:
    p = open_plugin
    response = p.post(path, content=content, headers={"Content-Type": "application/json", **session})
    assert response.status_code == 400, response.text
    assert response.json() == {"error": message}
    assert p.palette.requests == []


def _entity(**spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "x"}, "spec": spec}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"metadata": {"name": "x"}}, {"spec.cloudType"}),
        (_entity(cloudType=7), {"spec.cloudType"}),
        (_entity(cloudType=["eks"]), {"spec.cloudType"}),
        (_entity(cloudType=""), {"spec.cloudType"}),
        ({"metadata": {}, "spec": "eks"}, {"spec.cloudType"}),
        (_entity(cloudType="gcp"), {"spec.cloudType"}),
        (_entity(cloudType="edge-native"), {"spec.cloudType"}),
        ({"spec": {"cloudType": "eks"}}, {"metadata.name"}),
        ({"metadata": {"name": "  "}, "spec": {"cloudType": "eks"}}, {"metadata.name"}),
        ({"metadata": {"name": 5}, "spec": {"cloudType": "eks"}}, {"metadata.name"}),
        (
            _entity(cloudType="eks"),
            {"spec.cloudAccountUid", "spec.machinepoolconfig", "spec.profiles", "spec.cloudConfig"},
        ),
        (
            {"cloudType": "vsphere", "name": "x"},
            {"cloudAccountUid", "profileUids", "machinePoolConfig", "vsphere"},
        ),
        ({"cloudType": "gcp", "name": "x"}, {"cloudType"}),
    ],
)
def test_field_problems_are_422_naming_every_field(
    open_plugin: PluginClient, session: dict[str, str], body: dict[str, Any], expected: set[str]
) -> None:
    p = open_plugin
    response = p.post("/clusters", json=body, headers=session)
    assert expected <= fields(response)
    assert response.json()["error"].startswith("Invalid cluster request")
    assert p.palette.requests == []


def test_input_values_are_never_echoed(open_plugin: PluginClient, session: dict[str, str]) -> None:
    p = open_plugin
    m = VALUE_MARKER
    wrong = {
        "metadata": {"name": "Not_A_Name", "labels": {"a": [m]}},
        "spec": {
            "cloudType": "aws",
            "cloudAccountUid": m,
            "profiles": [{"uid": m}],
            "cloudConfig": {"region": [m], "sshKeyName": {"k": m}},
            "machinepoolconfig": [{"cloudConfig": {"instanceType": m}, "poolConfig": {"name": m, "size": m}}],
        },
    }
    bodies = [_entity(cloudType=m * 200 + "\n\x00"), {"cloudType": m, "name": "x"}, wrong]
    with capture_logs() as logs:
        answers = [p.post("/clusters", json=body, headers=session) for body in bodies]
    assert "spec.cloudType" in fields(answers[0]) and "cloudType" in fields(answers[1])
    assert {
        "metadata.name",
        "spec.cloudConfig.region",
        "spec.machinepoolconfig[0].poolConfig.size",
    } <= fields(answers[2])
    for response in answers:
        assert m not in response.text and "Not_A_Name" not in response.text
    assert m not in repr(logs)  # the audit line names the cluster (bounded), never other values
    assert p.palette.requests == []


@pytest.mark.parametrize("bad", TRAVERSALS)
def test_bad_project_uid_is_400_before_palette(
    open_plugin: PluginClient, session: dict[str, str], bad: str
) -> None:
    p = open_plugin
    for body in (vsphere_body(p.sim, "never"), simple_body(p.sim, "aws", "never")):
        response = httpx.post(
            f"{p.base}/clusters?projectUid={bad}",
            json=body,
            headers={"Authorization": f"Bearer {p.token()}", **session},
            timeout=30,
        )
        assert response.status_code == 400, response.text
        assert "projectUid" in response.json()["error"]
    assert p.palette.requests == []


@pytest.mark.parametrize("path", ["/clusters", "/virtualclusters"])
@pytest.mark.parametrize("query", [{"projectUid": "../../v1/users"}, {"instance": "elsewhere"}])
def test_bad_query_comes_before_body_fields(
    open_plugin: PluginClient, session: dict[str, str], path: str, query: dict[str, str]
) -> None:
    """Input validation (400) precedes the body's fields (422), as on every route (test_error_mapping)."""
    p = open_plugin
    response = p.post(path, params=query, json={"name": "Incomplete"}, headers=session)
    assert response.status_code == 400, response.text
    assert p.palette.requests == []


def test_unknown_instance_is_400_listing_names(open_plugin: PluginClient, session: dict[str, str]) -> None:
    p = open_plugin
    response = p.post(
        "/clusters", params={"instance": "elsewhere"}, json=vsphere_body(p.sim, "never"), headers=session
    )
    assert response.status_code == 400
    assert "main" in response.json()["error"]
    assert p.palette.requests == []


@pytest.mark.parametrize("path", ["/clusters", "/virtualclusters"])
def test_without_the_create_permission_403_comes_first(plugin: Any, path: str) -> None:
    p: PluginClient = plugin(policy=VIEWERS)
    bodies = (b"{broken", json.dumps({"clusterConfig": virtual_entity(p.sim, "no")}).encode(), b"{}")
    for content in bodies:
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
    if path == "/clusters":
        bodies = [vsphere_body(p.sim, "never"), simple_body(p.sim, "aws", "never")]
    else:
        bodies = [{"clusterConfig": virtual_entity(p.sim, "n")}, simple_virtual(host_group(p.sim), "n")]
    for body in bodies:
        response = p.post(path, json=body)
        assert response.status_code == 401, response.text
        assert response.json()["requiresReAuth"] is True
        assert response.headers["X-SpectroCloud-ReAuth-Required"] == "true"
        assert_no_secrets(response.text, p.token())
    assert p.palette.requests == []


def test_no_backstage_token_is_401(open_plugin: PluginClient) -> None:
    p = open_plugin
    response = p.post("/clusters", user=None, json=vsphere_body(p.sim, "never"))
    assert response.status_code == 401
    assert "requiresReAuth" not in response.json()
    assert p.palette.requests == []


def test_palette_validation_failure_is_422_with_its_code_not_its_body(
    open_plugin: PluginClient, session: dict[str, str]
) -> None:
    p = open_plugin
    body = vsphere_body(p.sim, "bad-profile")
    body["spec"]["profiles"] = [{"uid": "0" * 24}]
    direct = httpx.post(
        f"{p.sim.url}/v1/spectroclusters/vsphere", headers={"ApiKey": SIM_KEY}, json=body, timeout=30
    )
    assert direct.status_code == 422  # what the simulator says on its own
    response = p.post("/clusters", json=body, headers=session)
    assert response.status_code == 422, response.text
    error = response.json()
    assert set(error) == {"error", "code"}
    assert error["code"] == direct.json()["code"] == "ValidationError"
    assert "status 422" in error["error"] and "code ValidationError" in error["error"]
    assert direct.json()["message"] not in response.text and "0" * 24 not in response.text
    assert p.palette.requests == [("POST", "/v1/spectroclusters/vsphere", "session")]


def test_a_duplicate_name_is_palettes_409(
    open_plugin: PluginClient, session: dict[str, str], created: list[str]
) -> None:
    p = open_plugin
    scope = project(p.sim)
    first = p.post(
        "/clusters", params={"projectUid": scope}, json=simple_body(p.sim, "aws", "twice"), headers=session
    )
    assert first.status_code == 201, first.text
    created.append(first.json()["uid"])
    again = p.post(
        "/clusters", params={"projectUid": scope}, json=vsphere_body(p.sim, "twice"), headers=session
    )
    assert again.status_code == 409, again.text
    assert "conflicts" in again.json()["error"] and "code ClusterAlreadyExists" in again.json()["error"]
    assert "twice" not in again.text  # Palette's message names the cluster; ours does not repeat it
    assert [c["uid"] for c in p.sim_get("/__sim/creations")["items"] if c["name"] == "twice"] == created


@pytest.mark.parametrize(
    ("fault", "status", "fragment"),
    [
        ({"status": 400, "code": "BadRequest", "message": "secret detail"}, 422, "code BadRequest"),
        ({"status": 422, "code": "InvalidSpec", "message": "secret detail"}, 422, "code InvalidSpec"),
        ({"status": 409, "code": "ClusterAlreadyExists"}, 409, "conflicts"),
        ({"status": 403, "code": "OperationForbidden"}, 403, "Forbidden"),
        ({"status": 404, "code": "ResourceNotFound"}, 404, "not found"),
        ({"status": 500, "code": "InternalError", "message": "secret detail"}, 502, "Palette failed"),
    ],
)
def test_palette_failures_map_onto_the_status_contract(
    open_plugin: PluginClient,
    session: dict[str, str],
    inject: Callable[[dict[str, Any]], None],
    fault: dict[str, Any],
    status: int,
    fragment: str,
) -> None:
    p = open_plugin
    inject({"kind": "error", "path": "/v1/spectroclusters/*", "method": "POST", **fault})
    for body in (vsphere_body(p.sim, "faulty"), simple_body(p.sim, "aws", "faulty")):
        response = p.post("/clusters", json=body, headers=session)
        assert response.status_code == status, response.text
        assert fragment in response.json()["error"]
        assert "problems" not in response.json()
        assert "secret detail" not in response.text
    assert creation_posts(p) == ["/v1/spectroclusters/vsphere", "/v1/spectroclusters/aws"]
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
    assert_no_secrets(response.text, "not-a-palette-session")


# --- profile variables -----------------------------------------------------------------------------------

SECRET_VARIABLE = {
    "name": "api_token",
    "displayName": "API token",
    "description": "A token the profile needs",
    "format": "string",
    "defaultValue": "",
    "regex": "^[a-z0-9-]+$",
    "inputType": "text",
    "required": True,
    "immutable": False,
    "hidden": False,
    "isSensitive": True,
}


@pytest.fixture
def declaring(sim: SimulatorServer) -> Iterator[str]:
    """eks-base 1.0.0, declaring for the test also ``api_token`` (required, no default, a pattern)."""
    uid = base_profile(sim, "eks")
    record = sim.dataset.get("clusterProfiles", uid)
    assert record is not None
    original = copy.deepcopy(record["spec"]["variables"])
    sim_patch(sim, "clusterProfiles", uid, {"spec": {"variables": [*original, SECRET_VARIABLE]}})
    yield uid
    sim_patch(sim, "clusterProfiles", uid, {"spec": {"variables": original}})


def test_a_required_variable_without_a_value_is_422(
    open_plugin: PluginClient, session: dict[str, str], declaring: str
) -> None:
    p = open_plugin
    response = p.post("/clusters", json=simple_body(p.sim, "eks", "needs-vars"), headers=session)
    assert fields(response) == {f"profileVariables.{declaring}.api_token"}
    assert p.palette.requests == [("GET", f"/v1/clusterprofiles/{declaring}/variables", "session")]


@pytest.mark.parametrize("where", ["profileVariables", "clusterVariables"])
def test_given_variables_are_sent_in_the_profiles(
    open_plugin: PluginClient,
    session: dict[str, str],
    sent: Sent,
    created: list[str],
    palette_spec: SpecValidator,
    declaring: str,
    where: str,
) -> None:
    p = open_plugin
    body = simple_body(p.sim, "eks", f"vars-{where.lower()}")
    values: dict[str, Any] = {"api_token": "tok-1", "pod_cidr": "10.10.0.0/16"}
    body[where] = {declaring: values} if where == "profileVariables" else values
    response = p.post("/clusters", params={"projectUid": project(p.sim)}, json=body, headers=session)
    assert response.status_code == 201, response.text
    created.append(response.json()["uid"])
    [(_, entity)] = sent
    [profile] = entity["spec"]["profiles"]
    assert profile["uid"] == declaring
    assert sorted(profile["variables"], key=lambda v: v["name"]) == [
        {"name": "api_token", "value": "tok-1"},
        {"name": "pod_cidr", "value": "10.10.0.0/16"},
    ]
    assert_valid(palette_spec, DEFINITIONS["eks"], entity)


def test_variable_values_are_checked_and_never_echoed(
    open_plugin: PluginClient, session: dict[str, str], declaring: str
) -> None:
    p = open_plugin
    body = simple_body(p.sim, "eks", "bad-vars")
    body["profileVariables"] = {
        declaring: {"api_token": VALUE_MARKER, "service_cidr": "10.0.0.0/16", "nope": VALUE_MARKER}
    }
    body["clusterVariables"] = {"unknown_everywhere": VALUE_MARKER}
    with capture_logs() as logs:
        response = p.post("/clusters", json=body, headers=session)
    assert fields(response) == {
        f"profileVariables.{declaring}.api_token",  # fails the pattern
        f"profileVariables.{declaring}.service_cidr",  # immutable in the profile
        f"profileVariables.{declaring}.nope",
        "clusterVariables.unknown_everywhere",
    }
    assert VALUE_MARKER not in response.text and VALUE_MARKER not in repr(logs)
    assert creation_posts(p) == []


# --- route 20 --------------------------------------------------------------------------------------------


@pytest.fixture
def group(sim: SimulatorServer) -> Iterator[Callable[[str], str]]:
    """A host group whose ``clustersConfig.endpointType`` the test sets; restored afterwards."""
    uid = host_group(sim)
    record = sim.dataset.get("clusterGroups", uid)
    assert record is not None
    original = record["spec"]["clustersConfig"]["endpointType"]

    def set_endpoint(endpoint: str) -> str:
        sim_patch(sim, "clusterGroups", uid, {"spec": {"clustersConfig": {"endpointType": endpoint}}})
        return uid

    yield set_endpoint
    set_endpoint(original)


@pytest.mark.parametrize("endpoint", ["Ingress", "LoadBalancer"])
def test_simple_virtual_body_inherits_the_groups_endpoint_type(
    open_plugin: PluginClient,
    session: dict[str, str],
    sent: Sent,
    created: list[str],
    palette_spec: SpecValidator,
    group: Callable[[str], str],
    endpoint: str,
) -> None:
    p = open_plugin
    scope = project(p.sim)
    uid_of_group = group(endpoint)
    addon = addon_profile(p.sim, scope)
    body = simple_virtual(
        uid_of_group,
        f"simple-vc-{endpoint.lower()}",
        profileUids=[addon],
        profileVariables={addon: {"replicas": 3, "log_level": "debug"}},
        tags=["team-a"],
    )
    response = p.post("/virtualclusters", params={"projectUid": scope}, json=body, headers=session)
    assert response.status_code == 201, response.text
    uid = response.json()["uid"]
    created.append(uid)
    assert p.palette.requests == [
        ("GET", f"/v1/clustergroups/{uid_of_group}", "session"),
        ("GET", f"/v1/clusterprofiles/{addon}/variables", "session"),
        ("POST", "/v1/spectroclusters/virtual", "session"),
    ]
    [(path, entity)] = sent
    assert path == "/v1/spectroclusters/virtual"
    assert_valid(palette_spec, DEFINITIONS["virtual"], entity, strict=True)
    host = entity["spec"]["clusterConfig"]["hostClusterConfig"]
    assert host["clusterGroup"]["uid"] == uid_of_group
    assert host["clusterEndpoint"]["type"] == endpoint
    [pool] = entity["spec"]["machinepoolconfig"]
    assert pool["cloudConfig"]["instanceType"] == {
        "minCPU": 2,
        "maxCPU": 2,
        "minMemInMiB": 4096,
        "maxMemInMiB": 4096,
        "minStorageGiB": 10,
        "maxStorageGiB": 10,
    }
    [profile] = entity["spec"]["profiles"]
    assert profile["uid"] == addon
    assert {v["name"]: v["value"] for v in profile["variables"]} == {"replicas": "3", "log_level": "debug"}
    assert entity["metadata"]["labels"] == {"team-a": "spectro__tag"}
    recorded = creation(p, uid)
    assert (recorded["cloudType"], recorded["projectUid"]) == ("virtual", scope)
    summary = served(p, uid, scope)
    assert summary["metadata"]["name"] == f"simple-vc-{endpoint.lower()}"
    assert summary["spec"]["cloudConfig"]["cloudType"] == "nested"


def test_an_explicit_endpoint_type_wins_over_the_groups(
    open_plugin: PluginClient,
    session: dict[str, str],
    sent: Sent,
    created: list[str],
    group: Callable[[str], str],
) -> None:
    p = open_plugin
    body = simple_virtual(group("Ingress"), "vc-explicit", endpointType="LoadBalancer")
    response = p.post("/virtualclusters", json=body, headers=session)
    assert response.status_code == 201, response.text
    created.append(response.json()["uid"])
    [(_, entity)] = sent
    assert entity["spec"]["clusterConfig"]["hostClusterConfig"]["clusterEndpoint"]["type"] == "LoadBalancer"


def test_wrapped_body_without_an_endpoint_type_inherits_it(
    open_plugin: PluginClient,
    session: dict[str, str],
    sent: Sent,
    created: list[str],
    palette_spec: SpecValidator,
    group: Callable[[str], str],
) -> None:
    p = open_plugin
    entity = virtual_entity(p.sim, "wrapped-inherits")
    host = entity["spec"]["clusterConfig"]["hostClusterConfig"]
    host["clusterGroup"]["uid"] = group("Ingress")
    del host["clusterEndpoint"]
    response = p.post("/virtualclusters", json={"clusterConfig": entity}, headers=session)
    assert response.status_code == 201, response.text
    created.append(response.json()["uid"])
    [(_, body)] = sent
    assert body["spec"]["clusterConfig"]["hostClusterConfig"]["clusterEndpoint"]["type"] == "Ingress"
    assert "machinePoolConfig" not in body["spec"] and len(body["spec"]["machinepoolconfig"]) == 1
    assert_valid(palette_spec, DEFINITIONS["virtual"], body)


def test_virtual_cluster_is_created_from_the_wrapped_wizard_body(
    open_plugin: PluginClient,
    session: dict[str, str],
    sent: Sent,
    created: list[str],
    palette_spec: SpecValidator,
) -> None:
    p = open_plugin
    scope = project(p.sim)
    response = p.post(
        "/virtualclusters",
        params={"projectUid": scope, "instance": "main"},
        json={"clusterConfig": virtual_entity(p.sim, "created-by-route-20")},
        headers=session,
    )
    assert response.status_code == 201, response.text
    uid = response.json()["uid"]
    created.append(uid)
    assert p.palette.requests == [("POST", "/v1/spectroclusters/virtual", "session")]
    [(_, entity)] = sent
    assert_valid(palette_spec, DEFINITIONS["virtual"], entity)
    recorded = creation(p, uid)
    assert (recorded["cloudType"], recorded["projectUid"]) == ("virtual", scope)
    assert recorded["machinePoolField"] == "machinepoolconfig"
    summary = served(p, uid, scope)
    assert summary["metadata"]["name"] == "created-by-route-20"
    assert summary["spec"]["cloudConfig"]["cloudType"] == "nested"
    assert_no_secrets(response.text, session["X-SpectroCloud-Token"])


def test_an_unknown_cluster_group_is_422_naming_it(
    open_plugin: PluginClient, session: dict[str, str]
) -> None:
    p = open_plugin
    unknown = "f" * 24
    response = p.post("/virtualclusters", json=simple_virtual(unknown, "vc-nowhere"), headers=session)
    assert fields(response) == {"clusterGroupUid"}
    assert p.palette.requests == [("GET", f"/v1/clustergroups/{unknown}", "session")]
    entity = virtual_entity(p.sim, "vc-nowhere")
    host = entity["spec"]["clusterConfig"]["hostClusterConfig"]
    host["clusterGroup"]["uid"] = unknown
    del host["clusterEndpoint"]  # so the group is read for its endpoint type
    response = p.post("/virtualclusters", json={"clusterConfig": entity}, headers=session)
    assert fields(response) == {GROUP_UID_FIELD}
    assert creation_posts(p) == []


def _without(entity: dict[str, Any], *path: str) -> dict[str, Any]:
    node = entity
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return entity


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda e: {}, {"name", "clusterGroupUid", "cpu", "memoryGiB", "storageGiB"}),
        (lambda e: {"clusterConfig": "text"}, {"clusterConfig"}),
        (lambda e: {**e}, {"metadata", "spec", "name", "clusterGroupUid"}),  # the entity without its wrapper
        (lambda e: {"clusterConfig": _without(e, "metadata", "name")}, {"clusterConfig.metadata.name"}),
        (
            lambda e: {
                "clusterConfig": _without(e, "spec", "clusterConfig", "hostClusterConfig", "clusterGroup")
            },
            {GROUP_UID_FIELD},
        ),
        (lambda e: {"clusterConfig": _without(e, "spec")}, {"clusterConfig.spec"}),
        (
            lambda e: {
                "clusterConfig": {
                    **e,
                    "spec": {"clusterConfig": {"hostClusterConfig": {"clusterGroup": {"uid": 7}}}},
                }
            },
            {GROUP_UID_FIELD, "clusterConfig.spec.machinepoolconfig"},
        ),
        (
            lambda e: simple_virtual("g" * 24, "vc", cpu=0, memoryGiB="lots", surprise=1),
            {"cpu", "memoryGiB", "surprise"},
        ),
    ],
)
def test_virtual_field_problems_are_422(
    open_plugin: PluginClient, session: dict[str, str], make: Any, expected: set[str]
) -> None:
    p = open_plugin
    response = p.post("/virtualclusters", json=make(virtual_entity(p.sim, "vc")), headers=session)
    assert expected <= fields(response)
    assert p.palette.requests == []


@pytest.mark.parametrize("bad", ["../../v1/users", "a?b=c", "%2E%2E", "x" * 65])
def test_virtual_cluster_group_uid_is_validated(
    open_plugin: PluginClient, session: dict[str, str], bad: str
) -> None:
    p = open_plugin
    entity = virtual_entity(p.sim, "vc")
    entity["spec"]["clusterConfig"]["hostClusterConfig"]["clusterGroup"]["uid"] = bad
    response = p.post("/virtualclusters", json={"clusterConfig": entity}, headers=session)
    assert GROUP_UID_FIELD in fields(response)
    assert "clusterGroupUid" in fields(
        p.post("/virtualclusters", json=simple_virtual(bad, "vc"), headers=session)
    )
    assert bad not in json.dumps(response.json()["problems"])
    assert p.palette.requests == []


def test_virtual_palette_refusal_is_422(open_plugin: PluginClient, session: dict[str, str]) -> None:
    """A group Palette does not know, with the endpoint type given (so we do not read the group)."""
    p = open_plugin
    entity = virtual_entity(p.sim, "vc-unknown-group")
    entity["spec"]["clusterConfig"]["hostClusterConfig"]["clusterGroup"]["uid"] = "f" * 24
    response = p.post("/virtualclusters", json={"clusterConfig": entity}, headers=session)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "ValidationError" and "problems" not in response.json()
    assert "f" * 24 not in response.text


# --- audit -----------------------------------------------------------------------------------------------

AUDIT_KEYS = ("route", "instance", "project", "cluster", "cloud_type", "outcome", "status", "uid")


def _audit_lines(logs: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [entry for entry in logs if entry.get("event") == "plugin.cluster_create"]


def test_every_attempt_is_audited_without_token_or_body(
    plugin: Any, open_plugin: PluginClient, admin_token: str, created: list[str]
) -> None:
    p = open_plugin
    scope = project(p.sim)
    backstage_token = p.token(JANE)
    headers = {"Authorization": f"Bearer {backstage_token}", "X-SpectroCloud-Token": admin_token}
    in_scope: dict[str, Any] = {"params": {"projectUid": scope}, "headers": headers}
    rejected = vsphere_body(p.sim, "audit-rejected")
    rejected["spec"]["profiles"] = [{"uid": "0" * 24}]
    viewer = plugin(policy=VIEWERS)
    with capture_logs() as logs:
        answers = [
            p.post("/clusters", json=simple_body(p.sim, "azure", "audited"), **in_scope),
            p.post("/clusters", json=wizard_public_body(p.sim), **in_scope),
            p.post("/clusters", json=rejected, **in_scope),
            p.post("/clusters", json=vsphere_body(p.sim, "audited"), **in_scope),
            p.post("/virtualclusters", json={"clusterConfig": virtual_entity(p.sim, "vc-audit")}),
            viewer.post(
                "/virtualclusters", params={"projectUid": scope}, json=simple_virtual("a" * 24, "vc")
            ),
        ]
    assert [a.status_code for a in answers] == [201, 422, 422, 409, 401, 403], [a.text for a in answers]
    uid = answers[0].json()["uid"]
    created.append(uid)
    lines = _audit_lines(logs)
    assert all(line["log_level"] == "info" and line["caller"] == JANE for line in lines)
    # The instance is the one the query selects (checked right after the permission); a request denied
    # before that names only what its query did.
    assert [tuple(line[key] for key in AUDIT_KEYS) for line in lines] == [
        ("POST /clusters", "main", scope, "audited", "azure", "created", 201, uid),
        ("POST /clusters", "main", scope, "wizard-aws", "aws", "invalid", 422, None),
        ("POST /clusters", "main", scope, "audit-rejected", "vsphere", "rejected", 422, None),
        ("POST /clusters", "main", scope, "audited", "vsphere", "conflict", 409, None),
        ("POST /virtualclusters", "main", None, "vc-audit", "virtual", "reauth", 401, None),
        ("POST /virtualclusters", None, scope, None, "virtual", "denied", 403, None),
    ]
    assert [line["palette_code"] for line in lines[:3]] == [None, None, "ValidationError"]
    everything = repr(logs)
    for secret in (admin_token, backstage_token, SIM_KEY, BODY_MARKER, "spectro__tag", "vsanDatastore"):
        assert secret not in everything
    assert "sub-1" not in everything and "m6i.large" not in everything


def test_an_invalid_simple_body_is_audited_with_its_name(
    open_plugin: PluginClient, session: dict[str, str]
) -> None:
    p = open_plugin
    body = simple_body(p.sim, "aws", "audit-named")
    body["region"] = ""
    with capture_logs() as logs:
        response = p.post("/clusters", json=body, headers=session)
    assert response.status_code == 422
    [line] = _audit_lines(logs)
    assert (line["outcome"], line["cluster"], line["cloud_type"]) == ("invalid", "audit-named", "aws")


def test_a_conflict_is_audited_with_palettes_code(
    open_plugin: PluginClient, session: dict[str, str], inject: Callable[[dict[str, Any]], None]
) -> None:
    p = open_plugin
    fault = {"kind": "error", "path": "/v1/spectroclusters/*", "method": "POST", "status": 409}
    inject({**fault, "code": "ClusterAlreadyExists"})
    with capture_logs() as logs:
        response = p.post("/clusters", json=vsphere_body(p.sim, "audit-conflict"), headers=session)
    assert response.status_code == 409
    [line] = _audit_lines(logs)
    assert (line["outcome"], line["palette_code"]) == ("conflict", "ClusterAlreadyExists")


# --- body limit ------------------------------------------------------------------------------------------


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


# --- OpenAPI ---------------------------------------------------------------------------------------------


def test_openapi_documents_the_bodies_and_answers(open_plugin: PluginClient) -> None:
    document = httpx.get(open_plugin.server.url + "/openapi.json", timeout=30).json()
    cases = (
        (
            "/clusters",
            [
                ["cloudType", "name", "cloudAccountUid", "profileUids", "machinePoolConfig"],
                ["metadata", "spec"],
            ],
            19,
        ),
        (
            "/virtualclusters",
            [["name", "clusterGroupUid", "cpu", "memoryGiB", "storageGiB"], ["clusterConfig"]],
            20,
        ),
    )
    for path, required, number in cases:
        operation = document["paths"]["/api/spectrocloud" + path]["post"]
        schema = operation["requestBody"]["content"]["application/json"]["schema"]
        assert operation["requestBody"]["required"] is True
        assert [sorted(option["required"]) for option in schema["anyOf"]] == [sorted(r) for r in required]
        assert "$ref" not in json.dumps(schema)  # the simple body's definitions are inlined
        assert {"201", "409", "413", "422"} <= set(operation["responses"])
        assert operation["description"].startswith(f"Route {number}:")
    cluster = document["paths"]["/api/spectrocloud/clusters"]["post"]
    simple, entity = cluster["requestBody"]["content"]["application/json"]["schema"]["anyOf"]
    assert set(simple["properties"]["cloudType"]["enum"]) == {"eks", "aws", "aks", "azure", "vsphere"}
    assert set(entity["properties"]["spec"]["properties"]["cloudType"]["enum"]) == {
        "eks",
        "aws",
        "aks",
        "azure",
        "vsphere",
        "nested",
        "virtual",
    }
