"""Project and user routes, all tenant-scoped (palette-api.md section 2).

A tenant admin sees every project; other users see the projects they have permissions in.
Imports only ``ingestor.simulator``.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ingestor.simulator import views_misc as vm
from ingestor.simulator.dataset import JSON
from ingestor.simulator.errors import ApiError
from ingestor.simulator.paging import page, page_request
from ingestor.simulator.routes_common import Ctx, answer, context, json_body
from ingestor.simulator.search import name_filter, sort_specs

PROJECT_SORTS: dict[str, Callable[[JSON], str]] = {
    "name": lambda r: str(r["metadata"].get("name") or ""),
    "creationTimestamp": lambda r: str(r["metadata"].get("creationTimestamp") or ""),
    "lastModifiedTimestamp": lambda r: str(r["metadata"].get("lastModifiedTimestamp") or ""),
}


def visible_projects(ctx: Ctx) -> list[JSON]:
    projects = ctx.ds.collection("projects").values()
    return [p for p in projects if ctx.caller.admin or p["metadata"]["uid"] in ctx.caller.projects]


async def list_projects(request: Request) -> Response:
    """POST /v1/dashboard/projects: paged ``v1ProjectsSummary`` (name filter, sort)."""
    ctx = context(request, tenant_only=True)
    body = await json_body(request, "v1ProjectsFilterSpec")
    paging = page_request(request.query_params)
    name_ok = name_filter((body.get("filter") or {}).get("name"), "filter.name")
    specs = sort_specs(body, tuple(PROJECT_SORTS))
    records = [p for p in visible_projects(ctx) if name_ok(str(p["metadata"].get("name") or ""))]
    records.sort(key=lambda r: (PROJECT_SORTS["name"](r), r["metadata"]["uid"]))
    for field, descending in reversed(specs):
        records.sort(key=PROJECT_SORTS[field], reverse=descending)
    chunk, listmeta = page(records, paging)
    return answer({"items": [vm.project_summary(ctx.ds, ctx.ix, r) for r in chunk], "listmeta": listmeta})


async def projects_metadata(request: Request) -> Response:
    """GET /v1/dashboard/projects/metadata?name=: ``{items: [{metadata: {uid, name}}]}``, unpaged."""
    ctx = context(request, tenant_only=True)
    wanted = request.query_params.get("name")
    items = [
        {"metadata": {"uid": p["metadata"]["uid"], "name": str(p["metadata"].get("name") or "")}}
        for p in visible_projects(ctx)
        if not wanted or p["metadata"].get("name") == wanted
    ]
    return answer({"items": items})


async def get_project(request: Request) -> Response:
    """GET /v1/projects/{uid}: ``v1Project``."""
    ctx = context(request, tenant_only=True)
    uid = request.path_params["uid"]
    record = ctx.ds.get("projects", uid)
    if record is None or not (ctx.caller.admin or uid in ctx.caller.projects):
        raise ApiError(404, "ResourceNotFound", f"project '{uid}' not found")
    return answer(vm.project_get(ctx.ds, record))


def _me(ctx: Ctx) -> JSON:
    user = ctx.ds.get("users", ctx.caller.user_uid)
    if user is None:
        raise ApiError(404, "ResourceNotFound", "the caller has no user record")
    return user


async def users_me(request: Request) -> Response:
    """GET /v1/users/me (undocumented): ``v1UserMe`` with permissions per project and ``tenant``."""
    ctx = context(request, tenant_only=True)
    return answer(vm.user_me(ctx.ds, _me(ctx)))


async def users_info(request: Request) -> Response:
    """GET /v1/users/info: ``v1UserInfo``."""
    ctx = context(request, tenant_only=True)
    return answer(vm.user_info(ctx.ds, ctx.caller.user_uid))


def _user(request: Request) -> tuple[Ctx, JSON]:
    ctx = context(request, tenant_only=True)
    uid = request.path_params["uid"]
    if uid != ctx.caller.user_uid and not ctx.caller.admin:
        raise ApiError(403, "OperationForbidden", "only a tenant admin may read other users")
    record = ctx.ds.get("users", uid)
    if record is None:
        raise ApiError(404, "ResourceNotFound", f"user '{uid}' not found")
    return ctx, record


async def get_user(request: Request) -> Response:
    """GET /v1/users/{uid}: ``v1User``."""
    _, record = _user(request)
    return answer(vm.user_get(record))


async def user_projects(request: Request) -> Response:
    """GET /v1/users/{uid}/projects: ``v1ProjectRolesEntity``."""
    ctx, record = _user(request)
    return answer(vm.user_projects(ctx.ds, record))


def routes() -> list[Route]:
    return [
        Route("/v1/dashboard/projects", list_projects, methods=["POST"]),
        Route("/v1/dashboard/projects/metadata", projects_metadata, methods=["GET"]),
        Route("/v1/projects/{uid:uid}", get_project, methods=["GET"]),
        Route("/v1/users/me", users_me, methods=["GET"]),
        Route("/v1/users/info", users_info, methods=["GET"]),
        Route("/v1/users/{uid:uid}", get_user, methods=["GET"]),
        Route("/v1/users/{uid:uid}/projects", user_projects, methods=["GET"]),
    ]
