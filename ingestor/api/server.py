"""Running the service: store, scheduler and app on uvicorn, in the foreground (``serve``) or a thread.

uvicorn gets ``log_config=None`` so our redacting log setup stays in place, and a socket we bind ourselves
(port 0 works; TCP_NODELAY via IPPROTO_TCP). Imports ``api``, ``config``, ``scheduler`` and ``store``.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import structlog
import uvicorn
from fastapi import FastAPI

from ingestor.api.app import create_app
from ingestor.config import Settings
from ingestor.scheduler import CrawlFn, CrawlScheduler
from ingestor.serving import ThreadedServer, bind
from ingestor.store import migrate
from ingestor.store.db import Database

log = structlog.get_logger(__name__)

GRACEFUL_SHUTDOWN_SECONDS = 15


@dataclass
class Service:
    """The parts of one running service."""

    settings: Settings
    db: Database
    scheduler: CrawlScheduler
    app: FastAPI


def build_service(
    settings: Settings,
    *,
    replica_id: str | None = None,
    crawl: CrawlFn | None = None,
    upgrade: bool = True,
    renew_every: float | None = None,
    **app_options: Any,
) -> Service:
    """Open the store (and bring its schema up to date), make the scheduler and the app.

    ``app_options`` go to ``create_app`` (tests inject a verifier, a permission gate, a transport).
    """
    db = Database(settings.database.url.get_secret_value(), pool_size=settings.database.pool.size)
    try:
        if upgrade:
            migrate.upgrade(db)
        scheduler = CrawlScheduler(settings, db, replica_id=replica_id, crawl=crawl, renew_every=renew_every)
        app = create_app(settings, db, scheduler, **app_options)
    except BaseException:
        db.close()
        raise
    return Service(settings, db, scheduler, app)


def uvicorn_server(app: FastAPI, *, access_log: bool = False) -> uvicorn.Server:
    config = uvicorn.Config(
        app,
        log_config=None,
        access_log=access_log,
        lifespan="on",
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        server_header=False,
    )
    return uvicorn.Server(config)


class _Stopped(Exception):
    """Raised by our signal handler when uvicorn re-raises SIGINT/SIGTERM after its graceful shutdown."""


def _raise_stopped(signum: int, frame: object) -> None:
    raise _Stopped(signum)


def serve(settings: Settings) -> int:
    """Serve until SIGINT/SIGTERM, then stop the scheduler (crawls finish or are cancelled) and the store.

    Exits 0 after a signal-initiated graceful shutdown, 1 when the app could not start.
    """
    service = build_service(settings)
    previous = {sig: signal.signal(sig, _raise_stopped) for sig in (signal.SIGINT, signal.SIGTERM)}
    server = uvicorn_server(service.app)
    try:
        with bind(settings.server.host, settings.server.port) as sock:
            host, port = sock.getsockname()[:2]
            log.info("api.listening", url=f"http://{host}:{port}", replica=service.scheduler.replica_id)
            server.run(sockets=[sock])
    except _Stopped:
        pass  # uvicorn has shut down gracefully and handed the signal back
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        service.db.close()
    return 0 if server.started else 1


class BackgroundServer:
    """``with BackgroundServer(service) as srv: httpx.get(srv.url + "/health")``: uvicorn in a thread."""

    def __init__(
        self, service: Service, *, host: str = "127.0.0.1", port: int = 0, close_db: bool = True
    ) -> None:
        self.service = service
        self.close_db = close_db
        self._server = ThreadedServer(
            uvicorn_server(service.app, access_log=False).config, host=host, port=port, name="ingestor server"
        )

    @property
    def host(self) -> str:
        return self._server.host

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def url(self) -> str:
        return self._server.url

    def start(self, timeout: float = 30.0) -> BackgroundServer:
        """Bind, serve in a thread and wait until uvicorn accepts connections (lifespan done)."""
        self._server.start(timeout)
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Graceful: uvicorn drains, the lifespan stops the scheduler; then the store closes."""
        self._server.stop(timeout)
        if self.close_db:
            self.service.db.close()

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()
