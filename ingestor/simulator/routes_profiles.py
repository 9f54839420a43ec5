"""Cluster-profile and cluster-group routes (palette-api.md 4.1 to 4.5). The profile search answers
one item per family; ``/v1/clusterprofiles/{uid}/versions/{v}`` has no route on purpose (404).
Imports only ``ingestor.simulator``; never httpx.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ingestor.simulator import views_profiles as vp
from ingestor.simulator.dataset import JSON
from ingestor.simulator.errors import ApiError
from ingestor.simulator.index import tags_of
from ingestor.simulator.paging import page, page_request
from ingestor.simulator.routes_clusters import visibility_key
from ingestor.simulator.routes_common import (
    Ctx,
    answer,
    context,
    json_body,
    shareable_record,
    shareable_visible,
)
from ingestor.simulator.search import name_filter, sort_specs, version_filter

PROFILE_SORTS: dict[str, Callable[[JSON], str]] = {
    "profileName": lambda r: str(r["metadata"].get("name") or ""),
    "environment": lambda r: str(vp.template(r).get("cloudType") or ""),
    "profileType": lambda r: str(vp.template(r).get("type") or ""),
    "creationTimestamp": lambda r: str(r["metadata"].get("creationTimestamp") or ""),
    "lastModifiedTimestamp": lambda r: str(r["metadata"].get("lastModifiedTimestamp") or ""),
}
RESOURCE_TYPES = ("spectrocluster", "clustertemplate")


def _version_test(flt: dict[str, Any]) -> Callable[[JSON], bool]:
    """Per-version conditions: profileType, environment, version, tags, fips."""
    types = set(flt.get("profileType") or [])
    environments = set(flt.get("environment") or [])
    version_ok = version_filter(flt.get("version"), "filter.version")
    tags = flt.get("tags") or {}
    fold = tags.get("ignoreCase", True) is not False
    wanted = {k: [t.lower() if fold else t for t in tags.get(k) or []] for k in ("eq", "ne", "beginsWith")}
    fips = flt.get("fips")

    def test(record: JSON) -> bool:
        tmpl = vp.template(record)
        if types and tmpl.get("type") not in types:
            return False
        if environments and tmpl.get("cloudType") not in environments:
            return False
        if fips not in (None, "none") or not version_ok(str((record.get("spec") or {}).get("version") or "")):
            return False
        own = [t.lower() if fold else t for t in tags_of(record["metadata"].get("labels") or {})]
        if wanted["eq"] and not any(t in own for t in wanted["eq"]):
            return False
        if any(t in own for t in wanted["ne"]):
            return False
        return not wanted["beginsWith"] or any(o.startswith(b) for o in own for b in wanted["beginsWith"])

    return test


def matching_profiles(ctx: Ctx, body: dict[str, Any]) -> list[str]:
    """The newest matching version of each visible family, sorted (cached per revision)."""
    flt = body.get("filter") or {}
    if flt.get("resourceType") not in (None, *RESOURCE_TYPES):
        raise ApiError(422, "InvalidFilter", f"filter.resourceType: must be one of {list(RESOURCE_TYPES)}")
    name_ok = name_filter(flt.get("profileName"), "filter.profileName")
    specs = sort_specs(body, tuple(PROFILE_SORTS))
    key = ("profiles", visibility_key(ctx), json.dumps([flt, body.get("sort")], sort_keys=True, default=str))
    hit = ctx.ix.cached_search(key)
    if hit is not None:
        return hit
    test, scope = _version_test(flt), flt.get("scope")
    profiles = ctx.ds.collection("clusterProfiles")
    picked = []
    for (family_scope, _, name), members in ctx.ix.families.items():
        if (
            (scope and family_scope != scope)
            or not name_ok(name)
            or not shareable_visible(ctx, profiles[members[0]])
        ):
            continue
        candidates = [m for m in members if test(profiles[m])]
        if candidates:
            picked.append(candidates[-1])
    picked.sort(key=lambda u: (str(profiles[u]["metadata"].get("name") or ""), u))
    for field, descending in reversed(specs):
        picked.sort(key=lambda u, f=PROFILE_SORTS[field]: f(profiles[u]), reverse=descending)  # type: ignore[misc]
    ctx.ix.store_search(key, picked)
    return picked


async def search_profiles(request: Request) -> Response:
    """POST /v1/dashboard/clusterprofiles: paged ``v1ClusterProfilesSummary``."""
    ctx = context(request)
    body = await json_body(request, "v1ClusterProfilesFilterSpec")
    paging = page_request(request.query_params, maximum=50)
    chunk, listmeta = page(matching_profiles(ctx, body), paging)
    profiles = ctx.ds.collection("clusterProfiles")
    items = []
    for uid in chunk:
        view = ctx.ix.views.get(("profile-summary", uid))
        if view is None:
            view = ctx.ix.views[("profile-summary", uid)] = vp.profile_summary(ctx.ds, ctx.ix, profiles[uid])
        items.append(view)
    return answer({"items": items, "listmeta": listmeta})


async def profiles_metadata(request: Request) -> Response:
    """GET /v1/dashboard/clusterprofiles/metadata: one item per visible version, unpaged."""
    ctx = context(request)
    records = [r for r in ctx.ds.collection("clusterProfiles").values() if shareable_visible(ctx, r)]
    return answer({"items": [vp.profile_metadata(r) for r in records]})


def _profile(request: Request) -> tuple[Ctx, JSON]:
    ctx = context(request)
    resource_type = request.query_params.get("resourceType")
    if resource_type is not None and resource_type not in RESOURCE_TYPES:
        raise ApiError(422, "InvalidParameter", f"resourceType: must be one of {list(RESOURCE_TYPES)}")
    return ctx, shareable_record(ctx, "clusterProfiles", request.path_params["uid"], "cluster profile")


async def get_profile(request: Request) -> Response:
    """GET /v1/clusterprofiles/{uid}: ``v1ClusterProfile`` (any version's uid)."""
    ctx, record = _profile(request)
    return answer(vp.profile_get(ctx.ds, ctx.ix, record))


async def profile_packs(request: Request) -> Response:
    """GET /v1/clusterprofiles/{uid}/packs: ``{items}`` of pack entities."""
    _, record = _profile(request)
    return answer(vp.profile_packs(record))


async def profile_variables(request: Request) -> Response:
    """GET /v1/clusterprofiles/{uid}/variables: ``{variables}``."""
    _, record = _profile(request)
    return answer(vp.profile_variables(record))


def _groups(ctx: Ctx) -> list[JSON]:
    return [g for g in ctx.ds.collection("clusterGroups").values() if shareable_visible(ctx, g)]


async def group_summaries(request: Request) -> Response:
    """GET /v1/clustergroups/hostCluster: ``{summaries}`` (not ``items``), unpaged."""
    ctx = context(request)
    return answer({"summaries": [vp.group_summary(ctx.ds, ctx.ix, g) for g in _groups(ctx)]})


async def group_metadata(request: Request) -> Response:
    """GET /v1/clustergroups/hostCluster/metadata: ``{items: [{uid, name, scope}]}``."""
    ctx = context(request)
    return answer({"items": [vp.group_metadata(g) for g in _groups(ctx)]})


async def get_group(request: Request) -> Response:
    """GET /v1/clustergroups/{uid}: ``v1ClusterGroup``."""
    ctx = context(request)
    return answer(
        vp.group_get(
            ctx.ds, shareable_record(ctx, "clusterGroups", request.path_params["uid"], "cluster group")
        )
    )


def routes() -> list[Route]:
    return [
        Route("/v1/dashboard/clusterprofiles", search_profiles, methods=["POST"]),
        Route("/v1/dashboard/clusterprofiles/metadata", profiles_metadata, methods=["GET"]),
        Route("/v1/clusterprofiles/{uid:uid}", get_profile, methods=["GET"]),
        Route("/v1/clusterprofiles/{uid:uid}/packs", profile_packs, methods=["GET"]),
        Route("/v1/clusterprofiles/{uid:uid}/variables", profile_variables, methods=["GET"]),
        Route("/v1/clustergroups/hostCluster", group_summaries, methods=["GET"]),
        Route("/v1/clustergroups/hostCluster/metadata", group_metadata, methods=["GET"]),
        Route("/v1/clustergroups/{uid:uid}", get_group, methods=["GET"]),
    ]
