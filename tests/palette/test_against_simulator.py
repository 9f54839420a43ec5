"""Every client method against the real simulator over a socket, validated against the Palette spec.

The client keeps its default (documented) rate limits and the simulator enforces them, so these tests
also show that a fan-out through the client provokes no 429.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from ingestor.palette.client import PaletteClient
from ingestor.palette.credentials import ApiKey
from ingestor.palette.errors import BadRequestError, NotFoundError, UnauthorizedError
from ingestor.palette.options import ClientOptions
from ingestor.palette.schema import load_validator
from ingestor.simulator.options import SimulatorOptions
from ingestor.simulator.server import SimulatorServer

from ..contract.harness import ValidatingTransport

OPTIONS = SimulatorOptions(api_key="sim-key-SECRET", seed=7)


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorServer]:
    with SimulatorServer(OPTIONS) as server:
        yield server


@pytest.fixture
async def checked(sim: SimulatorServer) -> AsyncIterator[tuple[PaletteClient, ValidatingTransport]]:
    sim.limiter.reset()
    transport = ValidatingTransport(httpx.AsyncHTTPTransport(), load_validator(), strict_responses=True)
    async with PaletteClient(sim.url, ApiKey(OPTIONS.api_key), transport=transport, instance="sim") as client:
        yield client, transport
    assert transport.violations == []
    limited = {p: c["limited"] for p, c in sim.limiter.stats()["prefixes"].items() if c["limited"]}
    assert limited == {}, "the throttled client provoked 429s"


async def test_projects_and_users(checked: tuple[PaletteClient, ValidatingTransport]) -> None:
    client, _ = checked
    me = await client.users_me()
    info = await client.users_info()
    assert info.user_uid == me.uid and me.tenant_permission_list()
    assert (await client.get_user(me.uid)).uid == me.uid
    roles = await client.user_projects(me.uid)
    projects = await client.list_projects()
    assert len(projects) == OPTIONS.projects
    assert {p.uid for p in projects} == {r.uid for r in roles.projects} == set(me.project_uids)
    assert {p.uid for p in await client.projects_metadata()} == {p.uid for p in projects}
    assert (await client.get_project(projects[0].uid)).raw["metadata"]["uid"] == projects[0].uid


async def test_clusters_and_kubeconfigs(checked: tuple[PaletteClient, ValidatingTransport]) -> None:
    client, _ = checked
    project = (await client.list_projects())[0].uid
    meta = await client.clusters_meta()
    clusters = await client.list_clusters(project)
    virtual = await client.list_virtual_clusters(project)
    assert clusters and not any(c.is_virtual for c in clusters)
    assert len(virtual) == OPTIONS.virtual_clusters and all(v.is_virtual for v in virtual)
    assert {c.uid for c in clusters + virtual} <= {m.uid for m in meta}
    cluster = clusters[0]
    scope = cluster.metadata.project_uid
    summary = await client.get_cluster_summary(cluster.uid, scope)
    full = await client.get_cluster(cluster.uid, scope, include_tags="system,profile")
    assert summary.kubernetes_version and summary.cloud_type == full.cloud_type == cluster.cloud_type
    assert set(full.profile_version_uids) == set(cluster.profile_version_uids)
    attached = await client.get_cluster_profiles(cluster.uid, scope, include_pack_meta="schema,presets")
    assert {p.metadata.uid for p in attached.profiles} == set(full.profile_version_uids)
    manifests = [m.uid for p in attached.profiles for pack in p.spec.packs for m in pack.spec.manifests]
    for manifest_uid in manifests[:1]:
        assert (await client.get_pack_manifest(cluster.uid, manifest_uid, scope)).content
    for kind in ("user", "client", "admin", "frp"):
        text = await client.get_kubeconfig(cluster.uid, scope, kind=kind)
        assert "apiVersion" in text and "clusters" in text
    with pytest.raises(NotFoundError):
        await client.get_cluster_summary("0" * 24, scope)


async def test_profiles(checked: tuple[PaletteClient, ValidatingTransport]) -> None:
    client, _ = checked
    project = (await client.list_projects())[0].uid
    own = await client.search_profiles({"filter": {"scope": "project"}}, project)
    assert len(own) == OPTIONS.profiles
    assert all(len(p.version_uids) == OPTIONS.profile_versions for p in own)
    metadata = await client.profiles_metadata(project)
    all_versions = {uid for p in own for uid in p.version_uids}
    assert all_versions <= {m.uid for m in metadata}
    for version_uid in own[0].version_uids:  # each version by its own uid (no /versions/ paths)
        profile = await client.get_profile(version_uid, project)
        assert profile.uid == version_uid and set(profile.version_uids) == set(own[0].version_uids)
    uid = own[0].uid
    packs = await client.get_profile_packs(uid, project)
    variables = await client.get_profile_variables(uid, project)
    assert packs.items and all(v.name for v in variables.variables)


async def test_cluster_groups_and_virtual_cluster_creation(
    checked: tuple[PaletteClient, ValidatingTransport],
) -> None:
    client, _ = checked
    project = (await client.list_projects())[0].uid
    groups = [g for g in await client.list_cluster_groups(project) if g.metadata.scope != "system"]
    assert {g.uid for g in groups} <= {g.uid for g in await client.cluster_groups_metadata(project)}
    group = await client.get_cluster_group(groups[0].uid, groups[0].metadata.project_uid)
    hosts = await client.cluster_group_host_clusters(group.uid, None, project)
    assert {h.uid for h in hosts} <= set(group.host_cluster_uids)
    before = await client.cluster_group_virtual_clusters(group.uid, None, project)
    body: dict[str, Any] = {
        "metadata": {"name": "client-test-vc"},
        "spec": {
            "clusterConfig": {
                "hostClusterConfig": {
                    "clusterGroup": {"uid": group.uid},
                    "hostCluster": {"uid": group.host_cluster_uids[0]},
                }
            },
            "machinepoolconfig": [
                {
                    "cloudConfig": {
                        "instanceType": {
                            "maxCPU": 4, "maxMemInMiB": 4096, "maxStorageGiB": 20,
                            "minCPU": 1, "minMemInMiB": 1024, "minStorageGiB": 5,
                        }
                    }
                }
            ],
            "profiles": [],
        },
    }  # fmt: skip
    uid = await client.create_cluster("virtual", body, project)
    assert uid in {v.uid for v in await client.list_virtual_clusters(project)}
    assert (await client.get_cluster_summary(uid, project)).is_virtual
    after = await client.cluster_group_virtual_clusters(group.uid, None, project)
    assert len(after) == len(before) + 1


async def test_invalid_create_is_refused_by_the_simulator(sim: SimulatorServer) -> None:
    async with PaletteClient(sim.url, ApiKey(OPTIONS.api_key)) as client:
        project = (await client.list_projects())[0].uid
        with pytest.raises(BadRequestError) as info:
            await client.create_cluster("eks", {"metadata": {"name": "bad"}, "spec": {}}, project)
    assert info.value.status == 422 and info.value.attempts == 1


async def test_inventory_and_ssh_keys(checked: tuple[PaletteClient, ValidatingTransport]) -> None:
    client, _ = checked
    project = (await client.list_projects())[0].uid
    accounts = {t: await client.list_cloud_accounts(t, project) for t in ("aws", "azure", "vsphere")}
    assert sum(len(a) for a in accounts.values()) == len(await client.cloud_accounts_summary(project))
    vsphere = accounts["vsphere"][0]
    assert vsphere.metadata.overlord_uid
    assert (await client.get_cloud_account("vsphere", vsphere.uid, project)).uid == vsphere.uid
    datacenters = await client.vsphere_datacenters(vsphere.uid, project)
    dc = datacenters.items[0]
    resources = await client.vsphere_compute_cluster_resources(
        vsphere.uid, dc.datacenter or "", dc.computeclusters[0], project
    )
    assert resources.computecluster is not None and resources.computecluster.datastores
    overlords = await client.list_overlords(project)
    gateway = next(o for o in overlords if o.uid == vsphere.metadata.overlord_uid)
    assert (await client.get_overlord(gateway.uid, project)).status.is_ready is not None
    await client.overlord_ip_pools(gateway.uid, project)
    keys = await client.list_ssh_keys(project)
    uid = await client.create_ssh_key("client-test", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJd test", project)
    await client.update_ssh_key(uid, "client-test", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJe test", project)
    assert (await client.get_ssh_key(uid, project)).spec.public_key.endswith("IJe test")  # type: ignore[union-attr]
    await client.delete_ssh_key(uid, project)
    assert {k.uid for k in await client.list_ssh_keys(project)} == {k.uid for k in keys}


async def test_small_pages_give_the_same_lists(sim: SimulatorServer) -> None:
    small = ClientOptions(page_size=2)
    async with (
        PaletteClient(sim.url, ApiKey(OPTIONS.api_key), options=small) as paged,
        PaletteClient(sim.url, ApiKey(OPTIONS.api_key)) as whole,
    ):
        project = (await whole.list_projects())[0].uid
        assert [p.uid for p in await paged.list_projects()] == [p.uid for p in await whole.list_projects()]
        a = await paged.search_profiles(None, project)
        b = await whole.search_profiles(None, project)
        assert len(a) > 2 and [p.uid for p in a] == [p.uid for p in b]
        pages = paged.stats.snapshot()["POST /v1/dashboard/clusterprofiles"]["calls"]
        assert pages == (len(a) + 1) // 2 or pages == len(a) // 2 + 1  # two per page, maybe an empty last


async def test_fan_out_stays_under_the_simulator_limits(
    checked: tuple[PaletteClient, ValidatingTransport],
) -> None:
    client, _ = checked
    meta = await client.clusters_meta()
    details = [client.get_cluster_summary(m.uid, m.metadata.project_uid) for m in meta]
    fulls = [client.get_cluster(m.uid, m.metadata.project_uid) for m in meta]
    results = await asyncio.gather(*details, *fulls)
    assert len(results) == 2 * len(meta)
    assert sum(c["rate_limited"] for c in client.stats.snapshot().values()) == 0


async def test_wrong_key_is_unauthorized(sim: SimulatorServer) -> None:
    async with PaletteClient(sim.url, ApiKey("wrong-key")) as client:
        with pytest.raises(UnauthorizedError) as info:
            await client.users_me()
    assert info.value.status == 401 and "wrong-key" not in str(info.value)
