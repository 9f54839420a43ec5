"""Virtual cluster routes: list (7), detail (8), kubeconfig (10). Live Palette calls with the caller's
credential; a uid that is not a virtual cluster is "not found" on 8 and 10 (C12)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from ingestor.access.inputs import gather_bounded
from ingestor.access.scopes import TENANT_VIRTUAL_PERMISSIONS
from ingestor.api.plugin.clusters import kubeconfig_response, visible_scopes
from ingestor.api.plugin.common import (
    CallerDep,
    FrpQuery,
    InstanceQuery,
    ProjectQuery,
    dedupe_by_uid,
)
from ingestor.api.plugin.context import open_call
from ingestor.api.plugin.failures import not_found
from ingestor.auth.permissions import DOWNLOAD_KUBECONFIG, VIEW_CLUSTER_INFO

router = APIRouter(tags=["virtual clusters"])

VIRTUAL = "Virtual cluster"


@router.get("/virtualclusters")
async def list_virtual_clusters(
    request: Request, caller: CallerDep, instance: InstanceQuery = None
) -> JSONResponse:
    """Route 7: every non-deleted virtual cluster the caller's Palette credential can see
    (``POST /v1/dashboard/spectroclusters/search`` per visible project, plus tenant scope when the
    tenant permissions allow), each search paged to the end and de-duplicated by uid. A failing project
    or page fails the call (C7)."""
    call = await open_call(request, caller, VIEW_CLUSTER_INFO)
    scopes = await visible_scopes(call, TENANT_VIRTUAL_PERMISSIONS)

    async def search(scope: str | None) -> list[dict[str, Any]]:
        found = await call.run("Virtual clusters", call.client.list_virtual_clusters(scope).collect())
        return [item.raw for item in found]

    lists = await gather_bounded(scopes, search)
    return call.json({"virtualClusters": dedupe_by_uid(item for chunk in lists for item in chunk)})


# ``:path`` (here and below) so that an encoded slash (``..%2F..``) reaches ``check_uid`` (400) instead of
# missing every route (404). Registered before the detail route, which would also match.
@router.get("/virtualclusters/{clusterUid:path}/kubeconfig")
async def virtual_cluster_kubeconfig(
    request: Request,
    caller: CallerDep,
    clusterUid: str,  # noqa: N803 (the contract's parameter name)
    instance: InstanceQuery = None,
    projectUid: ProjectQuery = None,  # noqa: N803
    frp: FrpQuery = None,
) -> Response:
    """Route 10: a virtual cluster's user kubeconfig as YAML, as an attachment
    ``<clusterUid>-vcluster-kubeconfig.yaml``. The uid must name a virtual cluster
    (``GET /v1/spectroclusters/{uid}``), else 404."""
    call = await open_call(
        request, caller, DOWNLOAD_KUBECONFIG, params={"clusterUid": clusterUid}, sensitive=True
    )
    cluster = await call.run(VIRTUAL, call.client.get_cluster(clusterUid, call.project_uid))
    if not cluster.is_virtual:
        raise not_found(VIRTUAL)
    text = await call.run(
        "Kubeconfig", call.client.get_kubeconfig(clusterUid, call.project_uid, frp=frp != "false")
    )
    return kubeconfig_response(text, f"{clusterUid}-vcluster-kubeconfig.yaml")


@router.get("/virtualclusters/{clusterUid:path}")
async def get_virtual_cluster(
    request: Request,
    caller: CallerDep,
    clusterUid: str,  # noqa: N803
    instance: InstanceQuery = None,
    projectUid: ProjectQuery = None,  # noqa: N803
) -> JSONResponse:
    """Route 8: the live summary of a virtual cluster (``GET /v1/dashboard/spectroclusters/{uid}``,
    ``v1SpectroClusterUidSummary``); 404 when the uid names a cluster that is not virtual."""
    call = await open_call(request, caller, VIEW_CLUSTER_INFO, params={"clusterUid": clusterUid})
    summary = await call.run(VIRTUAL, call.client.get_cluster_summary(clusterUid, call.project_uid))
    if not summary.is_virtual:
        raise not_found(VIRTUAL)
    return call.json(summary.raw)
