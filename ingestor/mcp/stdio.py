"""``ingestor mcp``: the same MCP server over stdio, for a local client (Claude Desktop and the like).

The caller is the local operator who holds the configuration (and so its API keys): every tool is allowed
(no permission gate, like a static token without restrictions) and Palette is called with the instance's
``apiToken``. The store is opened (schema brought up to date, as ``serve`` does) but never crawled here.
Stdout carries the protocol only: logs go to stderr (``ingestor.logging`` writes there).
"""

from __future__ import annotations

import structlog

from ingestor.access.clients import PaletteClients
from ingestor.auth.gate import PermissionGate
from ingestor.config import Settings
from ingestor.mcp.context import STDIO_OPERATOR, McpCaller, McpDeps
from ingestor.mcp.server import build_server
from ingestor.store import migrate
from ingestor.store.db import Database

log = structlog.get_logger(__name__)


async def serve_stdio(settings: Settings, *, upgrade: bool = True) -> int:
    """Serve MCP on stdin/stdout until the client closes the streams; returns the exit code."""
    db = Database(settings.database.url.get_secret_value(), pool_size=settings.database.pool.size)
    clients = PaletteClients(settings)
    try:
        if upgrade:
            migrate.upgrade(db)
        deps = McpDeps(
            settings,
            db,
            PermissionGate(enabled=False, services={}),
            clients,
            default_caller=McpCaller(STDIO_OPERATOR),
        )
        log.info("mcp.stdio_started")
        await build_server(deps).run_stdio_async()
        log.info("mcp.stdio_stopped")
        return 0
    finally:
        await clients.aclose()
        db.close()
