"""Catalog routes for a Backstage ``url`` location: entities as multi-document YAML or JSON; location.yaml.

Bodies come from ``api.cache`` (built once per snapshot); strong ETags, 304 on ``If-None-Match``, gzip.
Before an instance's first snapshot its URLs answer 503 + ``Retry-After``, never an empty list: Backstage
deletes what a location stops emitting, but a failed read orphans nothing (backstage.md 2.8).
Imports ``api`` and ``catalog.render`` only.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request, Response

from ingestor.api.cache import Body, CatalogCache, Filters, Format, etag_of
from ingestor.catalog.render import render_yaml

router = APIRouter(tags=["catalog"])

LOCATION_NAME = "spectrocloud-ingestor"
CACHE_CONTROL = "no-cache"


def _split(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(part.strip() for value in values for part in value.split(",") if part.strip())


def catalog_filters(
    request: Request,
    instance: Annotated[list[str] | None, Query(description="instance name(s); default: all")] = None,
    project: Annotated[list[str] | None, Query(description="Palette project uid(s) or name(s)")] = None,
    kind: Annotated[list[str] | None, Query(description="Backstage kind, Palette kind or spec.type")] = None,
) -> Filters:
    """The filters of a catalog URL; repeat a parameter or separate instances and kinds with commas."""
    cache: CatalogCache = request.app.state.catalog
    # ``?instance=`` (empty) names the unnamed instance of a single-environment configuration.
    names = [""] if instance and not _split(instance) else _split(instance or ())
    projects = tuple(sorted({p.strip() for p in project or () if p.strip()}))
    kinds = tuple(sorted({k.lower() for k in _split(kind or ())}))
    return Filters(cache.resolve(names), projects, kinds)


CatalogFilters = Annotated[Filters, Depends(catalog_filters)]


def accepts_gzip(header: str | None) -> bool:
    """Whether ``Accept-Encoding`` allows gzip (``gzip`` or ``*`` with a non-zero q-value)."""
    if not header:
        return False
    quality: dict[str, float] = {}
    for item in header.split(","):
        coding, _, params = item.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        quality[coding.strip().lower()] = q
    q = quality.get("gzip", quality.get("x-gzip", quality.get("*", 0.0)))
    return q > 0


def matches(if_none_match: str | None, etags: Iterable[str]) -> bool:
    """``If-None-Match`` (a list, ``*`` or weak ``W/`` tags) names one of ``etags`` (weak comparison)."""
    if not if_none_match:
        return False
    wanted = set(etags)
    for tag in if_none_match.split(","):
        tag = tag.strip()
        if tag == "*":
            return True
        if tag.startswith(("W/", "w/")):
            tag = tag[2:]
        if tag in wanted:
            return True
    return False


def conditional(request: Request, body: Body) -> Response:
    """The body, its gzip variant or a 304, chosen by the request's headers."""
    gzipped = accepts_gzip(request.headers.get("accept-encoding"))
    etag = body.gzip_etag if gzipped else body.etag
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL, "Vary": "Accept-Encoding"}
    # Either variant's tag proves the client holds the current snapshot.
    if matches(request.headers.get("if-none-match"), (body.etag, body.gzip_etag)):
        return Response(status_code=304, headers=headers)
    if gzipped:
        headers["Content-Encoding"] = "gzip"
    return Response(body.gzipped if gzipped else body.data, media_type=body.media_type, headers=headers)


async def _serve(request: Request, filters: Filters, fmt: Format) -> Response:
    cache: CatalogCache = request.app.state.catalog
    return conditional(request, await cache.body(filters, fmt))


@router.get("/catalog/entities.yaml", response_class=Response)
@router.head("/catalog/entities.yaml", response_class=Response, include_in_schema=False)
async def entities_yaml(request: Request, filters: CatalogFilters) -> Response:
    """Every entity as multi-document YAML (``---`` before each entity), for a Backstage ``url`` location.

    Filters (repeat a parameter or separate values with commas): ``instance`` (the configured name),
    ``project`` (Palette project uid or name), ``kind`` (``System``/``Resource``, a Palette kind such as
    ``cluster``, or a ``spec.type``). Answers 503 with ``Retry-After`` until every selected instance has
    completed its first crawl (without ``instance``: every enabled instance, as serving a subset would make
    Backstage delete the missing instances' entities), and 304 when ``If-None-Match`` holds the current ETag.
    Register ``/catalog/location.yaml`` instead to keep instances independent.
    """
    return await _serve(request, filters, "yaml")


@router.get("/catalog/entities.json", response_class=Response)
@router.head("/catalog/entities.json", response_class=Response, include_in_schema=False)
async def entities_json(request: Request, filters: CatalogFilters) -> Response:
    """The same entities as ``{"items": [...]}``, with the same filters, ETags and 503 rule."""
    return await _serve(request, filters, "json")


def location_entity(base_url: str, instances: Iterable[str]) -> dict[str, object]:
    """A Backstage Location targeting each instance's entity URL (a failing instance blocks no other)."""
    base = base_url.rstrip("/")
    targets = [
        f"{base}/catalog/entities.yaml?instance={quote(name, safe='')}"
        if name
        else f"{base}/catalog/entities.yaml"
        for name in sorted(instances)
    ]
    return {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Location",
        "metadata": {
            "name": LOCATION_NAME,
            "description": "SpectroCloud Palette entities, one target per Palette instance",
        },
        "spec": {"type": "url", "targets": targets},
    }


@router.get("/catalog/location.yaml", response_class=Response)
@router.head("/catalog/location.yaml", response_class=Response, include_in_schema=False)
async def location_yaml(request: Request) -> Response:
    """A Backstage ``Location`` entity pointing at ``/catalog/entities.yaml?instance=<name>`` per instance.

    Register this one URL in Backstage: each instance is then read (and may fail) on its own. The base URL is
    ``server.baseUrl`` when set, else the URL this request came in on.
    """
    cache: CatalogCache = request.app.state.catalog
    base = request.app.state.settings.server.base_url or str(request.base_url)
    data = render_yaml([location_entity(base, cache.instances)])
    headers = {"ETag": etag_of(data), "Cache-Control": CACHE_CONTROL}
    if matches(request.headers.get("if-none-match"), (headers["ETag"],)):
        return Response(status_code=304, headers=headers)
    return Response(data, media_type="application/yaml", headers=headers)
