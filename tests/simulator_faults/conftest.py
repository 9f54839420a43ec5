"""Fixtures for the fault and rate-limit middleware: a stand-in app served by uvicorn on 127.0.0.1."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from ingestor.simulator.faults import FaultMiddleware, FaultState
from ingestor.simulator.faults_admin import faults_admin_routes
from ingestor.simulator.ratelimit import RateLimiter, RateLimitMiddleware

TOTAL_ITEMS = 7


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def stand_in_app(hits: list[str], extra_routes: list[Route] | None = None) -> Starlette:
    """A tiny app: a paged JSON list, a POST echo and a catch-all JSON endpoint; records each hit."""

    async def items(request: Request) -> JSONResponse:
        hits.append(request.url.path)
        limit = int(request.query_params.get("limit", "3"))
        offset = int(request.query_params.get("continue") or 0)
        page = [{"uid": f"item-{i}"} for i in range(offset, min(offset + limit, TOTAL_ITEMS))]
        after = offset + len(page)
        token = str(after) if after < TOTAL_ITEMS else ""
        listmeta = {"continue": token, "count": TOTAL_ITEMS, "limit": limit, "offset": after}
        return JSONResponse({"items": page, "listmeta": listmeta})

    async def echo(request: Request) -> JSONResponse:
        hits.append(request.url.path)
        return JSONResponse({"received": await request.json()})

    async def anything(request: Request) -> JSONResponse:
        hits.append(request.url.path)
        return JSONResponse({"path": request.url.path})

    routes = [
        *(extra_routes or []),
        Route("/v1/items", items),
        Route("/v1/echo", echo, methods=["POST"]),
        Route("/{rest:path}", anything, methods=["GET", "POST", "DELETE"]),
    ]
    return Starlette(routes=routes)


class Served:
    """Runs an ASGI app with uvicorn on 127.0.0.1, on an ephemeral port, in a background thread."""

    def __init__(self, app: ASGIApp, *, graceful: float | None = None) -> None:
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=0,
            lifespan="off",
            log_level="critical",
            access_log=False,
            timeout_graceful_shutdown=graceful,  # type: ignore[arg-type]  # fractions work
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = ""

    def start(self) -> Served:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert self.thread.is_alive() and time.monotonic() < deadline, "server did not start"
            time.sleep(0.005)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    def stop(self, timeout: float = 10) -> float:
        """Stop the server; answer how long it took."""
        began = time.monotonic()
        self.server.should_exit = True
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "server did not stop"
        return time.monotonic() - began


class Dispatch:
    """The ASGI app a long-lived server runs; each test swaps in its own middleware stack."""

    def __init__(self) -> None:
        self.hits: list[str] = []
        self.stack: ASGIApp | None = None
        self.state: FaultState | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.stack is not None
        await self.stack(scope, receive, send)


def build_stack(hits: list[str], state: FaultState, limiter: RateLimiter, authorize: Any = None) -> ASGIApp:
    """Limiter outermost (like Palette's gateway), then faults, then the app with the admin routes."""
    app = stand_in_app(hits, faults_admin_routes(state, limiter=limiter, authorize=authorize))
    return RateLimitMiddleware(FaultMiddleware(app, state), limiter=limiter)


class Sim:
    """What a test drives: the URL, the fault state, the limiter, the fake clock and the app's hits."""

    def __init__(self, url: str, dispatch: Dispatch) -> None:
        self.url = url
        self.clock = FakeClock()
        self.hits = dispatch.hits
        self._dispatch = dispatch
        self.configure()

    def configure(self, *, seed: int = 0, authorize: Any = None, **limiter_options: Any) -> None:
        """Fresh fault state and limiter (disabled unless ``enabled=True``) on the shared fake clock."""
        limiter_options.setdefault("enabled", False)
        self.state = FaultState(clock=self.clock, seed=seed)
        self.limiter = RateLimiter(clock=self.clock, **limiter_options)
        self._dispatch.state = self.state
        self._dispatch.stack = build_stack(self.hits, self.state, self.limiter, authorize)


@pytest.fixture(scope="session")
def _served() -> Iterator[tuple[Served, Dispatch]]:
    dispatch = Dispatch()
    served = Served(dispatch).start()
    yield served, dispatch
    if dispatch.state is not None:
        dispatch.state.release_hangs()
    served.stop()


@pytest.fixture
def sim(_served: tuple[Served, Dispatch]) -> Iterator[Sim]:
    """The shared server with fresh faults (seed 0), a disabled limiter and a fake clock."""
    served, dispatch = _served
    dispatch.hits.clear()
    result = Sim(served.url, dispatch)
    yield result
    result.state.release_hangs()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
