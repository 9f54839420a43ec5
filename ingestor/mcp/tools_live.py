"""Tools answered live from Palette with the caller's credential (uid- and list-based actions)."""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer
from pydantic import BaseModel

from ingestor.auth.permissions import VIEW_CLUSTER_INFO
from ingestor.mcp.common import READ_ONLY, InstanceName
from ingestor.mcp.context import McpDeps


class ProjectItem(BaseModel):
    uid: str
    name: str


class ProjectList(BaseModel):
    projects: list[ProjectItem]


def register(server: MCPServer, deps: McpDeps) -> None:
    @server.tool(
        name="list_spectrocloud_projects",
        title="List SpectroCloud Projects",
        description="Every Palette project of the instance (all pages), as {uid, name}.",
        annotations=READ_ONLY,
    )
    async def list_spectrocloud_projects(instanceName: InstanceName = None) -> ProjectList:  # noqa: N803
        caller = await deps.require(VIEW_CLUSTER_INFO)
        live = await deps.live(caller, deps.instance(instanceName))
        projects = await live.run("projects", live.client.list_projects().collect())
        return ProjectList(
            projects=[ProjectItem(uid=p.metadata.uid, name=p.metadata.name or "") for p in projects]
        )
