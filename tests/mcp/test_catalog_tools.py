"""Entity-centric MCP tools (tools_catalog, resolve) against a crawled simulator: results are compared
with what the simulator holds, and failures with the kinds of tool error the contract names."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from ingestor.crawl.service import run_crawl
from ingestor.store import lookups, queries
from tests.mcp.conftest import call
from tests.plugin.conftest import SIM_KEY, PluginClient

VIEW_INFO_ONLY = (
    "p, role:default/viewers, spectrocloud.cluster.view-info, read, allow\n"
    "g, user:default/jane, role:default/viewers\n"
)


async def crawled(plugin: Any, **kw: Any) -> PluginClient:
    """A running service whose store holds a complete crawl of the simulator."""
    p: PluginClient = plugin(**kw)
    service = p.server.service
    for env in service.settings.spectrocloud.environments:
        result = await run_crawl(service.settings, env, service.db, trigger="manual", replica_id="test")
        assert result is not None
    return p


@pytest.fixture
def faults(sim: Any) -> Iterator[Any]:
    """Add simulator faults for one test; all are cleared afterwards."""

    def add(*specs: dict[str, Any]) -> None:
        response = httpx.post(sim.url + "/__sim/faults", json=list(specs), headers={"ApiKey": SIM_KEY})
        assert response.status_code < 300, response.text

    yield add
    httpx.delete(sim.url + "/__sim/faults", headers={"ApiKey": SIM_KEY})


def sim_records(p: PluginClient, collection: str) -> list[dict[str, Any]]:
    uids = p.sim_get(f"/__sim/data/{collection}")["uids"]
    return [p.sim_get(f"/__sim/data/{collection}/{uid}") for uid in uids]


def err(result: Any) -> str:
    """The tool error message without the SDK's "Error executing tool <name>: " prefix."""
    assert result.is_error is True
    text = str(result.content[0].text)
    prefix = "Error executing tool "
    return text.split(": ", 1)[1] if text.startswith(prefix) else text


def using(p: PluginClient, version_uids: set[str]) -> set[str]:
    """Uids of the simulator's not-deleted clusters attached to any of ``version_uids``."""
    return {
        c["metadata"]["uid"]
        for c in sim_records(p, "clusters")
        if {t["uid"] for t in c["spec"].get("clusterProfileTemplates") or []} & version_uids
        and c["metadata"].get("deletionTimestamp", "0001").startswith("0001")
    }


def direct(p: PluginClient, path: str, project: str | None) -> httpx.Response:
    headers = {"ApiKey": SIM_KEY, **({"ProjectUid": project} if project else {})}
    return httpx.get(p.sim.url + path, headers=headers, timeout=30)


def family(p: PluginClient, name: str) -> list[dict[str, Any]]:
    """Every version of the tenant-scope profile family ``name``, as the simulator stores them."""
    return [
        r
        for r in sim_records(p, "clusterProfiles")
        if r["metadata"]["name"] == name and r["metadata"]["annotations"].get("scope") == "tenant"
    ]


def unique_cluster(p: PluginClient) -> dict[str, Any]:
    """A crawled (non-virtual) cluster entity whose title no other cluster shares."""
    rows = queries.current_entities(p.server.service.db, "main", palette_kind="cluster").entities
    titles = [r.body["metadata"]["title"].casefold() for r in rows]
    for row in rows:
        ann = row.body["metadata"]["annotations"]
        if titles.count(row.body["metadata"]["title"].casefold()) == 1 and ann[
            "terasky.backstage.io/state"
        ] in ("Running",):
            return row.body
    raise AssertionError("no uniquely titled running cluster")


# --- find_spectrocloud_clusters_for_profile --------------------------------------------------------


async def test_reverse_lookup_finds_every_version_from_the_store(plugin: Any) -> None:
    p = await crawled(plugin)
    versions = family(p, "aks-base")
    version_uids = {v["metadata"]["uid"] for v in versions}
    expected = using(p, version_uids)
    before = len(p.palette.requests)
    result = await call(p, "find_spectrocloud_clusters_for_profile", {"profileName": "AKS-Base"})
    assert result.is_error is False, result.content
    out = result.structured_content
    assert out["profile"]["name"] == "aks-base"
    assert out["profile"]["uid"] in version_uids
    assert out["profile"]["entityRef"].startswith("resource:default/")
    clusters = out["clusters"]
    assert {c["uid"] for c in clusters} == expected and len(clusters) == len(expected)
    assert len({c["versionUid"] for c in clusters}) > 1  # not only the latest version (M3)
    sim_by_uid = {c["metadata"]["uid"]: c for c in sim_records(p, "clusters")}
    for item in clusters:
        assert item["versionUid"] in version_uids and item["kind"] == "cluster"
        assert item["name"] == sim_by_uid[item["uid"]]["metadata"]["name"]
        assert item["state"] == sim_by_uid[item["uid"]]["status"]["state"]
        assert item["crawledAt"] and item["stale"] is False
    assert len(p.palette.requests) == before  # answered from the store alone


async def test_reverse_lookup_includes_virtual_clusters_and_takes_a_uid(plugin: Any) -> None:
    p = await crawled(plugin)
    db = p.server.service.db
    rows = queries.current_entities(db, "main", palette_kind="cluster-profile").entities
    with_virtual = [
        r
        for r in rows
        if {u.src_kind for u in lookups.clusters_using_profile(db, "main", r.key)} >= {"virtual-cluster"}
    ]
    assert with_virtual
    row = with_virtual[0]
    uid = row.body["metadata"]["annotations"]["terasky.backstage.io/profile-id"]
    result = await call(p, "find_spectrocloud_clusters_for_profile", {"profileName": uid})
    assert result.is_error is False, result.content
    kinds = {c["kind"] for c in result.structured_content["clusters"]}
    assert "virtual-cluster" in kinds
    family_uids = {
        r["metadata"]["uid"]
        for r in sim_records(p, "clusterProfiles")
        if r["metadata"]["name"] == row.body["metadata"]["title"]
        and r["metadata"]["annotations"].get("projectUid") == row.project_uid
    }
    expected = using(p, family_uids)
    assert {c["uid"] for c in result.structured_content["clusters"]} == expected


async def test_ambiguous_title_lists_candidates_and_project_narrows(plugin: Any) -> None:
    p = await crawled(plugin)
    projects = {
        r["metadata"]["annotations"]["projectUid"]
        for r in sim_records(p, "clusterProfiles")
        if r["metadata"]["name"] == "observability"
    }
    assert len(projects) > 1
    result = await call(p, "find_spectrocloud_clusters_for_profile", {"profileName": "observability"})
    assert result.is_error is True
    text = err(result)
    assert text.startswith("Ambiguous") and "pass instanceName and/or projectUid" in text
    for project in projects:
        assert f"project {project}" in text
    project = sorted(projects)[0]
    narrowed = await call(
        p,
        "find_spectrocloud_clusters_for_profile",
        {"profileName": "observability", "projectUid": project, "instanceName": "main"},
    )
    assert narrowed.is_error is False, narrowed.content
    for item in narrowed.structured_content["clusters"]:
        assert item["projectId"] == project


async def test_unknown_title_instance_and_permission(plugin: Any) -> None:
    p = await crawled(plugin)
    missing = await call(p, "find_spectrocloud_clusters_for_profile", {"profileName": "no-such-profile"})
    assert missing.is_error is True
    assert err(missing).startswith("Not found")
    bad = await call(
        p, "find_spectrocloud_clusters_for_profile", {"profileName": "aks-base", "instanceName": "nope"}
    )
    assert bad.is_error is True
    assert err(bad).startswith("Invalid input") and "'main'" in err(bad)


async def test_permissions_are_checked_before_anything(plugin: Any) -> None:
    p = await crawled(plugin, policy=VIEW_INFO_ONLY)
    before = len(p.palette.requests)
    bearer = p.token("user:default/jane")
    for tool, args in (
        ("find_spectrocloud_clusters_for_profile", {"profileName": "aks-base"}),
        ("get_spectrocloud_pack_details_for_profile", {"profileName": "aks-base"}),
        ("get_spectrocloud_kubeconfig_for_cluster", {"clusterName": "anything"}),
    ):
        result = await call(p, tool, args, bearer=bearer)
        assert result.is_error is True
        assert err(result).startswith("Forbidden"), tool
    assert len(p.palette.requests) == before


# --- get_spectrocloud_pack_details_for_profile ------------------------------------------------------


async def test_pack_details_come_from_the_latest_version(plugin: Any, faults: Any) -> None:
    p = await crawled(plugin)
    result = await call(p, "get_spectrocloud_pack_details_for_profile", {"profileName": "eks-base"})
    assert result.is_error is False, result.content
    out = result.structured_content
    uid = out["profile"]["uid"]
    record = p.sim_get(f"/__sim/data/clusterProfiles/{uid}")
    assert record["metadata"]["name"] == "eks-base"
    expected = [(k["name"], k["tag"], k["layer"]) for k in record["spec"]["published"]["packs"]]
    assert [(k["name"], k["version"], k["layer"]) for k in out["packs"]] == expected
    assert out["profile"]["type"] == "cluster" and out["profile"]["cloudType"] == "eks"
    faults({"kind": "error", "path": f"/v1/clusterprofiles/{uid}", "status": 500})
    failed = await call(p, "get_spectrocloud_pack_details_for_profile", {"profileName": "eks-base"})
    assert failed.is_error is True  # never an empty pack list (M-contract: failure is not "no packs")
    assert err(failed).startswith("Palette unavailable")


# --- get_spectrocloud_health_for_cluster ------------------------------------------------------------


async def test_health_is_live_and_falls_back_to_the_snapshot(plugin: Any, faults: Any) -> None:
    p = await crawled(plugin)
    body = unique_cluster(p)
    ann = body["metadata"]["annotations"]
    uid = ann["terasky.backstage.io/cluster-id"]
    project = ann["terasky.backstage.io/project-id"] or None
    live = direct(p, f"/v1/dashboard/spectroclusters/{uid}", project).json()
    result = await call(p, "get_spectrocloud_health_for_cluster", {"clusterName": body["metadata"]["title"]})
    assert result.is_error is False, result.content
    out = result.structured_content
    status = live["status"]
    assert out["cluster"]["uid"] == uid and out["cluster"]["state"] == status["state"]
    assert out["health"]["overallStatus"] == (status.get("health") or {}).get("state", status["state"])
    want = [c["type"] for c in (status.get("health") or {}).get("conditions") or []] + [
        c["type"] for c in status.get("conditions") or []
    ]
    assert [c["type"] for c in out["health"]["conditions"]] == want
    assert out["stale"] is False and out["source"] == "palette"

    faults({"kind": "error", "path": f"/v1/dashboard/spectroclusters/{uid}", "status": 503})
    stale = await call(p, "get_spectrocloud_health_for_cluster", {"clusterName": uid})
    assert stale.is_error is False, stale.content
    got = stale.structured_content
    assert got["stale"] is True and got["source"] == "snapshot"
    assert got["cluster"]["state"] == ann["terasky.backstage.io/state"] and got["checkedAt"]


async def test_health_not_found_and_forbidden_are_errors(plugin: Any, faults: Any) -> None:
    p = await crawled(plugin)
    body = unique_cluster(p)
    uid = body["metadata"]["annotations"]["terasky.backstage.io/cluster-id"]
    faults({"kind": "error", "path": f"/v1/dashboard/spectroclusters/{uid}", "status": 404})
    gone = await call(p, "get_spectrocloud_health_for_cluster", {"clusterName": uid})
    assert gone.is_error is True and err(gone).startswith("Not found")
    httpx.delete(p.sim.url + "/__sim/faults", headers={"ApiKey": SIM_KEY})
    faults({"kind": "error", "path": f"/v1/dashboard/spectroclusters/{uid}", "status": 403})
    denied = await call(p, "get_spectrocloud_health_for_cluster", {"clusterName": uid})
    assert denied.is_error is True and err(denied).startswith("Forbidden")
    nothing = await call(p, "get_spectrocloud_health_for_cluster", {"clusterName": "no-such-cluster"})
    assert nothing.is_error is True and err(nothing).startswith("Not found")


# --- get_spectrocloud_kubeconfig_for_cluster --------------------------------------------------------


async def test_kubeconfig_matches_palette_and_is_not_logged(
    plugin: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    p = await crawled(plugin)
    body = unique_cluster(p)
    ann = body["metadata"]["annotations"]
    uid = ann["terasky.backstage.io/cluster-id"]
    project = ann["terasky.backstage.io/project-id"] or None
    raw = direct(p, f"/v1/spectroclusters/{uid}/assets/kubeconfig?frp=false", project)
    assert raw.status_code == 200
    capsys.readouterr()
    result = await call(
        p, "get_spectrocloud_kubeconfig_for_cluster", {"clusterName": body["metadata"]["title"], "frp": False}
    )
    assert result.is_error is False, result.content
    out = result.structured_content
    assert out["kubeconfig"] in (raw.text, _maybe_b64(raw.text))
    assert out["accessType"] == "client-oidc"
    assert out["cluster"] == {
        "name": body["metadata"]["name"],
        "uid": uid,
        "entityRef": f"resource:default/{body['metadata']['name']}",
        "title": body["metadata"]["title"],
    }
    logged = capsys.readouterr()
    assert "mcp.kubeconfig_downloaded" in logged.out + logged.err
    assert out["kubeconfig"].strip() not in logged.out + logged.err
    assert SIM_KEY not in str(result.content)


def _maybe_b64(text: str) -> str:
    try:
        return base64.b64decode(text, validate=True).decode()
    except ValueError:
        return text


# --- tools 10, 12, 13: a title (store) or a uid ---------------------------------------------------


async def test_profile_variables_by_title_or_uid(plugin: Any) -> None:
    p = await crawled(plugin)
    by_title = await call(p, "get_spectrocloud_profile_variables", {"profileName": "eks-base"})
    assert by_title.is_error is False, by_title.content
    uid = by_title.structured_content["profileUid"]
    assert p.sim_get(f"/__sim/data/clusterProfiles/{uid}")["metadata"]["name"] == "eks-base"
    expected = direct(p, f"/v1/clusterprofiles/{uid}/variables", None).json()
    assert by_title.structured_content["variables"] == expected
    by_uid = await call(p, "get_spectrocloud_profile_variables", {"profileUid": uid})
    assert by_uid.structured_content == by_title.structured_content
    before = len(p.palette.requests)
    neither = await call(p, "get_spectrocloud_profile_variables", {})
    assert err(neither).startswith("Invalid input") and "profileName or profileUid" in err(neither)
    for bad in ("../../v1/users", "a?b=c", "x" * 65):
        result = await call(p, "get_spectrocloud_profile_variables", {"profileUid": bad})
        assert err(result).startswith("Invalid input")
    assert len(p.palette.requests) == before


async def test_cluster_profiles_and_manifest(plugin: Any) -> None:
    p = await crawled(plugin)
    body = unique_cluster(p)
    ann = body["metadata"]["annotations"]
    uid = ann["terasky.backstage.io/cluster-id"]
    project = ann["terasky.backstage.io/project-id"] or None
    result = await call(p, "get_spectrocloud_cluster_profiles", {"clusterName": body["metadata"]["title"]})
    assert result.is_error is False, result.content
    expected = direct(p, f"/v1/spectroclusters/{uid}/profiles?includePackMeta=schema,presets", project).json()
    assert result.structured_content == {"clusterUid": uid, "profiles": expected}
    with_manifest = [
        (c["metadata"]["uid"], c["metadata"]["annotations"].get("projectUid"), m["uid"])
        for c in sim_records(p, "clusters")
        for t in c["spec"].get("clusterProfileTemplates") or []
        for pack in t.get("packs") or []
        for m in pack.get("manifests") or []
    ]
    assert with_manifest
    cluster_uid, cluster_project, manifest_uid = with_manifest[0]
    args = {"clusterUid": cluster_uid, "manifestUid": manifest_uid}
    if cluster_project:
        args["projectUid"] = cluster_project
    got = await call(p, "get_spectrocloud_pack_manifest_for_cluster", args)
    assert got.is_error is False, got.content
    want = direct(p, f"/v1/spectroclusters/{cluster_uid}/pack/manifests/{manifest_uid}", cluster_project)
    assert got.structured_content == {
        "clusterUid": cluster_uid,
        "manifestUid": manifest_uid,
        "manifest": want.json(),
    }
    missing = await call(
        p,
        "get_spectrocloud_pack_manifest_for_cluster",
        {"clusterName": body["metadata"]["title"], "manifestUid": "000000000000000000000000"},
    )
    assert err(missing).startswith("Not found")
