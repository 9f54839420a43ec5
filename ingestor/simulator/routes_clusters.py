"""Cluster routes: dashboard search, meta and metadata lists, summaries, the full object, kubeconfig
downloads, attached profiles and pack manifests (palette-api.md section 3).

Imports only ``ingestor.simulator``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ingestor.simulator import views
from ingestor.simulator.dataset import JSON
from ingestor.simulator.errors import ApiError
from ingestor.simulator.index import ClusterRow
from ingestor.simulator.paging import PageRequest, page, page_request
from ingestor.simulator.routes_common import (
    Ctx,
    answer,
    cluster_listed,
    cluster_record,
    context,
    json_body,
    query_flag,
    shareable_record,
)
from ingestor.simulator.search import (
    CLUSTER_BOOLS,
    CLUSTER_DATES,
    CLUSTER_SORTS,
    CLUSTER_STRINGS,
    cluster_predicate,
    sort_rows,
    sort_specs,
)
from ingestor.simulator.texts import kubeconfig_yaml

SEARCH_BODY = "v1SearchFilterSummarySpec"
Renderer = Callable[[Ctx, JSON], JSON]
KUBECONFIG_FLAGS = {
    "kubeconfig": "hasKubeConfig",
    "kubeconfigclient": "hasKubeConfigClient",
    "adminKubeconfig": "hasKubeConfig",
    "frpKubeconfig": "hasKubeConfig",
}


def encoded(ctx: Ctx, kind: str, uid: str, render: Renderer) -> bytes:
    """One cluster's view as JSON bytes, cached for the current dataset revision (bytes, not dicts:
    a walk over 10,000 clusters must not keep 10,000 nested dicts alive). A page joins cached items."""
    key = (kind, uid)
    hit: bytes | None = ctx.ix.views.get(key)
    if hit is None:
        view = render(ctx, ctx.ds.collection("clusters")[uid])
        hit = json.dumps(view, ensure_ascii=False, separators=(",", ":")).encode()
        ctx.ix.views[key] = hit
    return hit


def page_answer(items: list[bytes], listmeta: dict[str, Any]) -> Response:
    """``{"items": [...], "listmeta": {...}}`` from pre-encoded items."""
    meta = json.dumps(listmeta, separators=(",", ":")).encode()
    return Response(
        b'{"items":[' + b",".join(items) + b'],"listmeta":' + meta + b"}", media_type="application/json"
    )


def summary_of(ctx: Ctx, record: JSON) -> JSON:
    return views.cluster_summary(ctx.ds, ctx.ix, record)


def visibility_key(ctx: Ctx) -> tuple[Any, ...]:
    projects = () if ctx.caller.admin else tuple(sorted(ctx.caller.projects))
    return (ctx.project, ctx.caller.admin, ctx.caller.tenant_access, projects)


def matching(
    ctx: Ctx, body: dict[str, Any], base: str, candidates: list[str], keep: Callable[[ClusterRow], bool]
) -> list[str]:
    """Uids of ``candidates`` passing ``keep`` and the body's filter, in the body's sort order (cached)."""
    predicate = cluster_predicate(body)  # compiles (and rejects bad filters) even on a cache hit
    specs = sort_specs(body, tuple(CLUSTER_SORTS))
    canonical = json.dumps([body.get("filter"), body.get("sort")], sort_keys=True, default=str)
    key = (base, visibility_key(ctx), canonical)
    hit = ctx.ix.cached_search(key)
    if hit is None:
        rows = ctx.ix.rows
        hit = sort_rows([u for u in candidates if keep(rows[u]) and predicate(rows[u])], rows, specs)
        ctx.ix.store_search(key, hit)
    return hit


async def search(request: Request) -> Response:
    """POST /v1/dashboard/spectroclusters/search: paged ``v1SpectroClustersSummary``."""
    ctx = context(request)
    body = await json_body(request, SEARCH_BODY)
    paging = page_request(request.query_params, maximum=50)
    uids = matching(ctx, body, "search", ctx.ix.cluster_order, lambda row: cluster_listed(ctx, row))
    chunk, listmeta = page(uids, paging)
    return page_answer([encoded(ctx, "summary", u, summary_of) for u in chunk], listmeta)


def member_search(kind: str) -> Callable[[Request], Any]:
    async def endpoint(request: Request) -> Response:
        """POST /v1/dashboard/clustergroups/{uid}/hostClusters|virtualClusters: paged summaries."""
        ctx = context(request)
        uid = request.path_params["uid"]
        shareable_record(ctx, "clusterGroups", uid, "cluster group")
        body = await json_body(request, SEARCH_BODY)
        paging = page_request(request.query_params)
        members = ctx.ix.hosts_by_group.get(uid, []) if kind == "host" else ctx.ix.vcs_by_group.get(uid, [])
        wanted = set(members)
        ordered = [u for u in ctx.ix.cluster_order if u in wanted]
        # hosts are listed whoever owns them; virtual clusters only where the caller lists clusters
        keep = (lambda row: True) if kind == "host" else (lambda row: cluster_listed(ctx, row))
        uids = matching(ctx, body, f"{kind}:{uid}", ordered, keep)
        chunk, listmeta = page(uids, paging)
        return page_answer([encoded(ctx, "summary", u, summary_of) for u in chunk], listmeta)

    return endpoint


def listed(ctx: Ctx) -> list[str]:
    return [u for u in ctx.ix.cluster_order if cluster_listed(ctx, ctx.ix.rows[u])]


async def meta(request: Request) -> Response:
    """GET /v1/dashboard/spectroclusters/meta: a bare JSON array, unpaged, virtual clusters included."""
    ctx = context(request)
    key = ("meta-list", repr(visibility_key(ctx)))
    body: bytes | None = ctx.ix.views.get(key)
    if body is None:
        records = ctx.ds.collection("clusters")
        items = [views.cluster_meta(ctx.ds, ctx.ix, records[u]) for u in listed(ctx)]
        body = json.dumps(items, ensure_ascii=False, separators=(",", ":")).encode()
        ctx.ix.views[key] = body
    return Response(body, media_type="application/json")


async def metadata(request: Request) -> Response:
    """GET /v1/dashboard/spectroclusters/metadata?quickFilter=hostclusters|strictHostclusters."""
    ctx = context(request)
    quick = request.query_params.get("quickFilter") or ""
    tests: dict[str, Callable[[ClusterRow], bool]] = {
        "": lambda r: True,
        "hostclusters": lambda r: r.env != "nested",
        "strictHostclusters": lambda r: r.is_host,
    }
    if quick not in tests:
        raise ApiError(
            422, "InvalidParameter", "quickFilter: must be one of hostclusters, strictHostclusters"
        )
    rows = ctx.ix.rows
    uids = [u for u in listed(ctx) if not rows[u].deleted and tests[quick](rows[u])]
    items = [views.meta_view(ctx.ds, ctx.ds.collection("clusters")[u]) for u in uids]
    return answer({"items": items})


async def metadata_search(request: Request) -> Response:
    """POST /v1/dashboard/spectroclusters/metadata/search: everything that matches unless paged."""
    ctx = context(request)
    body = await json_body(request, SEARCH_BODY)
    uids = matching(ctx, body, "metadata", ctx.ix.cluster_order, lambda row: cluster_listed(ctx, row))
    query = request.query_params
    paging = page_request(query, all_on_zero=True)
    if "limit" not in query and "continue" not in query:
        paging = PageRequest(paging.offset, 0)
    chunk, listmeta = page(uids, paging)
    items = [
        encoded(ctx, "metasummary", u, lambda c, r: views.cluster_meta_summary(c.ds, c.ix, r)) for u in chunk
    ]
    return page_answer(items, listmeta)


def search_properties() -> list[JSON]:
    props = [(name, "string") for name in CLUSTER_STRINGS] + [(n, "bool") for n in CLUSTER_BOOLS]
    props += [(name, "date") for name in CLUSTER_DATES] + [("tags", "keyValue")]
    return [
        {
            "name": name,
            "displayName": name[0].upper() + name[1:],
            "type": kind,
            "isDeprecated": False,
            "hideDisplay": False,
        }
        for name, kind in props
    ]


async def search_schema(request: Request) -> Response:
    """GET /v1/dashboard/spectroclusters/search/schema: the properties the search understands."""
    context(request)
    return answer({"schema": {"properties": search_properties()}})


async def search_input(request: Request) -> Response:
    """GET /v1/dashboard/spectroclusters/search/input: values seen per property in this scope."""
    ctx = context(request)
    values: dict[str, list[str]] = {
        "environment": [],
        "clusterState": [],
        "healthState": [],
        "tags": [],
        "architecture": [],
    }
    for uid in listed(ctx):
        row = ctx.ix.rows[uid]
        for prop, seen in (
            ("environment", (row.env,)),
            ("clusterState", (row.state,)),
            ("healthState", (row.health,)),
            ("tags", row.tags),
            ("architecture", row.arch),
        ):
            values[prop].extend(v for v in seen if v)
    inputs = {p: {"values": [{"uid": v, "name": v} for v in sorted(set(vs))]} for p, vs in values.items()}
    return answer({"inputs": inputs})


async def uid_summary(request: Request) -> Response:
    """GET /v1/dashboard/spectroclusters/{uid}: ``v1SpectroClusterUidSummary`` (with ``kubeMeta``)."""
    ctx = context(request)
    record = cluster_record(ctx, request.path_params["uid"])
    return answer(views.cluster_uid_summary(ctx.ds, ctx.ix, record))


async def get_cluster(request: Request) -> Response:
    """GET /v1/spectroclusters/{uid}: ``v1SpectroCluster``."""
    ctx = context(request)
    record = cluster_record(ctx, request.path_params["uid"])
    return answer(views.cluster_get(ctx.ds, ctx.ix, record))


async def kubeconfig(request: Request) -> Response:
    """GET /v1/spectroclusters/{uid}/assets/<variant>: raw YAML as an octet stream, or 404."""
    ctx = context(request)
    record = cluster_record(ctx, request.path_params["uid"])
    variant = request.url.path.rsplit("/", 1)[-1]
    kube_meta = (record.get("status") or {}).get("kubeMeta") or {}
    if not kube_meta.get(KUBECONFIG_FLAGS[variant]):
        raise ApiError(
            404, "ResourceNotFound", f"{variant} not found for cluster '{record['metadata']['uid']}'"
        )
    if variant == "kubeconfig" and not query_flag(request, "frp", True):
        variant = "directKubeconfig"
    name = record["metadata"]["name"]
    headers = {"Content-Disposition": f"attachment; filename={name}.kubeconfig"}
    return Response(kubeconfig_yaml(record, variant), media_type="application/octet-stream", headers=headers)


async def cluster_profiles(request: Request) -> Response:
    """GET /v1/spectroclusters/{uid}/profiles: ``{profiles}``."""
    ctx = context(request)
    record = cluster_record(ctx, request.path_params["uid"])
    return answer(views.cluster_profiles(ctx.ds, record))


async def pack_manifest(request: Request) -> Response:
    """GET /v1/spectroclusters/{uid}/pack/manifests/{manifestUid}: ``v1Manifest``."""
    ctx = context(request)
    record = cluster_record(ctx, request.path_params["uid"])
    manifest_uid = request.path_params["manifestUid"]
    ref = views.find_manifest(record, manifest_uid)
    if ref is None:
        raise ApiError(404, "ResourceNotFound", f"manifest '{manifest_uid}' not found")
    return answer(views.manifest_view(ctx.ds, ref))


def routes() -> list[Route]:
    base = "/v1/dashboard/spectroclusters"
    assets = [
        Route(f"/v1/spectroclusters/{{uid:uid}}/assets/{variant}", kubeconfig, methods=["GET"])
        for variant in KUBECONFIG_FLAGS
    ]
    return [
        Route(f"{base}/search", search, methods=["POST"]),
        Route(f"{base}/search/schema", search_schema, methods=["GET"]),
        Route(f"{base}/search/input", search_input, methods=["GET"]),
        Route(f"{base}/meta", meta, methods=["GET"]),
        Route(f"{base}/metadata", metadata, methods=["GET"]),
        Route(f"{base}/metadata/search", metadata_search, methods=["POST"]),
        Route(f"{base}/{{uid:uid}}", uid_summary, methods=["GET"]),
        Route("/v1/dashboard/clustergroups/{uid:uid}/hostClusters", member_search("host"), methods=["POST"]),
        Route(
            "/v1/dashboard/clustergroups/{uid:uid}/virtualClusters",
            member_search("virtual"),
            methods=["POST"],
        ),
        *assets,
        Route("/v1/spectroclusters/{uid:uid}/profiles", cluster_profiles, methods=["GET"]),
        Route("/v1/spectroclusters/{uid:uid}/pack/manifests/{manifestUid}", pack_manifest, methods=["GET"]),
        Route("/v1/spectroclusters/{uid:uid}", get_cluster, methods=["GET"]),
    ]
