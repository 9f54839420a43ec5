"""Cluster group routes: detail (9) and list (21). Live Palette calls with the caller's credential; the
list is enriched from each group's detail so the stock wizard sees endpoint type and quotas (F3)."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ingestor.access.inputs import gather_bounded
from ingestor.api.plugin.common import CallerDep, InstanceQuery, ProjectQuery
from ingestor.api.plugin.context import LiveCall, open_call
from ingestor.auth.permissions import VIEW_CLUSTER_INFO
from ingestor.palette.errors import NotFoundError, PaletteError
from ingestor.palette.models import ClusterGroupSummary

log = structlog.get_logger(__name__)

router = APIRouter(tags=["cluster groups"])

GROUP = "Cluster group"


def with_clusters_config(summary: dict[str, Any], group: dict[str, Any]) -> dict[str, Any]:
    """A group summary plus the detail's ``spec.clustersConfig`` and a ``status.limitConfig`` copied from
    ``clustersConfig.limitConfig`` (F3). Summary fields are kept; the inputs are not modified."""
    spec = dict(summary.get("spec") or {})
    detail_spec = group.get("spec") or {}
    config = detail_spec.get("clustersConfig") if isinstance(detail_spec, dict) else None
    config = dict(config) if isinstance(config, dict) else {}
    if not config.get("endpointType") and spec.get("endpointType"):
        config["endpointType"] = spec["endpointType"]
    spec["clustersConfig"] = config
    enriched = {**summary, "spec": spec}
    limits = config.get("limitConfig")
    if isinstance(limits, dict):
        status = summary.get("status")
        enriched["status"] = {**(status if isinstance(status, dict) else {}), "limitConfig": dict(limits)}
    return enriched


def _unique(summaries: list[ClusterGroupSummary]) -> list[ClusterGroupSummary]:
    """Each uid once, first occurrence kept (so each detail is fetched once)."""
    seen: set[str] = set()
    out: list[ClusterGroupSummary] = []
    for summary in summaries:
        if summary.uid:
            if summary.uid in seen:
                continue
            seen.add(summary.uid)
        out.append(summary)
    return out


async def _enriched(call: LiveCall, summary: ClusterGroupSummary) -> dict[str, Any] | None:
    """The enriched summary; ``None`` when the group vanished between the list and its detail."""
    if not summary.uid:
        return summary.raw
    try:
        group = await call.client.get_cluster_group(summary.uid, call.project_uid)
    except NotFoundError:
        log.info("plugin.cluster_group_vanished", instance=call.instance, group_uid=summary.uid)
        return None
    except PaletteError as exc:
        raise await call.failure(GROUP, exc) from None
    return with_clusters_config(summary.raw, group.raw)


@router.get("/clustergroups")
async def list_cluster_groups(
    request: Request,
    caller: CallerDep,
    instance: InstanceQuery = None,
    projectUid: ProjectQuery = None,  # noqa: N803 (the contract's parameter name)
) -> JSONResponse:
    """Route 21: the host cluster groups of the scope (``GET /v1/clustergroups/hostCluster``; a project
    scope includes tenant and system groups) as ``{items}``, each with ``spec.clustersConfig`` from
    ``GET /v1/clustergroups/{uid}`` and ``status.limitConfig`` (F3). A failing detail fails the call."""
    call = await open_call(request, caller, VIEW_CLUSTER_INFO)
    summaries = await call.run("Cluster groups", call.client.list_cluster_groups(call.project_uid))
    items = await gather_bounded(_unique(summaries), lambda summary: _enriched(call, summary))
    return call.json({"items": [item for item in items if item is not None]})


# ``:path`` so that an encoded slash (``..%2F..``) reaches ``check_uid`` (400) instead of a routing 404.
@router.get("/clustergroups/{clusterGroupUid:path}")
async def get_cluster_group(
    request: Request,
    caller: CallerDep,
    clusterGroupUid: str,  # noqa: N803
    instance: InstanceQuery = None,
    projectUid: ProjectQuery = None,  # noqa: N803
) -> JSONResponse:
    """Route 9: one cluster group (``GET /v1/clustergroups/{uid}``, raw ``v1ClusterGroup``); Palette's 404
    is our 404 (C6)."""
    call = await open_call(request, caller, VIEW_CLUSTER_INFO, params={"clusterGroupUid": clusterGroupUid})
    group = await call.run(GROUP, call.client.get_cluster_group(clusterGroupUid, call.project_uid))
    return call.json(group.raw)
