"""Every endpoint method: the request it sends (method, path, query, scope) and the shape it reads."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from structlog.testing import capture_logs

from ingestor.palette.client import PaletteClient
from ingestor.palette.errors import InvalidRequestError, NotFoundError, ProtocolError
from ingestor.palette.filters import ACCOUNT_CLOUD_TYPES, CREATE_CLOUD_TYPES, cluster_search_body

from .stub import ClientFactory, PaletteStub, Reply

KUBECONFIG = (
    "apiVersion: v1\nkind: Config\nclusters:\n- name: c1\n  cluster:\n    server: https://1.2.3.4:6443\n"
)
META = {"metadata": {"uid": "m1", "name": "one"}}
PAGE = {"items": [META], "listmeta": {"continue": "", "count": 1}}

Call = Callable[[PaletteClient], Awaitable[Any]]


@dataclass(frozen=True)
class Case:
    """One endpoint: how to call it, what the stub answers, what must arrive on the wire."""

    name: str
    call: Call
    reply: Any
    method: str
    path: str
    query: dict[str, str]
    project: str | None


CASES = [
    Case(
        "list_projects",
        lambda c: c.list_projects().collect(),
        PAGE,
        "POST",
        "/v1/dashboard/projects",
        {},
        None,
    ),
    Case(
        "projects_metadata",
        lambda c: c.projects_metadata("a b"),
        {"items": [META]},
        "GET",
        "/v1/dashboard/projects/metadata",
        {"name": "a b"},
        None,
    ),
    Case("get_project", lambda c: c.get_project("p1"), META, "GET", "/v1/projects/p1", {}, None),
    Case("users_me", lambda c: c.users_me(), META, "GET", "/v1/users/me", {}, None),
    Case("users_info", lambda c: c.users_info(), {"userUid": "u"}, "GET", "/v1/users/info", {}, None),
    Case("get_user", lambda c: c.get_user("u1"), META, "GET", "/v1/users/u1", {}, None),
    Case(
        "user_projects",
        lambda c: c.user_projects("u1"),
        {"projects": []},
        "GET",
        "/v1/users/u1/projects",
        {},
        None,
    ),
    Case(
        "search_clusters",
        lambda c: c.search_clusters({"filter": {}}, "p").collect(),
        PAGE,
        "POST",
        "/v1/dashboard/spectroclusters/search",
        {"limit": "50"},
        "p",
    ),
    Case(
        "clusters_meta",
        lambda c: c.clusters_meta("p"),
        [META],
        "GET",
        "/v1/dashboard/spectroclusters/meta",
        {},
        "p",
    ),
    Case(
        "get_cluster_summary",
        lambda c: c.get_cluster_summary("c1", "p"),
        META,
        "GET",
        "/v1/dashboard/spectroclusters/c1",
        {},
        "p",
    ),
    Case(
        "get_cluster",
        lambda c: c.get_cluster("c1", "p", include_tags="system,profile", resolve_pack_values=True),
        META,
        "GET",
        "/v1/spectroclusters/c1",
        {"includeTags": "system,profile", "resolvePackValues": "true"},
        "p",
    ),
    Case(
        "get_cluster_profiles",
        lambda c: c.get_cluster_profiles("c1", "p", include_pack_meta="schema,presets"),
        {"profiles": []},
        "GET",
        "/v1/spectroclusters/c1/profiles",
        {"includePackMeta": "schema,presets"},
        "p",
    ),
    Case(
        "get_pack_manifest",
        lambda c: c.get_pack_manifest("c1", "m/1", "p", resolve_values=False),
        META,
        "GET",
        "/v1/spectroclusters/c1/pack/manifests/m%2F1",
        {"resolveManifestValues": "false"},
        "p",
    ),
    Case(
        "cluster_group_host_clusters",
        lambda c: c.cluster_group_host_clusters("g1", None, "p").collect(),
        PAGE,
        "POST",
        "/v1/dashboard/clustergroups/g1/hostClusters",
        {"limit": "50"},
        "p",
    ),
    Case(
        "cluster_group_virtual_clusters",
        lambda c: c.cluster_group_virtual_clusters("g1", None, "p").collect(),
        PAGE,
        "POST",
        "/v1/dashboard/clustergroups/g1/virtualClusters",
        {"limit": "50"},
        "p",
    ),
    Case(
        "search_profiles",
        lambda c: c.search_profiles(None, "p").collect(),
        PAGE,
        "POST",
        "/v1/dashboard/clusterprofiles",
        {"limit": "50"},
        "p",
    ),
    Case(
        "profiles_metadata",
        lambda c: c.profiles_metadata("p"),
        {"items": [META]},
        "GET",
        "/v1/dashboard/clusterprofiles/metadata",
        {},
        "p",
    ),
    Case(
        "get_profile",
        lambda c: c.get_profile("v2", "p", include_pack_meta="schema"),
        META,
        "GET",
        "/v1/clusterprofiles/v2",
        {"includePackMeta": "schema"},
        "p",
    ),
    Case(
        "get_profile_packs",
        lambda c: c.get_profile_packs("v2", "p"),
        {"items": []},
        "GET",
        "/v1/clusterprofiles/v2/packs",
        {},
        "p",
    ),
    Case(
        "get_profile_variables",
        lambda c: c.get_profile_variables("v2", "p"),
        {"variables": []},
        "GET",
        "/v1/clusterprofiles/v2/variables",
        {},
        "p",
    ),
    Case(
        "list_cluster_groups",
        lambda c: c.list_cluster_groups("p"),
        {"summaries": [META]},
        "GET",
        "/v1/clustergroups/hostCluster",
        {},
        "p",
    ),
    Case(
        "cluster_groups_metadata",
        lambda c: c.cluster_groups_metadata(),
        {"items": [{"uid": "g"}]},
        "GET",
        "/v1/clustergroups/hostCluster/metadata",
        {},
        None,
    ),
    Case(
        "get_cluster_group",
        lambda c: c.get_cluster_group("g1", "p"),
        META,
        "GET",
        "/v1/clustergroups/g1",
        {},
        "p",
    ),
    Case(
        "list_cloud_accounts",
        lambda c: c.list_cloud_accounts("apache-cloudstack", "p").collect(),
        PAGE,
        "GET",
        "/v1/cloudaccounts/apache-cloudstack",
        {"limit": "50"},
        "p",
    ),
    Case(
        "get_cloud_account",
        lambda c: c.get_cloud_account("AWS", "a1", "p"),
        META,
        "GET",
        "/v1/cloudaccounts/aws/a1",
        {},
        "p",
    ),
    Case(
        "cloud_accounts_summary",
        lambda c: c.cloud_accounts_summary("p").collect(),
        PAGE,
        "GET",
        "/v1/cloudaccounts/summary",
        {"limit": "50"},
        "p",
    ),
    Case(
        "vsphere_datacenters",
        lambda c: c.vsphere_datacenters("a1", "p"),
        {"items": []},
        "GET",
        "/v1/cloudaccounts/vsphere/a1/properties/datacenters",
        {},
        "p",
    ),
    Case(
        "vsphere_compute_cluster_resources",
        lambda c: c.vsphere_compute_cluster_resources("a1", "dc 1", "cc&x", "p"),
        {"computecluster": {}},
        "GET",
        "/v1/cloudaccounts/vsphere/a1/properties/computecluster/resources",
        {"datacenter": "dc 1", "computecluster": "cc&x"},
        "p",
    ),
    Case(
        "list_overlords", lambda c: c.list_overlords("p"), {"items": [META]}, "GET", "/v1/overlords", {}, "p"
    ),
    Case("get_overlord", lambda c: c.get_overlord("o1", "p"), META, "GET", "/v1/overlords/o1", {}, "p"),
    Case(
        "overlord_ip_pools",
        lambda c: c.overlord_ip_pools("o1", "p"),
        {"items": [META]},
        "GET",
        "/v1/overlords/vsphere/o1/pools",
        {},
        "p",
    ),
    Case(
        "list_ssh_keys",
        lambda c: c.list_ssh_keys("p"),
        {"items": [META]},
        "GET",
        "/v1/users/assets/sshkeys",
        {},
        "p",
    ),
    Case(
        "get_ssh_key", lambda c: c.get_ssh_key("k1", "p"), META, "GET", "/v1/users/assets/sshkeys/k1", {}, "p"
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
async def test_endpoint_request_shape(stub: PaletteStub, make_client: ClientFactory, case: Case) -> None:
    stub.handler = lambda s: Reply(200, case.reply)
    result = await case.call(make_client())
    assert result is not None
    seen = stub.seen[0]
    assert (seen.method, seen.raw_path) == (case.method, case.path)
    assert {k: seen.q(k) for k in case.query} == case.query
    assert seen.headers.get("projectuid") == case.project
    if case.method == "GET":
        assert seen.body == b""


def test_every_palette_method_is_covered() -> None:
    public = {
        name
        for name in dir(PaletteClient)
        if not name.startswith("_")
        and callable(getattr(PaletteClient, name))
        and name not in {"aclose", "with_credential"}
    }
    covered = {case.name for case in CASES} | {
        "list_clusters", "list_virtual_clusters", "get_kubeconfig", "create_cluster",
        "create_ssh_key", "update_ssh_key", "delete_ssh_key",
    }  # fmt: skip
    assert public == covered


async def test_canonical_cluster_bodies(stub: PaletteStub, make_client: ClientFactory) -> None:
    stub.handler = lambda s: Reply(200, PAGE)
    client = make_client()
    await client.list_clusters().collect()
    await client.list_virtual_clusters("p").collect()
    plain, virtual = (s.json() for s in stub.seen)
    assert plain == cluster_search_body(virtual=False)
    env, deleted = plain["filter"]["filterGroups"][0]["filters"]
    assert env["property"] == "environment" and env["condition"]["string"]["negation"] is True
    assert env["condition"]["string"]["match"]["values"] == ["nested"]
    assert deleted == {"property": "isDeleted", "type": "bool", "condition": {"bool": {"value": False}}}
    assert virtual["filter"]["filterGroups"][0]["filters"][0]["condition"]["string"]["negation"] is False
    assert virtual["sort"] == [{"field": "lastModifiedTimestamp", "order": "desc"}]
    assert stub.seen[1].headers["projectuid"] == "p" and "projectuid" not in stub.seen[0].headers


@pytest.mark.parametrize(
    ("kind", "path", "frp"),
    [
        ("user", "/v1/spectroclusters/c1/assets/kubeconfig", "true"),
        ("client", "/v1/spectroclusters/c1/assets/kubeconfigclient", None),
        ("admin", "/v1/spectroclusters/c1/assets/adminKubeconfig", None),
        ("frp", "/v1/spectroclusters/c1/assets/frpKubeconfig", None),
    ],
)
async def test_kubeconfig_kinds(
    stub: PaletteStub, make_client: ClientFactory, kind: str, path: str, frp: str | None
) -> None:
    stub.handler = lambda s: Reply(200, body=KUBECONFIG.encode(), media_type="application/octet-stream")
    text = await make_client().get_kubeconfig("c1", "p", kind=kind)
    assert text == KUBECONFIG
    seen = stub.seen[0]
    assert seen.raw_path == path and seen.q("frp") == frp
    assert seen.headers["accept"] == "application/octet-stream" and seen.headers["projectuid"] == "p"


async def test_kubeconfig_frp_false_and_base64(stub: PaletteStub, make_client: ClientFactory) -> None:
    encoded = base64.b64encode(KUBECONFIG.encode())
    wrapped = b"\n".join(encoded[i : i + 20] for i in range(0, len(encoded), 20)) + b"\n"
    stub.handler = lambda s: Reply(200, body=wrapped, media_type="application/octet-stream")
    assert await make_client().get_kubeconfig("c1", frp=False) == KUBECONFIG
    assert stub.seen[0].q("frp") == "false"


async def test_kubeconfig_errors(stub: PaletteStub, make_client: ClientFactory) -> None:
    client = make_client()
    with pytest.raises(InvalidRequestError):
        await client.get_kubeconfig("c1", kind="../../users")
    stub.handler = lambda s: Reply(200, body=b"  \n", media_type="application/octet-stream")
    with pytest.raises(NotFoundError):
        await client.get_kubeconfig("c1")
    stub.handler = lambda s: Reply(404, {"code": "ResourceNotFound", "message": "no kubeconfig"})
    with pytest.raises(NotFoundError):
        await client.get_kubeconfig("c1")


@pytest.mark.parametrize("cloud_type", CREATE_CLOUD_TYPES)
async def test_create_cluster_paths(stub: PaletteStub, make_client: ClientFactory, cloud_type: str) -> None:
    stub.handler = lambda s: Reply(201, {"uid": "new"}, headers={"AuditUid": "audit-1"})
    body = {"metadata": {"name": "x"}, "spec": {}}
    assert await make_client().create_cluster(cloud_type, body, "p") == "new"
    seen = stub.seen[0]
    assert (seen.method, seen.raw_path, seen.json(), seen.headers["projectuid"]) == (
        "POST",
        f"/v1/spectroclusters/{cloud_type}",
        body,
        "p",
    )


@pytest.mark.parametrize("cloud_type", ["gke", "nested", "../eks", "eks/../x", "", "edge-native"])
async def test_create_cluster_refuses_other_types(
    stub: PaletteStub, make_client: ClientFactory, cloud_type: str
) -> None:
    with pytest.raises(InvalidRequestError) as info:
        await make_client().create_cluster(cloud_type, {}, "p")
    assert cloud_type not in str(info.value) or cloud_type == ""
    assert stub.seen == []


async def test_create_without_uid_is_a_protocol_error(stub: PaletteStub, make_client: ClientFactory) -> None:
    stub.handler = lambda s: Reply(201, {})
    with pytest.raises(ProtocolError):
        await make_client().create_cluster("aws", {}, "p")


@pytest.mark.parametrize("cloud_type", ["eks", "custom", "aws/../../users", "virtual"])
async def test_cloud_account_types_are_allow_listed(
    stub: PaletteStub, make_client: ClientFactory, cloud_type: str
) -> None:
    client = make_client()
    with pytest.raises(InvalidRequestError):
        client.list_cloud_accounts(cloud_type)
    with pytest.raises(InvalidRequestError):
        await client.get_cloud_account(cloud_type, "a1")
    assert stub.seen == [] and "apache-cloudstack" in ACCOUNT_CLOUD_TYPES


async def test_vsphere_resources_need_datacenter_and_cluster(
    stub: PaletteStub, make_client: ClientFactory
) -> None:
    with pytest.raises(InvalidRequestError):
        await make_client().vsphere_compute_cluster_resources("a1", "", "cc")
    assert stub.seen == []


async def test_ssh_key_writes(stub: PaletteStub, make_client: ClientFactory) -> None:
    stub.handler = lambda s: Reply(201, {"uid": "k9"}) if s.method == "POST" else Reply(204)
    client = make_client()
    uid = await client.create_ssh_key("deploy", "ssh-ed25519 AAAA", "p", labels={"team": "a"})
    await client.update_ssh_key(uid, "deploy", "ssh-ed25519 BBBB", "p")
    await client.delete_ssh_key(uid, "p")
    post, put, delete = stub.seen
    assert post.json() == {
        "metadata": {"name": "deploy", "labels": {"team": "a"}},
        "spec": {"publicKey": "ssh-ed25519 AAAA"},
    }
    assert (put.method, put.raw_path) == ("PUT", "/v1/users/assets/sshkeys/k9")
    assert put.json()["spec"] == {"publicKey": "ssh-ed25519 BBBB"}
    assert (delete.method, delete.raw_path, delete.body) == ("DELETE", "/v1/users/assets/sshkeys/k9", b"")
    assert all(s.headers["projectuid"] == "p" for s in stub.seen)


@pytest.mark.parametrize("shape", [[META], {"items": [META]}, {"items": None}, {"summaries": [META]}])
async def test_unpaged_lists_accept_array_or_object(
    stub: PaletteStub, make_client: ClientFactory, shape: Any
) -> None:
    stub.handler = lambda s: Reply(200, shape)
    client = make_client()
    groups = await client.list_cluster_groups()
    assert [g.uid for g in groups] == ([] if shape == {"items": None} else ["m1"])
    if "summaries" not in shape:
        meta = await client.clusters_meta()
        assert len(meta) == len(groups)


async def test_unpaged_list_without_its_key_is_a_protocol_error(
    stub: PaletteStub, make_client: ClientFactory
) -> None:
    stub.handler = lambda s: Reply(200, {"something": []})
    with pytest.raises(ProtocolError):
        await make_client().list_overlords()


async def test_raw_palette_json_is_kept(stub: PaletteStub, make_client: ClientFactory) -> None:
    detail = {
        "metadata": {"uid": "c1", "name": "one", "annotations": {"projectUid": "p"}, "labels": None},
        "spec": {"cloudConfig": {"cloudType": "eks"}, "cloudaccount": {"uid": "a"}, "futureField": [1, 2]},
        "status": {"state": "Running", "kubeMeta": {"kubernetesVersion": "1.29.3"}, "weird": None},
    }
    stub.handler = lambda s: Reply(200, detail)
    cluster = await make_client().get_cluster_summary("c1", "p")
    assert cluster.raw == detail
    assert cluster.kubernetes_version == "1.29.3" and cluster.cloud_type == "eks"
    assert cluster.metadata.scope == "project" and cluster.metadata.labels == {}


async def test_kubeconfig_never_reaches_the_logs(stub: PaletteStub, make_client: ClientFactory) -> None:
    replies = [Reply(503, None), Reply(200, body=KUBECONFIG.encode(), media_type="application/octet-stream")]
    stub.handler = lambda s: replies.pop(0) if len(replies) > 1 else replies[0]
    with capture_logs() as logs:
        assert await make_client().get_kubeconfig("c1") == KUBECONFIG
    assert any(e["event"] == "palette.retry" for e in logs)
    assert all("1.2.3.4" not in repr(e) and "frp" not in repr(e) for e in logs)
