"""User SSH keys: list, get, create, replace, delete (palette-api.md 4.9), scoped like projects.

Names are unique per scope (409 otherwise). Imports only ``ingestor.simulator``.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ingestor.simulator import views_misc as vm
from ingestor.simulator.dataset import JSON, owner_of
from ingestor.simulator.errors import ApiError
from ingestor.simulator.routes_common import (
    Ctx,
    answer,
    context,
    json_body,
    shareable_record,
    shareable_visible,
)

BASE = "/v1/users/assets/sshkeys"


def _keys(ctx: Ctx) -> list[JSON]:
    return [k for k in ctx.ds.collection("sshKeys").values() if shareable_visible(ctx, k)]


def _check(ctx: Ctx, body: JSON, own_uid: str = "") -> tuple[str, str]:
    name = (body.get("metadata") or {}).get("name")
    key = (body.get("spec") or {}).get("publicKey")
    problems = []
    if not isinstance(name, str) or not name.strip():
        problems.append("metadata.name: required")
    if not isinstance(key, str) or not key.strip():
        problems.append("spec.publicKey: required")
    if problems:
        raise ApiError(
            422, "ValidationError", "invalid SSH key: " + "; ".join(problems), {"errors": problems}
        )
    scope = ("project", ctx.project) if ctx.project else ("tenant", "")
    for other in ctx.ds.collection("sshKeys").values():
        if (
            other["metadata"]["uid"] != own_uid
            and other["metadata"].get("name") == name
            and owner_of(other) == scope
        ):
            raise ApiError(
                409, "SshKeyAlreadyExists", f"an SSH key named '{name}' already exists in this scope"
            )
    return str(name), str(key)


async def list_keys(request: Request) -> Response:
    """GET /v1/users/assets/sshkeys: ``{items}`` (the scope's own keys plus tenant ones), unpaged."""
    ctx = context(request)
    return answer({"items": [vm.ssh_key_view(ctx.ds, k) for k in _keys(ctx)]})


async def get_key(request: Request) -> Response:
    """GET /v1/users/assets/sshkeys/{uid}."""
    ctx = context(request)
    return answer(
        vm.ssh_key_view(ctx.ds, shareable_record(ctx, "sshKeys", request.path_params["uid"], "SSH key"))
    )


async def create_key(request: Request) -> Response:
    """POST /v1/users/assets/sshkeys: body ``v1UserAssetSshEntity``; 201 ``{"uid"}`` + ``AuditUid``."""
    ctx = context(request)
    body = await json_body(request, "v1UserAssetSshEntity")
    name, key = _check(ctx, body)
    meta = body.get("metadata") or {}
    annotations = {
        **(meta.get("annotations") or {}),
        "scope": "project" if ctx.project else "tenant",
        "tenantUid": ctx.ds.tenant.uid,
    }
    if ctx.project:
        annotations["projectUid"] = ctx.project
    record = {
        "metadata": {"name": name, "labels": dict(meta.get("labels") or {}), "annotations": annotations},
        "spec": {"publicKey": key},
    }
    uid = ctx.ds.insert("sshKeys", record)
    return answer({"uid": uid}, 201, headers={"AuditUid": ctx.ds.new_uid()})


async def replace_key(request: Request) -> Response:
    """PUT /v1/users/assets/sshkeys/{uid}: body ``v1UserAssetSsh``; 204."""
    ctx = context(request)
    uid = request.path_params["uid"]
    old = shareable_record(ctx, "sshKeys", uid, "SSH key")
    if owner_of(old) != (("project", ctx.project) if ctx.project else ("tenant", "")):
        raise ApiError(403, "OperationForbidden", "the SSH key belongs to another scope")
    body = await json_body(request, "v1UserAssetSsh")
    name, key = _check(ctx, body, uid)
    meta = {**old["metadata"], "name": name, "labels": dict((body.get("metadata") or {}).get("labels") or {})}
    ctx.ds.replace("sshKeys", uid, {"metadata": meta, "spec": {"publicKey": key}})
    return Response(status_code=204)


async def delete_key(request: Request) -> Response:
    """DELETE /v1/users/assets/sshkeys/{uid}: 204."""
    ctx = context(request)
    uid = request.path_params["uid"]
    old = shareable_record(ctx, "sshKeys", uid, "SSH key")
    if owner_of(old) != (("project", ctx.project) if ctx.project else ("tenant", "")):
        raise ApiError(403, "OperationForbidden", "the SSH key belongs to another scope")
    ctx.ds.delete("sshKeys", uid)
    return Response(status_code=204)


def routes() -> list[Route]:
    return [
        Route(BASE, list_keys, methods=["GET"]),
        Route(BASE, create_key, methods=["POST"]),
        Route(f"{BASE}/{{uid:uid}}", get_key, methods=["GET"]),
        Route(f"{BASE}/{{uid:uid}}", replace_key, methods=["PUT"]),
        Route(f"{BASE}/{{uid:uid}}", delete_key, methods=["DELETE"]),
    ]
