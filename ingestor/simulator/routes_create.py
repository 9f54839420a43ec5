"""Cluster creation, ``POST /v1/spectroclusters/{eks|aws|aks|azure|vsphere|virtual}``: spec check (422
with paths), data check, then a ``Provisioning`` cluster visible everywhere (palette-api.md 3.8, 5).
Imports only ``ingestor.simulator``; never httpx.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ingestor.palette.schema import CREATE_DEFINITIONS
from ingestor.simulator.dataset import JSON, owner_of
from ingestor.simulator.errors import ApiError
from ingestor.simulator.records import ClusterPlan, cluster_record, object_ref
from ingestor.simulator.routes_common import Ctx, answer, context, json_body, shareable_visible, validate

DEFINITIONS = CREATE_DEFINITIONS
ACCOUNT_TYPES = {"eks": "aws", "aws": "aws", "aks": "azure", "azure": "azure", "vsphere": "vsphere"}
POOL_FIELDS = ("machinepoolconfig", "machinePoolConfig")


def _invalid(problems: list[str]) -> ApiError:
    return ApiError(422, "ValidationError", "invalid cluster: " + "; ".join(problems), {"errors": problems})


def _pool_field(spec: dict[str, Any]) -> str:
    """Normalise the wizard's ``machinePoolConfig`` to ``machinepoolconfig``; return the spelling used."""
    if "machinepoolconfig" in spec:
        return "machinepoolconfig"
    if "machinePoolConfig" in spec:
        spec["machinepoolconfig"] = spec.pop("machinePoolConfig")
        return "machinePoolConfig"
    return ""


def _templates(ctx: Ctx, spec: dict[str, Any], problems: list[str]) -> list[JSON]:
    templates = []
    for i, entry in enumerate(spec.get("profiles") or []):
        uid = str((entry or {}).get("uid") or "")
        profile = ctx.ds.get("clusterProfiles", uid)
        if profile is None or not shareable_visible(ctx, profile):
            problems.append(f"spec.profiles.{i}.uid: no cluster profile version '{uid}' in this scope")
            continue
        templates.append(dict((profile.get("spec") or {}).get("published") or {}))
    return templates


def _account(ctx: Ctx, kind: str, spec: dict[str, Any], problems: list[str]) -> tuple[str, str]:
    """``(account uid, overlord uid)`` after checking the account exists, is visible and fits."""
    uid = str(spec.get("cloudAccountUid") or "")
    if not uid:
        return "", ""
    account = ctx.ds.get("cloudAccounts", uid)
    if (
        account is None
        or not shareable_visible(ctx, account)
        or ctx.ds.cloud_account_types.get(uid) != ACCOUNT_TYPES[kind]
    ):
        problems.append(f"spec.cloudAccountUid: no {ACCOUNT_TYPES[kind]} cloud account '{uid}' in this scope")
        return "", ""
    return uid, str(((account.get("metadata") or {}).get("annotations") or {}).get("overlordUid") or "")


def _virtual_target(ctx: Ctx, spec: dict[str, Any], problems: list[str]) -> tuple[JSON | None, JSON | None]:
    host_config = ((spec.get("clusterConfig") or {}).get("hostClusterConfig")) or {}
    group_uid = str((host_config.get("clusterGroup") or {}).get("uid") or "")
    group = ctx.ds.get("clusterGroups", group_uid)
    if group is None or not shareable_visible(ctx, group):
        where = "spec.clusterConfig.hostClusterConfig.clusterGroup.uid"
        problems.append(f"{where}: no cluster group '{group_uid}' in this scope")
        return None, None
    hosts = ctx.ix.hosts_by_group.get(group_uid, [])
    host_uid = str((host_config.get("hostCluster") or {}).get("uid") or "") or (hosts[0] if hosts else "")
    if host_uid not in hosts or host_uid not in ctx.ix.rows:
        problems.append(
            f"spec.clusterConfig.hostClusterConfig.hostCluster.uid: '{host_uid}' is not a host of the group"
        )
        return None, None
    group_ref = object_ref(group_uid, str(group["metadata"].get("name") or ""), "clustergroup")
    return group_ref, object_ref(host_uid, ctx.ix.rows[host_uid].name, "spectrocluster")


def _pools(kind: str, spec: dict[str, Any]) -> tuple[list[tuple[str, int, bool]], tuple[float, float]]:
    """Machine pools as (name, size, control plane) and, for virtual clusters, the CPU/memory quota."""
    pools = []
    quota = (0.0, 0.0)
    for i, entry in enumerate(spec.get("machinepoolconfig") or []):
        entry = entry or {}
        if kind == "virtual":
            limits = ((entry.get("cloudConfig") or {}).get("instanceType")) or {}
            quota = (float(limits.get("maxCPU") or 0) * 1000, float(limits.get("maxMemInMiB") or 0) * 1024)
            pools.append(("worker-pool", 1, False))
            continue
        pool = entry.get("poolConfig") or {}
        pools.append(
            (
                str(pool.get("name") or f"pool-{i}"),
                int(pool.get("size") or 0),
                bool(pool.get("isControlPlane")),
            )
        )
    return pools, quota


def _plan(ctx: Ctx, kind: str, body: dict[str, Any], problems: list[str]) -> ClusterPlan:
    meta = body.get("metadata") or {}
    spec = body.setdefault("spec", {})
    name = meta.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.append("metadata.name: required")
    now = ctx.ds.clock.now()
    plan = ClusterPlan(
        uid=ctx.ds.new_uid(),
        name=str(name or ""),
        cloud_type="nested" if kind == "virtual" else kind,
        scope="project" if ctx.project else "tenant",
        project_uid=ctx.project,
        tenant_uid=ctx.ds.tenant.uid,
        created=now,
        modified=now,
        config_uid=ctx.ds.new_uid(),
        state="Provisioning",
        health="Unknown",
        labels={str(k): str(v) for k, v in (meta.get("labels") or {}).items()},
        annotations={str(k): str(v) for k, v in (meta.get("annotations") or {}).items()},
    )
    plan.templates = _templates(ctx, spec, problems)
    plan.pools, quota = _pools(kind, spec)
    if kind == "virtual":
        plan.group, plan.host = _virtual_target(ctx, spec, problems)
        plan.cpu, plan.memory = (quota[0], 0.0), (quota[1], 0.0)
    else:
        plan.account_uid, plan.overlord_uid = _account(ctx, kind, spec, problems)
        cloud_config = spec.get("cloudConfig") or {}
        region = cloud_config.get("region") or cloud_config.get("location")  # azure/aks say location
        plan.region = "dc1" if kind == "vsphere" else str(region or "")
    return plan


def _duplicate(ctx: Ctx, name: str) -> bool:
    siblings = ctx.ix.clusters_by_project.get(ctx.project, [])
    return any(ctx.ix.rows[u].name == name and not ctx.ix.rows[u].deleted for u in siblings)


async def create(request: Request) -> Response:
    """Create a cluster: 201 ``{"uid"}`` with an ``AuditUid`` header."""
    ctx = context(request)
    kind = request.url.path.rsplit("/", 1)[-1]
    body = await json_body(request)
    spec = body.get("spec")
    pool_field = _pool_field(spec) if isinstance(spec, dict) else ""
    validate(request, DEFINITIONS[kind], body)
    problems: list[str] = []
    plan = _plan(ctx, kind, body, problems)
    if problems:
        raise _invalid(problems)
    if _duplicate(ctx, plan.name):
        raise ApiError(
            409, "ClusterAlreadyExists", f"a cluster named '{plan.name}' already exists in this scope"
        )
    record = cluster_record(plan)
    record["metadata"]["annotations"] = {**plan.annotations, **record["metadata"]["annotations"]}
    for key in ("creationTimestamp", "lastModifiedTimestamp"):
        record["metadata"].pop(key)
    uid = ctx.ds.insert("clusters", record)
    scope, project = owner_of(record)
    ctx.ds.record_creation(
        {
            "uid": uid,
            "cloudType": kind,
            "name": plan.name,
            "scope": scope,
            "projectUid": project,
            "machinePoolField": pool_field,
        }
    )
    return answer({"uid": uid}, 201, headers={"AuditUid": ctx.ds.new_uid()})


def routes() -> list[Route]:
    return [Route(f"/v1/spectroclusters/{kind}", create, methods=["POST"]) for kind in DEFINITIONS]
