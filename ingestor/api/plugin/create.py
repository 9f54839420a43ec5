"""Plugin routes: cluster creation (19) and virtual cluster creation (20), each attempt audited.

Only the structure the route needs is checked here (a JSON object, the cloud type, the name, the group);
Palette validates the entity itself and its 400/422 answers become our 422. Bodies are never logged.
Imports ``api``, ``auth.permissions`` and ``palette.errors`` of ours.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.requests import ClientDisconnect

from ingestor.access.inputs import UID
from ingestor.api.auth import Caller
from ingestor.api.plugin.common import CallerDep, ErrorBody, InstanceQuery, ProjectQuery
from ingestor.api.plugin.context import LiveCall, authorize, check_uid, open_call
from ingestor.api.plugin.failures import PluginError, bad_request
from ingestor.auth.permissions import CREATE_CLUSTER
from ingestor.palette.errors import BadRequestError, PaletteError

log = structlog.get_logger(__name__)

router = APIRouter(tags=["creation"])

# spec.cloudType (lower-cased) → the Palette creation endpoint's kind (compat.md 3.3 route 19).
CREATE_KINDS: dict[str, str] = {
    "eks": "eks",
    "aws": "aws",
    "aks": "aks",
    "azure": "azure",
    "vsphere": "vsphere",
    "nested": "virtual",
    "virtual": "virtual",
}
ECHO_LIMIT = 40
LOG_LIMIT = 128


def _object_schema(required: list[str], **properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": properties, "additionalProperties": True}


_NAME = _object_schema(["name"], name={"type": "string", "pattern": r"\S"})
# What the routes check of the body, for the OpenAPI document (the routes read the raw body themselves,
# so malformed JSON is our 400, not FastAPI's 422).
CLUSTER_BODY: dict[str, Any] = _object_schema(
    ["metadata", "spec"],
    metadata=_NAME,
    spec=_object_schema(["cloudType"], cloudType={"type": "string", "enum": sorted(CREATE_KINDS)}),
)
_GROUP = _object_schema(["uid"], uid={"type": "string", "pattern": UID.pattern})
VIRTUAL_BODY: dict[str, Any] = _object_schema(
    ["clusterConfig"],
    clusterConfig=_object_schema(
        ["metadata", "spec"],
        metadata=_NAME,
        spec=_object_schema(
            ["clusterConfig"],
            clusterConfig=_object_schema(
                ["hostClusterConfig"], hostClusterConfig=_object_schema(["clusterGroup"], clusterGroup=_GROUP)
            ),
        ),
    ),
)


def _request_body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


class Created(BaseModel):
    """The answer to a creation."""

    uid: str = Field(description="The new cluster's uid")


CREATE_RESPONSES: dict[int | str, dict[str, Any]] = {
    201: {"model": Created, "description": "Created: the new cluster's uid"},
    409: {"model": ErrorBody, "description": "Palette has a cluster of that name in the scope"},
    413: {"model": ErrorBody, "description": "The body is larger than server.bodyLimitBytes"},
    422: {"model": ErrorBody, "description": "Palette refused the entity (its code in `code`)"},
}
OUTCOMES = {400: "invalid", 401: "reauth", 403: "denied", 409: "conflict", 422: "rejected"}


def _bounded(value: object, limit: int) -> str:
    """``value`` as printable text of at most ``limit`` characters (for messages and logs)."""
    return "".join(ch for ch in str(value)[:limit] if ch.isprintable())


@dataclass
class CreationAudit:
    """One creation attempt as the audit log records it: who, where, what, and how it ended."""

    caller: str
    route: str
    instance: str | None = None
    project: str | None = None
    name: str | None = None
    cloud_type: str | None = None
    uid: str | None = None

    def record(self, outcome: str, status: int) -> None:
        log.info(
            "plugin.cluster_create",
            route=self.route,
            caller=self.caller,
            instance=self.instance,
            project=self.project,
            cluster=self.name,
            cloud_type=self.cloud_type,
            outcome=outcome,
            status=status,
            uid=self.uid,
        )


@asynccontextmanager
async def audited(request: Request, caller: Caller, route: str) -> AsyncIterator[CreationAudit]:
    """Record every attempt, whether it was created, refused by us or failed in Palette."""
    audit = CreationAudit(
        caller=caller.principal.display,
        route=route,
        instance=_bounded(request.query_params.get("instance") or "", 64) or None,
        project=_bounded(request.query_params.get("projectUid") or "", 64) or None,
    )
    try:
        yield audit
    except PluginError as exc:
        audit.record(OUTCOMES.get(exc.status, "failed"), exc.status)
        raise
    except Exception:
        audit.record("error", 500)
        raise
    audit.record("created", 201)


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


async def json_object(request: Request) -> dict[str, Any]:
    """The request body as a JSON object; 400 (our ``{"error"}`` shape, not FastAPI's 422) otherwise."""
    try:
        raw = await request.body()
    except ClientDisconnect:  # the client went away, or the body limit cut the body short
        raise bad_request("Invalid request body: not received in full") from None
    try:
        data = json.loads(raw, parse_constant=_no_constant) if raw.strip() else None
    except (ValueError, RecursionError):  # also UnicodeDecodeError, NaN/Infinity, absurd nesting
        raise bad_request("Invalid request body: malformed JSON") from None
    if not isinstance(data, dict):
        raise bad_request("Invalid request body: expected a JSON object")
    return data


def _object(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _name(entity: dict[str, Any]) -> str | None:
    name = _object(entity.get("metadata")).get("name")
    return name if isinstance(name, str) and name.strip() else None


def creation_kind(body: dict[str, Any]) -> str:
    """The creation endpoint for ``spec.cloudType`` (400 when missing, not a string, or unsupported; C11)."""
    cloud_type = _object(body.get("spec")).get("cloudType")
    if not isinstance(cloud_type, str) or not cloud_type.strip():
        raise bad_request("Invalid cluster configuration: cloudType is required")
    kind = CREATE_KINDS.get(cloud_type.strip().lower())
    if kind is None:
        raise bad_request(f"Unsupported cloud type: {_bounded(cloud_type, ECHO_LIMIT)}")
    return kind


def rejected(exc: PaletteError) -> PluginError:
    """Palette refused the entity: 422 with its status, code and ref (never its body)."""
    shown = [
        f"status {exc.status}",
        f"code {exc.code}" if exc.code else "",
        f"ref {exc.ref}" if exc.ref else "",
    ]
    detail = ", ".join(part for part in shown if part)
    return PluginError(
        422, f"Palette rejected the cluster configuration ({detail})", extra={"code": exc.code or ""}
    )


async def create(call: LiveCall, kind: str, entity: dict[str, Any]) -> str:
    """Forward ``entity`` to ``POST /v1/spectroclusters/<kind>``; the new cluster's uid."""
    try:
        return await call.client.create_cluster(kind, entity, call.project_uid)
    except BadRequestError as exc:
        if exc.status in (400, 422):
            await call.failure("Cluster", exc)  # logs it (and nothing of the body)
            raise rejected(exc) from None
        raise await call.failure("Cluster", exc) from None
    except PaletteError as exc:
        raise await call.failure("Cluster", exc) from None


@router.post(
    "/clusters", status_code=201, responses=CREATE_RESPONSES, openapi_extra=_request_body(CLUSTER_BODY)
)
async def create_cluster(
    request: Request,
    caller: CallerDep,
    instance: InstanceQuery = None,
    projectUid: ProjectQuery = None,  # noqa: N803 (the contract's parameter name)
) -> JSONResponse:
    """Route 19: create a cluster from a Palette creation entity (compat.md 8.6), forwarded as sent to
    ``POST /v1/spectroclusters/<kind>``, where the kind follows ``spec.cloudType`` (``eks``, ``aws``,
    ``aks``, ``azure``, ``vsphere``; ``nested`` or ``virtual`` → ``virtual``). Answers 201 ``{"uid"}``.

    Only structural checks happen here (a JSON object, a string ``spec.cloudType`` that is supported, a
    ``metadata.name``); the entity's schema is Palette's to check, and its refusal is a 422 with Palette's
    code. Needs ``spectrocloud.cluster.create`` and the caller's own Palette session unless permissions
    are enabled (then the instance API key may stand in).
    """
    async with audited(request, caller, "POST /clusters") as audit:
        await authorize(request, caller, CREATE_CLUSTER)
        body = await json_object(request)
        name = _name(body)
        audit.name = _bounded(name or "", LOG_LIMIT) or None
        audit.cloud_type = kind = creation_kind(body)
        if name is None:
            raise bad_request("Invalid cluster configuration: metadata.name is required")
        call = await open_call(request, caller, None, sensitive=True)
        audit.instance, audit.project = call.instance, call.project_uid
        audit.uid = await create(call, kind, body)
        return call.json({"uid": audit.uid}, status_code=201)


def cluster_group_uid(entity: dict[str, Any]) -> str | None:
    """``spec.clusterConfig.hostClusterConfig.clusterGroup.uid`` of a virtual cluster entity."""
    spec = _object(entity.get("spec"))
    host = _object(_object(spec.get("clusterConfig")).get("hostClusterConfig"))
    uid = _object(host.get("clusterGroup")).get("uid")
    return uid if isinstance(uid, str) and uid else None


@router.post(
    "/virtualclusters",
    status_code=201,
    responses=CREATE_RESPONSES,
    openapi_extra=_request_body(VIRTUAL_BODY),
)
async def create_virtual_cluster(
    request: Request,
    caller: CallerDep,
    instance: InstanceQuery = None,
    projectUid: ProjectQuery = None,  # noqa: N803 (the contract's parameter name)
) -> JSONResponse:
    """Route 20: create a virtual cluster from ``{"clusterConfig": <Palette virtual cluster entity>}``,
    forwarded as ``POST /v1/spectroclusters/virtual``. Answers 201 ``{"uid"}``.

    Only structural checks happen here: ``clusterConfig.metadata.name`` and a well-formed
    ``clusterConfig.spec.clusterConfig.hostClusterConfig.clusterGroup.uid`` are required; Palette checks
    the rest (its refusal is a 422). Needs ``spectrocloud.cluster.create``, like route 19.
    """
    async with audited(request, caller, "POST /virtualclusters") as audit:
        audit.cloud_type = "virtual"
        await authorize(request, caller, CREATE_CLUSTER)
        entity = _object((await json_object(request)).get("clusterConfig"))
        name = _name(entity)
        audit.name = _bounded(name or "", LOG_LIMIT) or None
        if name is None:
            raise bad_request("Cluster name is required")
        group_uid = cluster_group_uid(entity)
        if group_uid is None:
            raise bad_request("Cluster group UID is required")
        check_uid("clusterGroup.uid", group_uid)
        call = await open_call(request, caller, None, sensitive=True)
        audit.instance, audit.project = call.instance, call.project_uid
        audit.uid = await create(call, "virtual", entity)
        return call.json({"uid": audit.uid}, status_code=201)
