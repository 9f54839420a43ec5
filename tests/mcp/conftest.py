"""Fixtures of the MCP tests: the service on a real socket (plugin-test harness: simulator, stand-in
Backstage) driven by the ``mcp`` SDK's own client over streamable HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx2
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult

from tests.plugin.conftest import (  # noqa: F401 (fixtures re-exported for this package)
    SERVICE_TOKEN,
    SIM_KEY,
    PluginClient,
    _secrets,
    backstage,
    plugin,
    sim,
)


@asynccontextmanager
async def mcp_session(
    p: PluginClient, bearer: str | None = None, **headers: str
) -> AsyncIterator[ClientSession]:
    """An initialised MCP client session to ``p``'s ``/mcp`` with ``bearer`` (default: the service token)."""
    sent = {"Authorization": f"Bearer {bearer or SERVICE_TOKEN}", **headers}
    async with (
        httpx2.AsyncClient(headers=sent, timeout=60) as http,
        streamable_http_client(p.server.url + "/mcp", http_client=http) as streams,
        ClientSession(streams[0], streams[1]) as session,
    ):
        await session.initialize()
        yield session


async def call(
    p: PluginClient, tool: str, arguments: dict[str, Any] | None = None, **kw: Any
) -> CallToolResult:
    async with mcp_session(p, **kw) as session:
        return await session.call_tool(tool, arguments or {})
