"""Cloud accounts, vSphere inventory and private cloud gateways (palette-api.md 4.6 to 4.8).

Secrets in accounts are always masked. Account lists take ``filters``/``orderBy`` on dotted field
paths (``metadata.name=x``, ``metadata.name=-1``). Imports only ``ingestor.simulator``.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ingestor.simulator import views_misc as vm
from ingestor.simulator.dataset import JSON
from ingestor.simulator.errors import ApiError
from ingestor.simulator.paging import page, page_request
from ingestor.simulator.routes_common import Ctx, answer, context, shareable_record, shareable_visible

ACCOUNT_LISTS = {"aws": "v1AwsAccounts", "azure": "v1AzureAccounts", "vsphere": "v1VsphereAccounts"}


def _field(record: Any, path: str) -> str:
    for part in path.split("."):
        record = record.get(part) if isinstance(record, dict) else None
    return "" if record is None else str(record)


def _filtered(records: list[JSON], query: Any) -> list[JSON]:
    """Apply ``filters=path=value AND ...`` and ``orderBy=path=1|-1`` to GET-shaped records."""
    for clause in filter(None, (c.strip() for c in (query.get("filters") or "").split("AND"))):
        path, _, value = clause.partition("=")
        records = [r for r in records if _field(r, path.strip()) == value.strip()]
    order = query.get("orderBy")
    if order:
        path, _, direction = order.partition("=")
        records = sorted(records, key=lambda r: _field(r, path.strip()), reverse=direction.strip() == "-1")
    return records


def _accounts(ctx: Ctx, cloud: str | None) -> list[tuple[str, JSON]]:
    types = ctx.ds.cloud_account_types
    return [
        (types[uid], record)
        for uid, record in ctx.ds.collection("cloudAccounts").items()
        if (cloud is None or types.get(uid) == cloud) and shareable_visible(ctx, record)
    ]


def list_accounts(cloud: str) -> Any:
    async def endpoint(request: Request) -> Response:
        """GET /v1/cloudaccounts/{aws|azure|vsphere}: paged, secrets masked; ``limit=0`` = all."""
        ctx = context(request)
        paging = page_request(request.query_params, all_on_zero=True)
        records = _filtered([r for _, r in _accounts(ctx, cloud)], request.query_params)
        chunk, listmeta = page(records, paging)
        return answer({"items": [vm.account_view(ctx.ds, cloud, r) for r in chunk], "listmeta": listmeta})

    return endpoint


def _account(ctx: Ctx, cloud: str, uid: str) -> JSON:
    record = shareable_record(ctx, "cloudAccounts", uid, "cloud account")
    if ctx.ds.cloud_account_types.get(uid) != cloud:
        raise ApiError(404, "ResourceNotFound", f"cloud account '{uid}' not found")
    return record


def get_account(cloud: str) -> Any:
    async def endpoint(request: Request) -> Response:
        """GET /v1/cloudaccounts/{type}/{uid}: one account, secrets masked."""
        ctx = context(request)
        return answer(vm.account_view(ctx.ds, cloud, _account(ctx, cloud, request.path_params["uid"])))

    return endpoint


async def accounts_summary(request: Request) -> Response:
    """GET /v1/cloudaccounts/summary: every cloud type, paged."""
    ctx = context(request)
    paging = page_request(request.query_params, all_on_zero=True)
    pairs = _accounts(ctx, None)
    chunk, listmeta = page(pairs, paging)
    return answer({"items": [vm.account_summary(ctx.ds, c, r) for c, r in chunk], "listmeta": listmeta})


def _inventory(ctx: Ctx, account_uid: str) -> list[JSON]:
    return ctx.ds.vsphere_inventory.get(account_uid, [])


def _overlord_account(ctx: Ctx, overlord_uid: str) -> str:
    record = ctx.ds.get("overlords", overlord_uid)
    if record is None:
        raise ApiError(404, "ResourceNotFound", f"overlord '{overlord_uid}' not found")
    return str((record.get("spec") or {}).get("cloudAccountUid") or "")


def _datacenters(inventory: list[JSON]) -> JSON:
    items = []
    for dc in inventory:
        names = list(dict.fromkeys(str(c.get("name") or "") for c in dc.get("computeclusters") or []))
        items.append(
            {
                "datacenter": str(dc.get("datacenter") or ""),
                "computeclusters": names,
                "folders": list(dict.fromkeys(dc.get("folders") or [])),
            }
        )
    return {"items": items}


def _resources(inventory: list[JSON], datacenter: str, computecluster: str) -> JSON:
    for dc in inventory:
        if dc.get("datacenter") != datacenter:
            continue
        for cluster in dc.get("computeclusters") or []:
            if cluster.get("name") == computecluster:
                lists = {
                    k: list(dict.fromkeys(cluster.get(k) or []))
                    for k in ("datastores", "networks", "resourcePools")
                }
                return {"datacenter": datacenter, "computecluster": {"name": computecluster, **lists}}
    raise ApiError(404, "ResourceNotFound", f"compute cluster '{computecluster}' not found in '{datacenter}'")


def _required(request: Request, *names: str) -> list[str]:
    values = [request.query_params.get(n) or "" for n in names]
    missing = [n for n, v in zip(names, values, strict=True) if not v]
    if missing:
        raise ApiError(422, "InvalidParameter", f"missing required query parameter(s): {', '.join(missing)}")
    return values


async def account_datacenters(request: Request) -> Response:
    """GET /v1/cloudaccounts/vsphere/{uid}/properties/datacenters."""
    ctx = context(request)
    account = _account(ctx, "vsphere", request.path_params["uid"])
    return answer(_datacenters(_inventory(ctx, account["metadata"]["uid"])))


async def account_resources(request: Request) -> Response:
    """GET /v1/cloudaccounts/vsphere/{uid}/properties/computecluster/resources?datacenter=&computecluster=."""
    ctx = context(request)
    account = _account(ctx, "vsphere", request.path_params["uid"])
    datacenter, computecluster = _required(request, "datacenter", "computecluster")
    return answer(_resources(_inventory(ctx, account["metadata"]["uid"]), datacenter, computecluster))


async def overlord_datacenters(request: Request) -> Response:
    """GET /v1/overlords/vsphere/{uid}/properties/datacenters (the gateway's own account)."""
    ctx = context(request)
    return answer(_datacenters(_inventory(ctx, _overlord_account(ctx, request.path_params["uid"]))))


async def overlord_resources(request: Request) -> Response:
    """GET /v1/overlords/vsphere/{uid}/properties/computecluster/resources."""
    ctx = context(request)
    account = _overlord_account(ctx, request.path_params["uid"])
    datacenter, computecluster = _required(request, "datacenter", "computecluster")
    return answer(_resources(_inventory(ctx, account), datacenter, computecluster))


async def cloud_resources(request: Request) -> Response:
    """GET /v1/clouds/vsphere/datacenters/{uid}/computeclusters/{computecluster}?cloudAccountUid= ({uid}: the
    datacenter name)."""
    ctx = context(request)
    (account_uid,) = _required(request, "cloudAccountUid")
    account = _account(ctx, "vsphere", account_uid)
    params = request.path_params
    return answer(
        _resources(_inventory(ctx, account["metadata"]["uid"]), params["uid"], params["computecluster"])
    )


async def list_overlords(request: Request) -> Response:
    """GET /v1/overlords?name=: ``{items}``, unpaged (gateways are tenant objects, seen from every scope)."""
    ctx = context(request)
    wanted = request.query_params.get("name")
    records = [
        r
        for r in ctx.ds.collection("overlords").values()
        if not wanted or r["metadata"].get("name") == wanted
    ]
    return answer({"items": [vm.overlord_view(ctx.ds, r) for r in records]})


async def get_overlord(request: Request) -> Response:
    """GET /v1/overlords/{uid}: ``v1Overlord``."""
    ctx = context(request)
    uid = request.path_params["uid"]
    _overlord_account(ctx, uid)
    return answer(vm.overlord_view(ctx.ds, ctx.ds.collection("overlords")[uid]))


async def overlord_pools(request: Request) -> Response:
    """GET /v1/overlords/vsphere/{uid}/pools: ``v1IpPools``."""
    ctx = context(request)
    uid = request.path_params["uid"]
    _overlord_account(ctx, uid)
    return answer({"items": vm.pools_of(ctx.ds, uid)})


def routes() -> list[Route]:
    out = [Route("/v1/cloudaccounts/summary", accounts_summary, methods=["GET"])]
    for cloud in ACCOUNT_LISTS:
        out.append(Route(f"/v1/cloudaccounts/{cloud}", list_accounts(cloud), methods=["GET"]))
        out.append(Route(f"/v1/cloudaccounts/{cloud}/{{uid:uid}}", get_account(cloud), methods=["GET"]))
    vsphere = "/v1/cloudaccounts/vsphere/{uid:uid}/properties"
    return [
        *out,
        Route(f"{vsphere}/datacenters", account_datacenters, methods=["GET"]),
        Route(f"{vsphere}/computecluster/resources", account_resources, methods=["GET"]),
        Route(
            "/v1/overlords/vsphere/{uid:uid}/properties/datacenters", overlord_datacenters, methods=["GET"]
        ),
        Route(
            "/v1/overlords/vsphere/{uid:uid}/properties/computecluster/resources",
            overlord_resources,
            methods=["GET"],
        ),
        Route(
            "/v1/clouds/vsphere/datacenters/{uid}/computeclusters/{computecluster}",
            cloud_resources,
            methods=["GET"],
        ),
        Route("/v1/overlords", list_overlords, methods=["GET"]),
        Route("/v1/overlords/vsphere/{uid:uid}/pools", overlord_pools, methods=["GET"]),
        Route("/v1/overlords/{uid:uid}", get_overlord, methods=["GET"]),
    ]
