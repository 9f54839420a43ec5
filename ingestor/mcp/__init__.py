"""The MCP server: the seventeen SpectroCloud actions (and ours) for AI agents, over streamable HTTP at
``/mcp`` and over stdio (``ingestor mcp``). Only this package imports the ``mcp`` SDK."""
