"""The MCP endpoint: SDK client over streamable HTTP, authentication, one tool against the simulator."""

from __future__ import annotations

from typing import Any

import httpx

from tests.mcp.conftest import PluginClient, call, mcp_session


async def test_tools_are_listed_and_read_only(plugin: Any) -> None:
    p: PluginClient = plugin()
    async with mcp_session(p) as session:
        tools = (await session.list_tools()).tools
    names = {t.name for t in tools}
    assert "list_spectrocloud_projects" in names
    for tool in tools:
        assert tool.annotations is not None and tool.annotations.read_only_hint is True
        assert tool.output_schema is not None


async def test_projects_match_the_simulator(plugin: Any) -> None:
    p: PluginClient = plugin()
    result = await call(p, "list_spectrocloud_projects")
    assert result.is_error is False, result.content
    got = {item["uid"] for item in result.structured_content["projects"]}
    assert got == set(p.sim_get("/__sim/data/projects")["uids"])


def test_mcp_needs_a_token(plugin: Any) -> None:
    p: PluginClient = plugin()
    answer = httpx.post(p.server.url + "/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    assert answer.status_code == 401 and set(answer.json()) == {"error"}
