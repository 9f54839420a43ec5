"""Plugin meta routes: health (1), auth debug (2, S7: booleans only), the caller's projects (3)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ingestor.access.credentials import CallerHeaders
from ingestor.access.instances import UnknownInstanceError, select_instance
from ingestor.api.plugin.common import CallerDep, InstanceQuery
from ingestor.api.plugin.context import open_call, services
from ingestor.api.plugin.failures import bad_request
from ingestor.auth.palette_tokens import forwardable_to_palette

router = APIRouter(tags=["meta"])


@router.get("/health")
async def plugin_health() -> JSONResponse:
    """Route 1: unauthenticated liveness of the plugin API."""
    return JSONResponse({"status": "ok"})


@router.get("/auth/debug")
async def auth_debug(request: Request, caller: CallerDep, instance: InstanceQuery = None) -> JSONResponse:
    """Route 2: what the service knows about the caller's Palette access: booleans only, never any part
    of a token and no header list (S7)."""
    plugin = services(request)
    try:
        env = select_instance(plugin.settings, request.query_params.getlist("instance") or None)
    except UnknownInstanceError as exc:
        raise bad_request(str(exc)) from None
    headers = CallerHeaders(token=request.headers.get("x-spectrocloud-token"))
    has_session = False
    principal = caller.principal
    if plugin.sessions is not None and principal.kind == "user" and principal.entity_ref:
        has_session = await plugin.sessions.get(principal.entity_ref, env.name or "") is not None
    token = (headers.token or "").strip()
    return JSONResponse(
        {
            "caller": principal.kind,
            "instance": env.name or "",
            "hasOidcToken": bool(token),
            "tokenForwardable": bool(token) and forwardable_to_palette(token),
            "hasPaletteSession": has_session,
            "apiTokenFallback": env.api_token_fallback,
            "permissionsEnabled": plugin.settings.spectrocloud.enable_permissions,
        }
    )


@router.get("/users/me/projects")
async def my_projects(request: Request, caller: CallerDep, instance: InstanceQuery = None) -> JSONResponse:
    """Route 3: the projects the caller's own Palette session holds permissions in (never the API key's)."""
    call = await open_call(request, caller, None, own_session_only=True)
    me = await call.run("Palette user", call.client.users_me())
    wanted = set(me.project_uids)
    projects = await call.run("Projects", call.client.list_projects().collect())
    return call.json(
        {
            "projects": [
                {"uid": p.metadata.uid, "name": p.metadata.name} for p in projects if p.metadata.uid in wanted
            ]
        }
    )
