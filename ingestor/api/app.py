"""The FastAPI application factory: ``create_app(settings, db, scheduler)``; nothing is built at import time.

The app's lifespan starts and stops the scheduler, so crawls run on uvicorn's event loop.
Imports ``api``, ``config``, ``scheduler`` and ``store`` of ours.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from ingestor import __version__
from ingestor.api import catalog, health, status
from ingestor.api.auth import Authenticator
from ingestor.api.cache import CatalogCache
from ingestor.api.errors import install_error_handlers
from ingestor.config import Settings
from ingestor.scheduler import CrawlScheduler
from ingestor.store.db import Database
from ingestor.store.writer import CommitResult

log = structlog.get_logger(__name__)


def create_app(settings: Settings, db: Database, scheduler: CrawlScheduler) -> FastAPI:
    """The HTTP service over one store and one scheduler (started and stopped with the app)."""
    cache = CatalogCache(db, scheduler.instances)

    def crawled(instance: str, result: CommitResult) -> None:
        cache.invalidate()

    scheduler.add_listener(crawled)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await scheduler.start()
        try:
            yield
        finally:
            await scheduler.stop()
            log.info("api.stopped")

    app = FastAPI(
        title="spectrocloud-ingestor",
        version=__version__,
        description="SpectroCloud Palette as a Backstage catalog source.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.db = db
    app.state.scheduler = scheduler
    app.state.catalog = cache
    app.state.authenticator = Authenticator(settings.auth)
    install_error_handlers(app)
    origins = list(settings.server.cors.allowed_origins)
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "HEAD", "POST"],
            allow_headers=["Authorization", "If-None-Match"],
            expose_headers=["ETag", "Retry-After"],
        )
    for module in (catalog, status, health):
        app.include_router(module.router)
    return app
