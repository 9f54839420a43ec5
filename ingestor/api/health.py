"""Probes: ``/health`` (the process answers) and ``/ready`` (database reachable and a snapshot to serve).

Imports ``api`` and ``store.queries`` of ours.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ingestor.api.cache import CatalogCache
from ingestor.api.errors import error_response
from ingestor.store import queries
from ingestor.store.db import Database

router = APIRouter(tags=["health"])

PING_TIMEOUT_SECONDS = 5.0


@router.get("/health")
async def health() -> JSONResponse:
    """Liveness: 200 while the process serves requests (it reads no database)."""
    return JSONResponse({"status": "ok"})


@router.get("/ready")
async def ready(request: Request) -> JSONResponse:
    """Readiness: 200 when the database answers and at least one enabled instance has a snapshot to serve.

    ``snapshots`` tells which instances have one; those without answer 503 on their catalog URLs.
    """
    db: Database = request.app.state.db
    cache: CatalogCache = request.app.state.catalog
    try:
        await asyncio.wait_for(db.run(queries.ping), PING_TIMEOUT_SECONDS)
    except Exception:
        return error_response(503, "the database is not reachable", {"Retry-After": "10"}, database="down")
    views = await cache.views()
    snapshots = {name: bool(name in views and views[name].has_snapshot) for name in cache.instances}
    if not any(snapshots.values()):
        return error_response(
            503,
            "no snapshot yet: the first crawl has not completed",
            {"Retry-After": "10"},
            database="ok",
            snapshots=snapshots,
        )
    return JSONResponse({"status": "ready", "database": "ok", "snapshots": snapshots})
