"""Cluster routes: list (4), kubeconfig (5), detail (6), attached profiles (13), pack manifests (14)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from ingestor.access.inputs import gather_bounded
from ingestor.access.scopes import TENANT_CLUSTER_PERMISSIONS
from ingestor.access.scopes import visible_scopes as scopes_of
from ingestor.api.plugin.common import (
    CallerDep,
    FrpQuery,
    InstanceQuery,
    ProjectQuery,
    dedupe_by_uid,
)
from ingestor.api.plugin.context import LiveCall, open_call
from ingestor.api.plugin.failures import not_found
from ingestor.auth.permissions import (
    DOWNLOAD_KUBECONFIG,
    VIEW_CLUSTER_INFO,
    VIEW_PACK_MANIFESTS,
    VIEW_PACK_VALUES,
)

router = APIRouter(tags=["clusters"])
# ``:path`` parameters: an encoded ``/`` (``..%2F``) still reaches the uid check and gets 400, not a
# routing 404. Longer routes are registered before the detail route that would swallow them.


async def visible_scopes(call: LiveCall, tenant_permissions: frozenset[str]) -> list[str | None]:
    """The scopes the call's credential can list in (``access.scopes``), from ``/v1/users/me``."""
    return scopes_of(await call.run("Palette user", call.client.users_me()), tenant_permissions)


def scope_of(item: dict[str, Any]) -> str:
    """``metadata.annotations.scope`` of a Palette object (``tenant`` when absent)."""
    annotations = (item.get("metadata") or {}).get("annotations") or {}
    scope = annotations.get("scope") if isinstance(annotations, dict) else None
    return scope if isinstance(scope, str) and scope else "tenant"


@router.get("/clusters")
async def list_clusters(request: Request, caller: CallerDep, instance: InstanceQuery = None) -> JSONResponse:
    """Route 4: every cluster the caller's Palette credential can see (``/v1/dashboard/spectroclusters/meta``
    per visible project, plus tenant scope), de-duplicated by uid. A failing project fails the call."""
    call = await open_call(request, caller, VIEW_CLUSTER_INFO)
    scopes = await visible_scopes(call, TENANT_CLUSTER_PERMISSIONS)

    async def meta(scope: str | None) -> list[dict[str, Any]]:
        items = [item.raw for item in await call.run("Clusters", call.client.clusters_meta(scope))]
        return items if scope is not None else [item for item in items if scope_of(item) == "tenant"]

    lists = await gather_bounded(scopes, meta)
    return call.json({"clusters": dedupe_by_uid(item for chunk in lists for item in chunk)})


def kubeconfig_response(text: str, filename: str) -> Response:
    if not text.strip():
        raise not_found("Kubeconfig")
    return Response(
        text,
        media_type="application/x-yaml; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )


@router.get("/clusters/{clusterUid:path}/kubeconfig")
async def cluster_kubeconfig(
    request: Request,
    caller: CallerDep,
    clusterUid: str,  # noqa: N803 (the contract's parameter name)
    instance: InstanceQuery = None,
    projectUid: ProjectQuery = None,  # noqa: N803
    frp: FrpQuery = None,
) -> Response:
    """Route 5: the user kubeconfig as YAML, as an attachment ``<clusterUid>-kubeconfig.yaml``."""
    call = await open_call(
        request, caller, DOWNLOAD_KUBECONFIG, params={"clusterUid": clusterUid}, sensitive=True
    )
    text = await call.run(
        "Kubeconfig", call.client.get_kubeconfig(clusterUid, call.project_uid, frp=frp != "false")
    )
    return kubeconfig_response(text, f"{clusterUid}-kubeconfig.yaml")


@router.get("/clusters/{clusterUid:path}/profiles")
async def cluster_profiles(
    request: Request,
    caller: CallerDep,
    clusterUid: str,  # noqa: N803
    instance: InstanceQuery = None,
    projectUid: ProjectQuery = None,  # noqa: N803
) -> JSONResponse:
    """Route 13: the profiles attached to a cluster, with pack schema and presets."""
    call = await open_call(request, caller, VIEW_PACK_VALUES, params={"clusterUid": clusterUid})
    profiles = await call.run(
        "Cluster",
        call.client.get_cluster_profiles(clusterUid, call.project_uid, include_pack_meta="schema,presets"),
    )
    return call.json(profiles.raw)


@router.get("/clusters/{clusterUid:path}/pack/manifests/{manifestUid:path}")
async def pack_manifest(
    request: Request,
    caller: CallerDep,
    clusterUid: str,  # noqa: N803
    manifestUid: str,  # noqa: N803
    instance: InstanceQuery = None,
    projectUid: ProjectQuery = None,  # noqa: N803
) -> JSONResponse:
    """Route 14: one pack manifest of a cluster (``v1Manifest``)."""
    call = await open_call(
        request, caller, VIEW_PACK_MANIFESTS, params={"clusterUid": clusterUid, "manifestUid": manifestUid}
    )
    manifest = await call.run(
        "Manifest", call.client.get_pack_manifest(clusterUid, manifestUid, call.project_uid)
    )
    return call.json(manifest.raw)


@router.get("/clusters/{clusterUid:path}")
async def get_cluster(
    request: Request,
    caller: CallerDep,
    clusterUid: str,  # noqa: N803
    instance: InstanceQuery = None,
    projectUid: ProjectQuery = None,  # noqa: N803
) -> JSONResponse:
    """Route 6: the live cluster summary (``v1SpectroClusterUidSummary``)."""
    call = await open_call(request, caller, VIEW_CLUSTER_INFO, params={"clusterUid": clusterUid})
    summary = await call.run("Cluster", call.client.get_cluster_summary(clusterUid, call.project_uid))
    return call.json(summary.raw)
