"""The SpectroCloud Backstage plugin's HTTP API (28 routes) under ``/api/spectrocloud``.

Literal routes are registered before parameterised ones (compat.md 3.4).
"""

from __future__ import annotations

from fastapi import APIRouter

from ingestor.api.plugin import accounts, clusters, create, groups, meta, profiles, projects, virtual
from ingestor.api.plugin.common import ERROR_RESPONSES

PREFIX = "/api/spectrocloud"


def plugin_router() -> APIRouter:
    router = APIRouter(prefix=PREFIX, responses=ERROR_RESPONSES)
    for module in (meta, projects, clusters, virtual, groups, profiles, accounts, create):
        router.include_router(module.router)
    return router
