"""What every route needs: the caller (API key, or raw session token through pluggable resolvers),
the scope (``ProjectUid`` header or query), visibility rules, JSON bodies checked against the spec.
Imports only ``ingestor.simulator``; never httpx.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import Request
from starlette.responses import JSONResponse

from ingestor.simulator.dataset import JSON, Dataset, owner_of
from ingestor.simulator.errors import ApiError
from ingestor.simulator.index import ClusterRow, Index

# Literal path segments that sit beside a ``{uid}`` segment in Palette's API. The ``uid`` convertor
# refuses them so that, say, ``GET /v1/dashboard/spectroclusters/search`` is a 405 and not a lookup.
RESERVED_SEGMENTS = (
    "search",
    "meta",
    "metadata",
    "me",
    "info",
    "assets",
    "summary",
    "hostCluster",
    "eks",
    "aws",
    "aks",
    "azure",
    "vsphere",
    "virtual",
)


class UidConvertor(Convertor[str]):
    """Path convertor ``{name:uid}``: one segment that is not a reserved literal."""

    regex = "(?!(?:" + "|".join(RESERVED_SEGMENTS) + ")(?:/|$))[^/]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("uid", UidConvertor())

# A resolver maps a raw ``Authorization`` value to a user uid (or None when it does not know it).
TokenResolver = Callable[[Dataset, str], str | None]


class Validator(Protocol):
    """What ``ingestor.palette.schema.SpecValidator`` offers."""

    def errors(self, definition_name: str, instance: object, strict: bool = False) -> list[str]: ...


def session_token_resolver(ds: Dataset, token: str) -> str | None:
    """Tokens listed in ``users[].sessionTokens``."""
    return ds.index().user_by_token.get(token)


@dataclass
class SimState:
    """Shared by all routes of one app (``request.app.state.sim``)."""

    dataset: Dataset
    validator: Validator | None
    reset: Callable[[], Dataset]
    token_resolvers: list[TokenResolver] = field(default_factory=lambda: [session_token_resolver])


@dataclass(frozen=True)
class Caller:
    user_uid: str
    admin: bool  # a tenant admin: tenant-scope lists span every project
    projects: frozenset[str]
    tenant_access: bool
    key_holder: bool  # holds the configured API key (may use /__sim)


@dataclass(frozen=True)
class Ctx:
    sim: SimState
    ds: Dataset
    ix: Index
    caller: Caller
    project: str  # "" = tenant scope


def sim_state(request: Request) -> SimState:
    state: SimState = request.app.state.sim
    return state


def authenticate(request: Request) -> Caller:
    """401 ``v1Error`` unless ``ApiKey`` or ``Authorization`` (raw token, no ``Bearer``) is known."""
    sim = sim_state(request)
    ds = sim.dataset
    ix = ds.index()
    key = request.headers.get("apikey")
    token = request.headers.get("authorization")
    uid: str | None = None
    if key:
        uid = ix.user_by_key.get(key)
    elif token:
        uid = next((u for r in sim.token_resolvers if (u := r(ds, token)) is not None), None)
    if uid is None:
        reason = "invalid credential" if key or token else "missing credential: send ApiKey or Authorization"
        raise ApiError(401, "Unauthorized", reason)
    holder = bool(key) and key == ds.admin_api_key
    user = ds.get("users", uid) or {}
    status = user.get("status") or {}
    tenant_permissions = (status.get("tenantPermissions") or {}).get("tenant") or []
    return Caller(
        user_uid=uid,
        admin=holder or bool(tenant_permissions),
        projects=frozenset(status.get("projectPermissions") or {}),
        tenant_access=holder or bool(tenant_permissions),
        key_holder=holder,
    )


def requested_project(request: Request) -> str:
    value = request.headers.get("projectuid")
    if not value:
        value = next((v for k, v in request.query_params.items() if k.lower() == "projectuid"), "")
    return value.strip()


def context(request: Request, *, tenant_only: bool = False) -> Ctx:
    """Authenticate and resolve the scope; 403 ``OperationForbidden`` for a project the caller can't use."""
    caller = authenticate(request)
    sim = sim_state(request)
    ds = sim.dataset
    project = "" if tenant_only else requested_project(request)
    if project and (ds.get("projects", project) is None or not (caller.admin or project in caller.projects)):
        raise ApiError(403, "OperationForbidden", f"operation not allowed in project '{project}'")
    return Ctx(sim, ds, ds.index(), caller, project)


# -- visibility -----------------------------------------------------------------------------------
def shareable_visible(ctx: Ctx, record: JSON) -> bool:
    """Profiles, groups, accounts, keys: a project sees its own plus tenant/system ones; the tenant
    scope sees tenant/system ones (palette-api.md 1.3)."""
    scope, project = owner_of(record)
    if scope == "project":
        return bool(ctx.project) and project == ctx.project
    return True


def cluster_listed(ctx: Ctx, row: ClusterRow) -> bool:
    """Cluster lists: a project's own; in tenant scope everything for an admin."""
    if ctx.project:
        return row.project_uid == ctx.project
    if ctx.caller.admin:
        return True
    return row.project_uid in ctx.caller.projects if row.project_uid else ctx.caller.tenant_access


def cluster_record(ctx: Ctx, uid: str) -> JSON:
    """A cluster fetched by uid: needs the matching ``ProjectUid`` (404 ``ResourceNotFound`` otherwise)."""
    record = ctx.ds.get("clusters", uid)
    row = ctx.ix.rows.get(uid)
    if record is None or row is None or row.project_uid != ctx.project:
        raise ApiError(404, "ResourceNotFound", f"cluster '{uid}' not found")
    return record


def shareable_record(ctx: Ctx, collection: str, uid: str, what: str) -> JSON:
    record = ctx.ds.get(collection, uid)
    if record is None or not shareable_visible(ctx, record):
        raise ApiError(404, "ResourceNotFound", f"{what} '{uid}' not found")
    return record


# -- bodies and answers -----------------------------------------------------------------------
async def json_body(request: Request, definition: str | None = None) -> dict[str, Any]:
    """The JSON object in the body (``{}`` when empty): 400 if malformed, 422 if it fails ``definition``."""
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        raise ApiError(400, "BadRequest", "malformed JSON in the request body") from None
    if not isinstance(data, dict):
        raise ApiError(400, "BadRequest", "the request body must be a JSON object")
    if definition:
        validate(request, definition, data)
    return data


def validate(request: Request, definition: str, data: object) -> None:
    """422 ``v1Error`` listing every failing path when ``data`` does not match the spec definition."""
    validator = sim_state(request).validator
    if validator is None:
        return
    problems = validator.errors(definition, data)
    if problems:
        raise ApiError(
            422,
            "ValidationError",
            f"request body does not match {definition}: " + "; ".join(problems[:10]),
            {"errors": problems},
        )


def answer(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(data, status, headers=headers)


def query_flag(request: Request, name: str, default: bool) -> bool:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in ("true", "1"):
        return True
    if raw.lower() in ("false", "0"):
        return False
    raise ApiError(422, "InvalidParameter", f"{name}: must be a boolean")
