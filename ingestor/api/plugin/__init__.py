"""The SpectroCloud Backstage plugin's HTTP API (28 routes) under ``/api/spectrocloud``.

Literal routes are registered before parameterised ones (compat.md 3.4).
"""

from __future__ import annotations

from fastapi import APIRouter

from ingestor.api.plugin import clusters, meta

PREFIX = "/api/spectrocloud"


def plugin_router() -> APIRouter:
    router = APIRouter(prefix=PREFIX)
    for module in (meta, clusters):
        router.include_router(module.router)
    return router
