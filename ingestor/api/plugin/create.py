"""Plugin routes: cluster creation (19) and virtual cluster creation (20), each attempt audited.

Bodies are the seed's simple ones (built into Palette entities by ``ingestor.creation``) or Palette entities
(repaired, compat F5); both are validated against Palette's definitions, so a bad field is our 422 naming it
and nothing reaches Palette. Palette's own refusal is a 422 with its code. The audit line records who, what,
where and the outcome; bodies are never logged. A crawl of the project follows each creation.
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
from ingestor.api.plugin.context import LiveCall, authorize, check_scope, open_call
from ingestor.api.plugin.create_support import (
    crawl_after_creation,
    group_endpoint_type,
    profile_variables,
    validator,
)
from ingestor.api.plugin.failures import PluginError, bad_request
from ingestor.auth.permissions import CREATE_CLUSTER
from ingestor.creation.build import cluster_entity, virtual_entity
from ingestor.creation.entity import normalise
from ingestor.creation.entity import problems as entity_problems
from ingestor.creation.problems import InvalidRequestError, Problem
from ingestor.creation.requests import ClusterRequest, VirtualRequest, parse_cluster, parse_virtual
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


def _inline(schema: dict[str, Any]) -> dict[str, Any]:
    """A pydantic JSON schema with its ``$defs`` inlined (the OpenAPI document has no room for them)."""
    defs = schema.pop("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return walk(dict(defs[ref.removeprefix("#/$defs/")]))
            return {key: walk(value) for key, value in node.items()}
        if isinstance(node, list):
            return [walk(item) for item in node]
        return node

    inlined: dict[str, Any] = walk(schema)
    return inlined


_NAME = _object_schema(["name"], name={"type": "string", "pattern": r"\S"})
# What the routes take, for the OpenAPI document (the routes read the raw body themselves, so malformed
# JSON is our 400, not FastAPI's 422): the seed's simple body, or a Palette entity.
ENTITY_BODY: dict[str, Any] = _object_schema(
    ["metadata", "spec"],
    metadata=_NAME,
    spec=_object_schema(["cloudType"], cloudType={"type": "string", "enum": sorted(CREATE_KINDS)}),
)
CLUSTER_BODY: dict[str, Any] = {"anyOf": [_inline(ClusterRequest.model_json_schema()), ENTITY_BODY]}
_GROUP = _object_schema(["uid"], uid={"type": "string", "pattern": UID.pattern})
WRAPPED_BODY: dict[str, Any] = _object_schema(
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
VIRTUAL_BODY: dict[str, Any] = {"anyOf": [_inline(VirtualRequest.model_json_schema()), WRAPPED_BODY]}


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
"""Audit outcome per status; our 422 (it lists ``problems``) is ``invalid``, Palette's is ``rejected``."""


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
    palette_code: str | None = None

    def record(self, outcome: str, status: int, code: str | None = None) -> None:
        """One audit line; ``code`` is Palette's error code when Palette answered."""
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
            palette_code=code,
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
        outcome = "invalid" if "problems" in exc.extra else OUTCOMES.get(exc.status, "failed")
        audit.record(outcome, exc.status, code=audit.palette_code)
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


async def create(call: LiveCall, kind: str, entity: dict[str, Any], audit: CreationAudit) -> str:
    """Forward ``entity`` to ``POST /v1/spectroclusters/<kind>``; the new cluster's uid."""
    try:
        return await call.client.create_cluster(kind, entity, call.project_uid)
    except PaletteError as exc:
        audit.palette_code = exc.code
        if isinstance(exc, BadRequestError) and exc.status in (400, 422):
            await call.failure("Cluster", exc)  # logs it (and nothing of the body)
            raise rejected(exc) from None
        raise await call.failure("Cluster", exc) from None


def invalid(error: InvalidRequestError) -> PluginError:
    """422 naming every bad field; nothing was sent to Palette."""
    return PluginError(422, str(error), extra={"problems": [p.as_dict() for p in error.problems]})


def _entity_kind(body: dict[str, Any]) -> str:
    """The creation endpoint of a full entity, from ``spec.cloudType`` (a 422 problem when unusable)."""
    cloud_type = _object(body.get("spec")).get("cloudType")
    if not isinstance(cloud_type, str) or not cloud_type.strip():
        raise InvalidRequestError([Problem("spec.cloudType", "is required")])
    kind = CREATE_KINDS.get(cloud_type.strip().lower())
    if kind is None:
        raise InvalidRequestError(
            [Problem("spec.cloudType", f"must be one of {', '.join(sorted(CREATE_KINDS))}")]
        )
    return kind


def checked_entity(kind: str, body: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``body`` repaired (F5) and validated against Palette's definition for ``kind``."""
    entity, repairs = normalise(body)
    found = [Problem(prefix + p.field, p.message) for p in repairs]
    found += entity_problems(kind, entity, validator(), prefix)
    if found:
        raise InvalidRequestError(found)
    return entity


@router.post(
    "/clusters", status_code=201, responses=CREATE_RESPONSES, openapi_extra=_request_body(CLUSTER_BODY)
)
async def create_cluster(
    request: Request,
    caller: CallerDep,
    instance: InstanceQuery = None,
    projectUid: ProjectQuery = None,  # noqa: N803 (the contract's parameter name)
) -> JSONResponse:
    """Route 19: create an EKS, AWS, AKS, Azure or vSphere cluster (or a virtual one from its entity).

    Two bodies: the seed's simple body (``cloudType``, ``name``, ``cloudAccountUid``, ``profileUids``,
    ``machinePoolConfig[]`` …; docs/plugin-api.md), from which the Palette entity for that cloud is built;
    or a full Palette entity with ``spec.cloudType`` (the anchor's contract), repaired (F5) and validated.
    Either way every bad field is a 422 before anything is sent; Palette's own refusal is a 422 with its code.
    Needs ``spectrocloud.cluster.create``. A crawl of the project follows at once. Answers 201 ``{"uid"}``.
    """
    async with audited(request, caller, "POST /clusters") as audit:
        await authorize(request, caller, CREATE_CLUSTER)
        env, project = check_scope(request)
        audit.instance, audit.project = env.name or "", project
        body = await json_object(request)
        try:
            if "spec" in body or "metadata" in body:
                audit.name = _bounded(_name(body) or "", LOG_LIMIT) or None
                audit.cloud_type = kind = _entity_kind(body)
                entity = checked_entity(kind, body)
                call = await open_call(request, caller, None, sensitive=True)
            else:
                audit.name = _bounded(body.get("name") or "", LOG_LIMIT) or None
                if body.get("cloudType") in CREATE_KINDS:
                    audit.cloud_type = str(body["cloudType"])
                simple = parse_cluster(body)
                audit.name, audit.cloud_type = simple.name, simple.cloudType
                call = await open_call(request, caller, None, sensitive=True)
                audit.instance, audit.project = call.instance, call.project_uid
                variables = await profile_variables(
                    call, simple.profileUids, simple.profileVariables, simple.clusterVariables
                )
                kind, entity = cluster_entity(simple, variables)
                entity = checked_entity(kind, entity)
        except InvalidRequestError as exc:
            raise invalid(exc) from None
        audit.instance, audit.project = call.instance, call.project_uid
        audit.uid = await create(call, kind, entity, audit)
        await crawl_after_creation(request, call.instance, call.project_uid)
        return call.json({"uid": audit.uid}, status_code=201)


def cluster_group_uid(entity: dict[str, Any]) -> str | None:
    """``spec.clusterConfig.hostClusterConfig.clusterGroup.uid`` of a virtual cluster entity."""
    spec = _object(entity.get("spec"))
    host = _object(_object(spec.get("clusterConfig")).get("hostClusterConfig"))
    uid = _object(host.get("clusterGroup")).get("uid")
    return uid if isinstance(uid, str) and uid else None


def _endpoint(entity: dict[str, Any]) -> dict[str, Any] | None:
    spec = _object(entity.get("spec"))
    host = _object(_object(spec.get("clusterConfig")).get("hostClusterConfig"))
    endpoint = host.get("clusterEndpoint")
    return endpoint if isinstance(endpoint, dict) else None


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
    """Route 20: create a virtual cluster in a cluster group.

    Two bodies: the anchor's ``{"clusterConfig": <Palette virtual cluster entity>}``, repaired and validated;
    or a simple one (``name``, ``clusterGroupUid``, ``cpu``, ``memoryGiB``, ``storageGiB``, add-on
    ``profileUids`` …). The endpoint type comes from the cluster group's settings unless given. Every bad
    field is a 422 before anything is sent. Needs ``spectrocloud.cluster.create``, like route 19.
    """
    async with audited(request, caller, "POST /virtualclusters") as audit:
        audit.cloud_type = "virtual"
        await authorize(request, caller, CREATE_CLUSTER)
        env, project = check_scope(request)
        audit.instance, audit.project = env.name or "", project
        body = await json_object(request)
        try:
            if "clusterConfig" in body:
                wrapped = body["clusterConfig"]
                if not isinstance(wrapped, dict):
                    raise InvalidRequestError([Problem("clusterConfig", "must be a virtual cluster entity")])
                audit.name = _bounded(_name(wrapped) or "", LOG_LIMIT) or None
                entity = checked_entity("virtual", wrapped, "clusterConfig.")
                call = await open_call(request, caller, None, sensitive=True)
                group = cluster_group_uid(entity)
                endpoint = _endpoint(entity)
                if group is not None and (endpoint is None or not endpoint.get("type")):
                    inherited = await group_endpoint_type(
                        call, group, "clusterConfig.spec.clusterConfig.hostClusterConfig.clusterGroup.uid"
                    )
                    host = entity["spec"]["clusterConfig"]["hostClusterConfig"]
                    host["clusterEndpoint"] = {**(endpoint or {}), "type": inherited, "config": {}}
            else:
                audit.name = _bounded(body.get("name") or "", LOG_LIMIT) or None
                simple = parse_virtual(body)
                audit.name = simple.name
                call = await open_call(request, caller, None, sensitive=True)
                audit.instance, audit.project = call.instance, call.project_uid
                inherited = await group_endpoint_type(call, simple.clusterGroupUid, "clusterGroupUid")
                variables = await profile_variables(
                    call, simple.profileUids, simple.profileVariables, simple.clusterVariables
                )
                entity = virtual_entity(simple, simple.endpointType or inherited, variables)
                entity = checked_entity("virtual", entity)
        except InvalidRequestError as exc:
            raise invalid(exc) from None
        audit.instance, audit.project = call.instance, call.project_uid
        audit.uid = await create(call, "virtual", entity, audit)
        await crawl_after_creation(request, call.instance, call.project_uid)
        return call.json({"uid": audit.uid}, status_code=201)
