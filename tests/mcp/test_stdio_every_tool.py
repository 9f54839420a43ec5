"""Every MCP tool over stdio (``ingestor mcp --config FILE``) in one session against a crawled simulator.

The stdio caller is the local operator (``STDIO_OPERATOR``): no permission gate, Palette called with the
configured ``apiToken``. Each answer is compared with what the simulator serves directly or the store holds;
bad inputs are clear tool errors that leave the session usable; the API key appears in no answer nor log.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.types import CallToolResult

from ingestor.config import load_settings
from ingestor.crawl.service import run_crawl
from ingestor.palette.filters import profile_name_body, project_profiles_body
from ingestor.simulator.server import SimulatorServer
from ingestor.store import migrate, queries
from ingestor.store.db import Database
from ingestor.store.rows import EntityRow
from ingestor.store.writer import CommitResult
from tests.mcp.test_ours_and_stdio import VENV_BIN, error_text, write_config
from tests.plugin.conftest import SIM_KEY

ANN = "terasky.backstage.io"
TOOLS = {
    "list_spectrocloud_projects",
    "list_spectrocloud_clusters",
    "list_spectrocloud_virtual_clusters",
    "list_spectrocloud_cluster_groups",
    "search_spectrocloud_profiles_by_names",
    "list_spectrocloud_profiles_for_project",
    "get_spectrocloud_virtual_cluster_details",
    "get_spectrocloud_kubeconfig_for_virtual_cluster",
    "get_spectrocloud_cluster_group",
    "list_spectrocloud_cloud_accounts",
    "find_spectrocloud_clusters_for_profile",
    "get_spectrocloud_pack_details_for_profile",
    "get_spectrocloud_health_for_cluster",
    "get_spectrocloud_kubeconfig_for_cluster",
    "get_spectrocloud_profile_variables",
    "get_spectrocloud_pack_manifest_for_cluster",
    "get_spectrocloud_cluster_profiles",
    "get_spectrocloud_changes",
    "get_spectrocloud_crawl_status",
}


# --- the simulator, read directly with the API key ------------------------------------------------


@dataclass
class Sim:
    url: str

    def request(self, method: str, path: str, project: str | None = None, **kw: Any) -> httpx.Response:
        headers = {"ApiKey": SIM_KEY, **({"ProjectUid": project} if project else {})}
        response = httpx.request(method, self.url + path, headers=headers, timeout=30, **kw)
        response.raise_for_status()
        return response

    def get(self, path: str, project: str | None = None) -> Any:
        return self.request("GET", path, project).json()

    def records(self, collection: str) -> list[dict[str, Any]]:
        return [
            self.get(f"/__sim/data/{collection}/{u}") for u in self.get(f"/__sim/data/{collection}")["uids"]
        ]

    def searched(self, body: dict[str, Any], project: str | None) -> list[dict[str, Any]]:
        """Every page of the profile search."""
        items: list[dict[str, Any]] = []
        token = ""
        while True:
            params = {"continue": token} if token else {}
            page = self.request(
                "POST", "/v1/dashboard/clusterprofiles", project, json=body, params=params
            ).json()
            items += page["items"]
            token = page["listmeta"].get("continue") or ""
            if not token:
                return items


def alive(record: dict[str, Any]) -> bool:
    return str(record["metadata"].get("deletionTimestamp", "0001")).startswith("0001")


def decoded(text: str) -> str:
    """``text`` base64-decoded when it is base64 (Palette may send the kubeconfig either way)."""
    try:
        return base64.b64decode(text, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return text


# --- the store, read once after the crawl ----------------------------------------------------------


@dataclass
class Crawled:
    result: CommitResult
    entities: list[EntityRow] = field(default_factory=list)

    def of(self, kind: str) -> list[EntityRow]:
        return [e for e in self.entities if e.palette_kind == kind]

    def unique_titles(self, kind: str) -> list[EntityRow]:
        rows = self.of(kind)
        counts = Counter(title(r) for r in rows)
        return [r for r in rows if counts[title(r)] == 1]


def title(row: EntityRow) -> str:
    return str(row.body["metadata"]["title"]).casefold()


def ann(row: EntityRow, name: str) -> str:
    return str(row.body["metadata"]["annotations"].get(f"{ANN}/{name}") or "")


async def crawl_into_store(config: Path) -> Crawled:
    """One crawl into the configured store, as ``test_stdio_reads_a_crawled_store`` does."""
    settings = load_settings(config)
    db = Database(settings.database.url.get_secret_value())
    try:
        migrate.upgrade(db)
        result = await run_crawl(
            settings, settings.spectrocloud.environments[0], db, trigger="manual", replica_id="test"
        )
        return Crawled(result, list(queries.current_entities(db, "main").entities))
    finally:
        db.close()


# --- the session --------------------------------------------------------------------------------


@dataclass
class Tools:
    """Calls on one session; every answer's text is kept for the secret check."""

    session: ClientSession
    seen: list[str] = field(default_factory=list)
    called: set[str] = field(default_factory=set)

    async def call(self, tool: str, arguments: dict[str, Any]) -> CallToolResult:
        result = await self.session.call_tool(tool, arguments)
        self.seen.append(json.dumps(result.model_dump(mode="json")))
        return result

    async def ok(self, tool: str, arguments: dict[str, Any] | None = None) -> dict[str, Any]:
        result = await self.call(tool, arguments or {})
        assert result.is_error is False, (tool, result.content)
        content: dict[str, Any] | None = result.structured_content
        assert content is not None, tool
        self.called.add(tool)
        return content

    async def fail(self, tool: str, arguments: dict[str, Any]) -> str:
        return error_text(await self.call(tool, arguments))


async def test_every_tool_over_one_stdio_session(sim: SimulatorServer, tmp_path: Path) -> None:
    s = Sim(sim.url)
    config = write_config(tmp_path, sim.url)
    crawled = await crawl_into_store(config)
    assert crawled.result.status == "ok" and crawled.result.added == len(crawled.entities)

    # What to ask about, chosen from the crawl: a uniquely titled running project cluster, a uniquely
    # titled tenant profile it runs, a profile title several projects share.
    cluster = next(
        r for r in crawled.unique_titles("cluster") if ann(r, "state") == "Running" and ann(r, "project-id")
    )
    cluster_title, cluster_uid = cluster.body["metadata"]["title"], ann(cluster, "cluster-id")
    project = ann(cluster, "project-id")
    runs = {ref["name"] for ref in json.loads(ann(cluster, "cluster-profile-refs"))}
    profile = next(
        r for r in crawled.unique_titles("cluster-profile") if title(r) in runs and not r.project_uid
    )
    profile_title = str(profile.body["metadata"]["title"])
    shared = next(t for t, n in Counter(title(r) for r in crawled.of("cluster-profile")).items() if n > 1)

    clusters = s.records("clusters")
    virtual = next(
        c
        for c in clusters
        if c["spec"].get("cloudType") == "nested"
        and c["metadata"]["annotations"].get("projectUid")
        and c["status"].get("state") == "Running"
    )
    vc_uid, vc_project = virtual["metadata"]["uid"], virtual["metadata"]["annotations"]["projectUid"]
    manifests = [
        (c["metadata"]["uid"], c["metadata"]["annotations"].get("projectUid"), m["uid"])
        for c in clusters
        for t in c["spec"].get("clusterProfileTemplates") or []
        for pack in t.get("packs") or []
        for m in pack.get("manifests") or []
    ]
    group_uid = s.get("/__sim/data/clusterGroups")["uids"][0]

    params = StdioServerParameters(
        command=str(VENV_BIN / "ingestor"), args=["mcp", "--config", str(config)], cwd=str(tmp_path)
    )
    errlog = (tmp_path / "stderr.log").open("w+", encoding="utf-8")
    try:
        async with (
            stdio_client(params, errlog=errlog) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            assert {t.name for t in (await session.list_tools()).tools} == TOOLS
            tools = Tools(session)

            # --- tools_live: answered live from Palette with the configured apiToken ----------------
            projects = (await tools.ok("list_spectrocloud_projects"))["projects"]
            assert {p["uid"] for p in projects} == set(s.get("/__sim/data/projects")["uids"])
            assert project in {p["uid"] for p in projects}

            got = (await tools.ok("list_spectrocloud_clusters", {"projectUid": project}))["clusters"]
            meta = s.get("/v1/dashboard/spectroclusters/meta", project)
            own = {
                c["metadata"]["uid"]
                for c in meta
                if c["metadata"]["annotations"].get("projectUid") == project
            }
            assert {c["uid"] for c in got} == own and cluster_uid in own
            assert {c["projectUid"] for c in got} == {project}

            got = (await tools.ok("list_spectrocloud_virtual_clusters"))["virtualClusters"]
            nested = {
                c["metadata"]["uid"]: (c["metadata"]["name"], c["status"]["state"])
                for c in clusters
                if c["spec"].get("cloudType") == "nested" and c["status"].get("state") != "Deleted"
            }
            assert {v["uid"]: (v["name"], v["state"]) for v in got} == nested and vc_uid in nested

            got = (await tools.ok("list_spectrocloud_cluster_groups", {"projectUid": project}))[
                "clusterGroups"
            ]
            assert got and got == s.get("/v1/clustergroups/hostCluster", project)["summaries"]

            args: dict[str, Any] = {"names": [profile_title.upper()], "projectUid": project}
            got = (await tools.ok("search_spectrocloud_profiles_by_names", args))["profiles"]
            expected = s.searched(profile_name_body(profile_title), project)
            assert got and sorted(p["uid"] for p in got) == sorted(i["metadata"]["uid"] for i in expected)
            assert {p["name"].casefold() for p in got} == {title(profile)}

            args = {"projectUid": project, "cloudType": "aws", "profileType": "cluster"}
            got = (await tools.ok("list_spectrocloud_profiles_for_project", args))["profiles"]
            expected = s.searched(project_profiles_body(["cluster"], "aws"), project)
            assert got and [p["uid"] for p in got] == [i["metadata"]["uid"] for i in expected]
            assert {p["cloudType"] for p in got} == {"aws"}

            args = {"virtualClusterUid": vc_uid, "projectUid": vc_project}
            got = (await tools.ok("get_spectrocloud_virtual_cluster_details", args))["cluster"]
            summary = s.get(f"/v1/dashboard/spectroclusters/{vc_uid}", vc_project)
            assert got == {
                "uid": vc_uid,
                "name": summary["metadata"]["name"],
                "state": summary["status"]["state"],
            }

            args = {"virtualClusterUid": vc_uid, "projectUid": vc_project, "frp": False}
            got = await tools.ok("get_spectrocloud_kubeconfig_for_virtual_cluster", args)
            raw = s.request(
                "GET", f"/v1/spectroclusters/{vc_uid}/assets/kubeconfig?frp=false", vc_project
            ).text
            assert got["kubeconfig"] == raw and "apiVersion" in got["kubeconfig"]
            assert got["cluster"] == {"uid": vc_uid, "name": virtual["metadata"]["name"]}
            vc_kubeconfig = got["kubeconfig"]

            got = (await tools.ok("get_spectrocloud_cluster_group", {"clusterGroupUid": group_uid}))[
                "clusterGroup"
            ]
            assert got["metadata"]["uid"] == group_uid and got == s.get(f"/v1/clustergroups/{group_uid}")

            got = (await tools.ok("list_spectrocloud_cloud_accounts", {"cloudType": "aws"}))["accounts"]
            accounts = s.get("/v1/cloudaccounts/aws?limit=0")["items"]
            assert got and got == [
                {"uid": a["metadata"]["uid"], "name": a["metadata"]["name"]} for a in accounts
            ]

            # --- tools_catalog: the entity found in the store by its title, details live ----------
            got = await tools.ok("find_spectrocloud_clusters_for_profile", {"profileName": profile_title})
            family = {
                r["metadata"]["uid"]
                for r in s.records("clusterProfiles")
                if r["metadata"]["name"] == profile_title
                and r["metadata"]["annotations"].get("scope") == "tenant"
            }
            users = {
                c["metadata"]["uid"]
                for c in clusters
                if {t["uid"] for t in c["spec"].get("clusterProfileTemplates") or []} & family and alive(c)
            }
            assert got["profile"]["name"] == profile_title and got["profile"]["uid"] in family
            assert {c["uid"] for c in got["clusters"]} == users and cluster_uid in users
            assert {c["versionUid"] for c in got["clusters"]} <= family

            got = await tools.ok("get_spectrocloud_pack_details_for_profile", {"profileName": profile_title})
            record = s.get(f"/__sim/data/clusterProfiles/{got['profile']['uid']}")
            assert record["metadata"]["name"] == profile_title
            packs = [(k["name"], k["tag"], k["layer"]) for k in record["spec"]["published"]["packs"]]
            assert packs and [(k["name"], k["version"], k["layer"]) for k in got["packs"]] == packs

            got = await tools.ok("get_spectrocloud_health_for_cluster", {"clusterName": cluster_title})
            live = s.get(f"/v1/dashboard/spectroclusters/{cluster_uid}", project)
            assert got["cluster"]["uid"] == cluster_uid and got["cluster"]["state"] == live["status"]["state"]
            assert got["source"] == "palette" and got["stale"] is False

            args = {"clusterName": cluster_title, "frp": False}
            got = await tools.ok("get_spectrocloud_kubeconfig_for_cluster", args)
            raw = s.request(
                "GET", f"/v1/spectroclusters/{cluster_uid}/assets/kubeconfig?frp=false", project
            ).text
            assert got["kubeconfig"] in (raw, decoded(raw)) and "apiVersion" in decoded(got["kubeconfig"])
            assert got["cluster"]["uid"] == cluster_uid and got["cluster"]["title"] == cluster_title
            kubeconfig = got["kubeconfig"]

            got = await tools.ok("get_spectrocloud_profile_variables", {"profileName": profile_title})
            assert got["profileUid"] in family
            assert got["variables"] == s.get(f"/v1/clusterprofiles/{got['profileUid']}/variables")

            manifest_cluster, manifest_project, manifest_uid = manifests[0]
            args = {"clusterUid": manifest_cluster, "manifestUid": manifest_uid}
            if manifest_project:
                args["projectUid"] = manifest_project
            got = await tools.ok("get_spectrocloud_pack_manifest_for_cluster", args)
            want = s.get(
                f"/v1/spectroclusters/{manifest_cluster}/pack/manifests/{manifest_uid}", manifest_project
            )
            assert got == {"clusterUid": manifest_cluster, "manifestUid": manifest_uid, "manifest": want}

            got = await tools.ok("get_spectrocloud_cluster_profiles", {"clusterName": cluster_title})
            want = s.get(
                f"/v1/spectroclusters/{cluster_uid}/profiles?includePackMeta=schema,presets", project
            )
            assert got == {"clusterUid": cluster_uid, "profiles": want}
            assert {p["metadata"]["name"] for p in got["profiles"]["profiles"]} >= {profile_title}

            # --- tools_ours: the store only ---------------------------------------------------------
            got = await tools.ok("get_spectrocloud_changes", {"limit": 1000})
            assert {c["ref"] for c in got["changes"]} == {e.ref for e in crawled.entities}
            assert {c["runId"] for c in got["changes"]} == {crawled.result.run_id}

            (status,) = (await tools.ok("get_spectrocloud_crawl_status", {"instanceName": "main"}))[
                "instances"
            ]
            assert status["lastRun"]["id"] == crawled.result.run_id and status["snapshot"]["present"] is True
            assert status["lastRun"]["added"] == crawled.result.added

            assert tools.called == TOOLS

            # --- bad input: clear errors, and the session keeps answering ----------------------------
            text = await tools.fail("get_spectrocloud_health_for_cluster", {"clusterName": "no-such-cluster"})
            assert text.startswith("Not found"), text
            text = await tools.fail(
                "find_spectrocloud_clusters_for_profile", {"profileName": "no-such-profile"}
            )
            assert text.startswith("Not found"), text
            text = await tools.fail("get_spectrocloud_cluster_group", {"clusterGroupUid": "../../v1/users"})
            assert text.startswith("Invalid input"), text
            text = await tools.fail("get_spectrocloud_profile_variables", {"profileUid": "a?b=c"})
            assert text.startswith("Invalid input"), text
            text = await tools.fail("list_spectrocloud_clusters", {"instanceName": "nope"})
            assert text.startswith("Invalid input") and "main" in text, text
            args = {"virtualClusterUid": cluster_uid, "projectUid": project}  # a host cluster, not virtual
            text = await tools.fail("get_spectrocloud_virtual_cluster_details", args)
            assert text.startswith("Not found"), text
            text = await tools.fail("find_spectrocloud_clusters_for_profile", {"profileName": shared})
            assert text.startswith("Ambiguous") and "pass instanceName and/or projectUid" in text, text
            assert (await tools.call("search_spectrocloud_profiles_by_names", {"names": []})).is_error is True

            args = {"profileName": shared, "projectUid": project, "instanceName": "main"}
            narrowed = (await tools.ok("find_spectrocloud_clusters_for_profile", args))["clusters"]
            assert narrowed and {c["projectId"] for c in narrowed} == {project}
            projects = (await tools.ok("list_spectrocloud_projects"))["projects"]
            assert {p["uid"] for p in projects} == set(s.get("/__sim/data/projects")["uids"])
    finally:
        errlog.seek(0)
        logged = errlog.read()
        errlog.close()

    assert "mcp.stdio_started" in logged and "mcp.kubeconfig_downloaded" in logged
    for text in [*tools.seen, logged]:
        assert SIM_KEY not in text
    for secret in (kubeconfig, vc_kubeconfig):
        assert secret.strip() not in logged
