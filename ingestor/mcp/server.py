"""``build_server(deps)``: the MCP server with every tool registered (no I/O at build time)."""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer

from ingestor import __version__
from ingestor.mcp import tools_catalog, tools_live, tools_ours
from ingestor.mcp.context import McpDeps

INSTRUCTIONS = (
    "SpectroCloud Palette as seen by spectrocloud-ingestor: clusters, virtual clusters, cluster groups, "
    "cluster profiles and projects of every configured Palette instance. Entity tools take the Palette "
    "name (title); when a name is ambiguous the error lists the candidates, then pass instanceName and/or "
    "projectUid. Every tool is read-only."
)


def build_server(deps: McpDeps) -> MCPServer:
    server: MCPServer = MCPServer(
        name="spectrocloud-ingestor", version=__version__, instructions=INSTRUCTIONS, log_level="WARNING"
    )
    for module in (tools_live, tools_catalog, tools_ours):
        module.register(server, deps)
    return server
