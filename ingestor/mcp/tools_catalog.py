"""Tools (being written)."""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer

from ingestor.mcp.context import McpDeps


def register(server: MCPServer, deps: McpDeps) -> None:
    """Register this module's tools."""
