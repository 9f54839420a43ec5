"""Our store-backed tools (change log, crawl status) over streamable HTTP, and ``ingestor mcp`` over stdio."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.types import CallToolResult

from ingestor.crawl.service import run_crawl
from ingestor.simulator.options import SimulatorOptions
from ingestor.simulator.server import SimulatorServer
from ingestor.store import queries
from ingestor.store.writer import CommitResult
from tests.mcp.conftest import call
from tests.plugin.conftest import SERVICE_TOKEN, SIM_KEY, PluginClient

VENV_BIN = Path(sys.executable).parent
DENY_VIEW = (
    "p, role:default/creators, spectrocloud.cluster.create, create, allow\n"
    "g, user:default/jane, role:default/creators\n"
)
ALLOW_VIEW = (
    "p, role:default/viewers, spectrocloud.cluster.view-info, read, allow\n"
    "g, user:default/jane, role:default/viewers\n"
)


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorServer]:
    """This module's own simulator (overrides the shared one): tests here change its data."""
    with SimulatorServer(SimulatorOptions(api_key=SIM_KEY, rate_limits=False)) as server:
        yield server


def sim_admin(p: PluginClient, method: str, path: str, body: Any = None) -> httpx.Response:
    response = httpx.request(method, p.sim.url + path, json=body, headers={"ApiKey": SIM_KEY}, timeout=30)
    assert response.status_code < 300, response.text
    return response


async def crawl(p: PluginClient) -> CommitResult:
    service = p.server.service
    env = service.settings.spectrocloud.environments[0]
    return await run_crawl(service.settings, env, service.db, trigger="manual", replica_id="test")


def ok(result: CallToolResult) -> dict[str, Any]:
    assert result.is_error is False, result.content
    content: dict[str, Any] | None = result.structured_content
    assert content is not None
    return content


def error_text(result: CallToolResult) -> str:
    """The tool error's message (without the SDK's "Error executing tool <name>: " prefix)."""
    assert result.is_error is True
    text = " ".join(getattr(c, "text", "") for c in result.content)
    return text.split(": ", 1)[1] if text.startswith("Error executing tool") else text


def no_secrets(result: CallToolResult) -> None:
    text = json.dumps(result.model_dump(mode="json"))
    for secret in (SIM_KEY, SERVICE_TOKEN):
        assert secret not in text


async def test_changes_after_first_crawl_are_every_stored_entity(plugin: Any) -> None:
    p: PluginClient = plugin()
    assert ok(await call(p, "get_spectrocloud_changes"))["changes"] == []
    result = await crawl(p)
    assert result.added > 0
    answer = await call(p, "get_spectrocloud_changes", {"limit": 1000})
    no_secrets(answer)
    got = ok(answer)
    stored = queries.current_entities(p.server.service.db).entities
    assert {c["ref"] for c in got["changes"]} == {e.ref for e in stored}
    assert len(got["changes"]) == result.added and got["truncated"] is False
    assert {c["change"] for c in got["changes"]} == {"added"}
    assert {c["runId"] for c in got["changes"]} == {result.run_id}
    assert {c["instance"] for c in got["changes"]} == {"main"}
    # every simulator project shows up as an added project entity
    projects = {c["projectUid"] for c in got["changes"] if c["paletteKind"] == "project"}
    assert projects == set(p.sim_get("/__sim/data/projects")["uids"])


async def test_changes_filters_limit_and_since(plugin: Any) -> None:
    p: PluginClient = plugin()
    result = await crawl(p)
    every = ok(await call(p, "get_spectrocloud_changes", {"limit": 1000}))["changes"]
    assert len(every) == result.added

    first = ok(await call(p, "get_spectrocloud_changes", {"limit": 2}))
    assert first["changes"] == every[:2] and first["truncated"] is True

    project = next(c["projectUid"] for c in every if c["projectUid"])
    scoped = ok(await call(p, "get_spectrocloud_changes", {"projectUid": project, "limit": 1000}))["changes"]
    assert scoped == [c for c in every if c["projectUid"] == project] and scoped

    same = ok(
        await call(p, "get_spectrocloud_changes", {"instanceName": "main", "since": "2h", "limit": 1000})
    )
    assert same["changes"] == every
    later = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
    assert ok(await call(p, "get_spectrocloud_changes", {"since": later}))["changes"] == []
    earlier = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S")  # no offset: UTC
    assert (
        ok(await call(p, "get_spectrocloud_changes", {"since": earlier, "limit": 1000}))["changes"] == every
    )


@pytest.mark.parametrize(
    "arguments",
    [
        {"limit": 0},
        {"limit": 1001},
        {"since": "yesterday"},
        {"since": "24x"},
        {"since": "9999999w"},
        {"instanceName": "nope"},
    ],
)
async def test_changes_invalid_input(plugin: Any, arguments: dict[str, Any]) -> None:
    p: PluginClient = plugin()
    text = error_text(await call(p, "get_spectrocloud_changes", arguments))
    assert text.startswith("Invalid input"), text
    if "instanceName" in arguments:
        assert "main" in text


async def test_a_modified_cluster_is_logged(plugin: Any) -> None:
    p: PluginClient = plugin()
    await crawl(p)
    clusters = p.sim_get("/__sim/data/clusters")["uids"]
    before = ok(await call(p, "get_spectrocloud_changes", {"limit": 1000}))["changes"]
    by_uid = {c["ref"]: c for c in before if c["paletteKind"] == "cluster"}
    assert by_uid
    try:
        record = p.sim_get(f"/__sim/data/clusters/{clusters[0]}")
        state = "Error" if record["status"].get("state") != "Error" else "Running"
        sim_admin(p, "PATCH", f"/__sim/data/clusters/{clusters[0]}", {"status": {"state": state}})
        second = await crawl(p)
        assert second.modified >= 1
        changes = ok(await call(p, "get_spectrocloud_changes", {"limit": 1000}))["changes"]
        new = [c for c in changes if c["runId"] == second.run_id]
        assert [c["change"] for c in new] == ["modified"] * second.modified
        assert len(changes) == len(before) + second.modified
    finally:
        sim_admin(p, "POST", "/__sim/reset")


async def test_crawl_status_before_and_after_a_crawl(plugin: Any) -> None:
    p: PluginClient = plugin()
    empty = ok(await call(p, "get_spectrocloud_crawl_status"))["instances"]
    assert [i["name"] for i in empty] == ["main"]
    assert empty[0]["snapshot"]["present"] is False and empty[0]["lastRun"] is None
    assert empty[0]["nextRunEstimate"] is None

    result = await crawl(p)
    answer = await call(p, "get_spectrocloud_crawl_status", {"instanceName": "main"})
    no_secrets(answer)
    (status,) = ok(answer)["instances"]
    last = status["lastRun"]
    assert last["id"] == result.run_id and last["status"] == result.status == "ok"
    assert last["added"] == result.added and last["failedParts"] == []
    run = queries.last_run(p.server.service.db, "main")
    assert run is not None and last["counts"] == run.counts
    assert status["snapshot"] == {
        "present": True,
        "version": result.snapshot_version,
        "lastSuccessAt": last["finishedAt"],
        "lastSuccessRunId": result.run_id,
    }
    started = datetime.fromisoformat(last["startedAt"].replace("Z", "+00:00"))
    interval = status["refreshIntervalSeconds"]
    assert status["nextRunEstimate"] == (started + timedelta(seconds=interval)).isoformat().replace(
        "+00:00", "Z"
    )
    assert status["staleParts"] == [] and status["heldRemovals"] == []
    assert [r["id"] for r in status["recentRuns"]] == [result.run_id]


async def test_crawl_status_shows_a_failed_project(plugin: Any) -> None:
    p: PluginClient = plugin()
    await crawl(p)
    project = p.sim_get("/__sim/data/projects")["uids"][0]
    sim_admin(
        p,
        "POST",
        "/__sim/faults",
        [{"kind": "error", "path": "/v1/*", "status": 500, "project_uid": project}],
    )
    try:
        second = await crawl(p)
    finally:
        sim_admin(p, "DELETE", "/__sim/faults")
    assert second.status == "partial"
    (status,) = ok(await call(p, "get_spectrocloud_crawl_status"))["instances"]
    assert status["lastRun"]["status"] == "partial"
    failed = status["lastRun"]["failedParts"]
    assert failed and {f["scope"] for f in failed} == {project}
    assert {(s["scope"], s["kind"]) for s in status["staleParts"]} == {
        (f["scope"], f["kind"]) for f in failed
    }
    assert all(s["lastOkAt"] is not None for s in status["staleParts"])
    assert [r["id"] for r in status["recentRuns"]][:1] == [second.run_id]


async def test_unknown_instance_for_crawl_status(plugin: Any) -> None:
    p: PluginClient = plugin()
    text = error_text(await call(p, "get_spectrocloud_crawl_status", {"instanceName": "other"}))
    assert text.startswith("Invalid input") and "main" in text


@pytest.mark.parametrize("tool", ["get_spectrocloud_changes", "get_spectrocloud_crawl_status"])
async def test_permission(plugin: Any, tool: str) -> None:
    denied = plugin(policy=DENY_VIEW)
    text = error_text(await call(denied, tool, bearer=denied.token("user:default/jane")))
    assert text.startswith("Forbidden"), text
    allowed = plugin(policy=ALLOW_VIEW)
    ok(await call(allowed, tool, bearer=allowed.token("user:default/jane")))


# --- stdio ---------------------------------------------------------------------------------------------


def write_config(tmp_path: Path, sim_url: str) -> Path:
    path = tmp_path / "stdio-config.yaml"
    path.write_text(
        "\n".join(
            [
                "spectrocloud:",
                "  environments:",
                "    - name: main",
                f"      url: {sim_url}",
                f"      apiToken: {SIM_KEY}",
                "database:",
                f"  url: sqlite:///{tmp_path / 'stdio' / 'ingestor.db'}",
                "palette:",
                "  rateLimits:",
                "    enabled: false",
                "logging:",
                "  level: info",
                "",
            ]
        ),
        encoding="utf-8",
    )
    return path


async def test_stdio_serves_the_same_tools(sim: SimulatorServer, tmp_path: Path) -> None:
    config = write_config(tmp_path, sim.url)
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
            names = {t.name for t in (await session.list_tools()).tools}
            assert {
                "list_spectrocloud_projects",
                "get_spectrocloud_changes",
                "get_spectrocloud_crawl_status",
            } <= names

            projects = ok(await session.call_tool("list_spectrocloud_projects", {}))["projects"]
            uids = httpx.get(sim.url + "/__sim/data/projects", headers={"ApiKey": SIM_KEY}).json()["uids"]
            assert {item["uid"] for item in projects} == set(uids)

            # the store was created by ``ingestor mcp`` (schema upgraded) and holds no crawl yet
            (status,) = ok(await session.call_tool("get_spectrocloud_crawl_status", {}))["instances"]
            assert status["name"] == "main" and status["snapshot"]["present"] is False
            assert ok(await session.call_tool("get_spectrocloud_changes", {}))["changes"] == []
            bad = await session.call_tool("get_spectrocloud_changes", {"since": "soon"})
            assert error_text(bad).startswith("Invalid input")
            no_secrets(bad)
    finally:
        errlog.seek(0)
        logged = errlog.read()
        errlog.close()
    assert "mcp.stdio_started" in logged  # logs reach stderr (stdout carried only the protocol)
    assert SIM_KEY not in logged


async def test_stdio_reads_a_crawled_store(sim: SimulatorServer, tmp_path: Path) -> None:
    from ingestor.config import load_settings
    from ingestor.store import migrate
    from ingestor.store.db import Database

    config = write_config(tmp_path, sim.url)
    settings = load_settings(config)
    db = Database(settings.database.url.get_secret_value())
    try:
        migrate.upgrade(db)
        result = await run_crawl(
            settings, settings.spectrocloud.environments[0], db, trigger="manual", replica_id="test"
        )
    finally:
        db.close()
    params = StdioServerParameters(command=str(VENV_BIN / "ingestor"), args=["mcp", "--config", str(config)])
    with (tmp_path / "stderr.log").open("w", encoding="utf-8") as errlog:
        async with (
            stdio_client(params, errlog=errlog) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            changes = ok(await session.call_tool("get_spectrocloud_changes", {"limit": 1000}))
            (status,) = ok(await session.call_tool("get_spectrocloud_crawl_status", {}))["instances"]
    assert len(changes["changes"]) == result.added
    assert status["lastRun"]["id"] == result.run_id and status["snapshot"]["present"] is True
