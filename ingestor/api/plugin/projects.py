"""Plugin route 15: the projects the caller's Palette credential can list (live, paged to the end)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ingestor.api.plugin.common import CallerDep, InstanceQuery, dedupe_by_uid
from ingestor.api.plugin.context import open_call
from ingestor.auth.permissions import VIEW_CLUSTER_INFO

router = APIRouter(tags=["projects"])


@router.get("/projects")
async def list_projects(request: Request, caller: CallerDep, instance: InstanceQuery = None) -> JSONResponse:
    """Route 15: every project summary (``POST /v1/dashboard/projects``, tenant scope), paged to the end
    with the continue token in the query (C1); a failing page fails the call."""
    call = await open_call(request, caller, VIEW_CLUSTER_INFO)
    projects = await call.run("Projects", call.client.list_projects().collect())
    return call.json({"projects": dedupe_by_uid(project.raw for project in projects)})
