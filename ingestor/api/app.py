"""The FastAPI application factory: ``create_app(settings, db, scheduler)``; nothing is built at import time.

The app's lifespan starts and stops the scheduler, so crawls run on uvicorn's event loop.
Imports ``api``, ``config``, ``scheduler`` and ``store`` of ours.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from secrets import token_urlsafe as random_key

import structlog
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.routing import Route

from ingestor import __version__
from ingestor.access.clients import PaletteClients
from ingestor.access.credentials import SessionLookup
from ingestor.api import catalog, health, metrics, status
from ingestor.api.auth import CallerIdentifier
from ingestor.api.bodylimit import BodyLimitMiddleware
from ingestor.api.cache import CatalogCache
from ingestor.api.errors import ApiError, install_error_handlers
from ingestor.api.plugin import plugin_router
from ingestor.api.plugin.context import PluginServices
from ingestor.api.plugin.middleware import ReauthHeaderMiddleware
from ingestor.api.requestid import HEADER as REQUEST_ID_HEADER
from ingestor.api.requestid import RequestIdMiddleware
from ingestor.api.session_repo import SqlSessionRepository
from ingestor.api.signin import PaletteSignIn, signin_router
from ingestor.auth import verifier_from_settings
from ingestor.auth.gate import PermissionGate, gate_from_settings
from ingestor.auth.identity import IdentityVerifier, Principal
from ingestor.auth.sessions import SessionCipher, SessionVault, utcnow, vault_from_settings
from ingestor.config import Settings
from ingestor.console.app import STATIC_PATH, ConsoleDeps, console_router
from ingestor.console.app import static_files as console_static
from ingestor.console.app import templates as console_templates
from ingestor.mcp.context import McpDeps
from ingestor.mcp.http import McpService, Refusal
from ingestor.palette.client import Transport
from ingestor.palette.oidc import OidcHttp
from ingestor.scheduler import CrawlScheduler
from ingestor.store import signin_flows
from ingestor.store.db import Database
from ingestor.store.writer import CommitResult

log = structlog.get_logger(__name__)


SESSION_PURGE_SECONDS = 900.0


async def _purge_sessions(vault: SessionVault, db: Database) -> None:
    """Delete expired Palette sessions and sign-in flows every quarter hour (reads expire them lazily too)."""
    while True:
        await asyncio.sleep(SESSION_PURGE_SECONDS)
        try:
            purged = await vault.purge_expired()
            flows = await db.run(signin_flows.purge_flows, utcnow())
        except Exception as exc:  # the store may be briefly unreachable; try again next time
            log.warning("sessions.purge_failed", error_class=type(exc).__name__)
            continue
        if purged or flows:
            log.info("sessions.purged", count=purged, signin_flows=flows)


PLUGIN_HEADERS = ["X-SpectroCloud-Token", "X-SpectroCloud-User-Email", "Content-Type"]


def create_app(
    settings: Settings,
    db: Database,
    scheduler: CrawlScheduler,
    *,
    verifier: IdentityVerifier | None = None,
    gate: PermissionGate | None = None,
    sessions: SessionLookup | None = None,
    palette_transport: Transport | None = None,
    oidc_http: OidcHttp | None = None,
) -> FastAPI:
    """The HTTP service over one store and one scheduler (started and stopped with the app).

    ``verifier``, ``gate``, ``sessions``, ``palette_transport`` and ``oidc_http`` replace the ones built
    from ``settings`` (tests inject a local JWKS, a Backstage stand-in, or a recording transport).
    Sign-in with Palette is served when an instance has ``oidc`` settings and sessions are a ``SessionVault``.
    """
    cache = CatalogCache(db, scheduler.instances)
    observed = metrics.ServiceMetrics(scheduler, db)
    scheduler.add_observer(observed)
    clients = PaletteClients(settings, transport=palette_transport, observer=observed.palette_call)
    vault = vault_from_settings(settings.auth, SqlSessionRepository(db)) if sessions is None else None

    def crawled(instance: str, result: CommitResult) -> None:
        cache.invalidate()

    scheduler.add_listener(crawled)

    identifier = CallerIdentifier(
        verifier or verifier_from_settings(settings.auth),
        allow_unauthenticated=settings.auth.allow_unauthenticated,
    )
    plugin = PluginServices(
        settings=settings,
        gate=gate or gate_from_settings(settings),
        clients=clients,
        sessions=sessions if sessions is not None else vault,
    )

    async def identify(authorization: str | None) -> tuple[Principal, str | None]:
        try:
            caller = await identifier.identify(authorization)
        except ApiError as exc:
            raise Refusal(exc.status, str(exc), exc.headers) from None
        return caller.principal, caller.token

    mcp = McpService(McpDeps(settings, db, plugin.gate, clients, plugin.sessions), identify)
    store_vault = vault if vault is not None else sessions if isinstance(sessions, SessionVault) else None
    if store_vault is not None:
        store_vault.add_observer(observed.session_lookup)
    signin = (
        PaletteSignIn(settings, db, store_vault, identifier, http=oidc_http)
        if store_vault is not None and any(env.oidc for env in settings.spectrocloud.environments)
        else None
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await scheduler.start()
        purger = asyncio.create_task(_purge_sessions(vault, db)) if vault is not None else None
        try:
            async with mcp.running():
                yield
        finally:
            if purger is not None:
                purger.cancel()
            await scheduler.stop()
            await clients.aclose()
            if signin is not None:
                await signin.http.aclose()
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
    app.state.identifier = identifier
    app.state.plugin = plugin
    app.state.metrics = observed
    install_error_handlers(app)
    app.add_middleware(ReauthHeaderMiddleware)
    app.add_middleware(BodyLimitMiddleware, limit_bytes=settings.server.body_limit_bytes)
    origins = list(settings.server.cors.allowed_origins)
    if signin is not None:  # the app calls refresh/logout with its cookie (credentials: include)
        origins = list(dict.fromkeys([*origins, *settings.auth.sign_in.allowed_origins]))
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_credentials=signin is not None,
            allow_methods=["GET", "HEAD", "POST"],
            allow_headers=["Authorization", "If-None-Match", "X-Requested-With", *PLUGIN_HEADERS],
            expose_headers=[
                "ETag",
                "Retry-After",
                "X-SpectroCloud-ReAuth-Required",
                "Content-Disposition",
                REQUEST_ID_HEADER,
            ],
        )
    # Added last, so outermost: every log line of a request (CORS and body limit too) has its id.
    app.add_middleware(RequestIdMiddleware, observe=observed.http_request)
    for module in (catalog, status, health, metrics):
        app.include_router(module.router)
    app.include_router(plugin_router())
    if signin is not None:
        app.include_router(signin_router(signin))
    app.router.routes.append(Route("/mcp", mcp.endpoint, methods=["GET", "POST", "DELETE"]))
    if settings.console.enabled:
        console = ConsoleDeps(
            settings=settings,
            db=db,
            scheduler=scheduler,
            verifier=identifier.verifier,
            gate=plugin.gate,
            cipher=console_cipher(settings),
            templates=console_templates(),
        )
        app.mount(STATIC_PATH, console_static(), name="console-static")
        app.include_router(console_router(console))
    return app


def console_cipher(settings: Settings) -> SessionCipher:
    """The console cookie's key: from ``auth.sessions.encryptionKey`` (shared by replicas), else random."""
    key = settings.auth.sessions.encryption_key
    return (
        SessionCipher(key.get_secret_value())
        if key is not None
        else SessionCipher(random_key(), ephemeral=True)
    )
