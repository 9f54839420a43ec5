"""The simulator's app factory: dataset, routes, error handling, rate limits and faults composed.

Requests pass the rate limiter (outermost), then the fault injector, then the routes. Every error
answers a ``v1Error`` body. Imports ``ingestor.simulator``, ``ingestor.palette.schema``/``options``.
"""

from __future__ import annotations

from collections.abc import Sequence

import structlog
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ingestor.palette.schema import load_validator
from ingestor.simulator import (
    admin,
    oidc,
    oidc_admin,
    routes_clouds,
    routes_clusters,
    routes_create,
    routes_profiles,
    routes_projects,
    routes_sshkeys,
)
from ingestor.simulator.dataset import Dataset
from ingestor.simulator.errors import ApiError, error_response
from ingestor.simulator.faults import FaultMiddleware, FaultState
from ingestor.simulator.faults_admin import faults_admin_routes
from ingestor.simulator.faults_spec import LatencyFault
from ingestor.simulator.fixture import load_fixture_file
from ingestor.simulator.generator import generate
from ingestor.simulator.options import SimulatorOptions
from ingestor.simulator.ratelimit import RateLimiter, RateLimitMiddleware
from ingestor.simulator.routes_common import SimState, TokenResolver, authenticate

log = structlog.get_logger(__name__)
HTTP_CODES = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "OperationForbidden",
    404: "ResourceNotFound",
    405: "MethodNotAllowed",
}


def build_dataset(options: SimulatorOptions) -> Dataset:
    """The dataset ``options`` describe: the ``--fixture`` file if given, else generated from the seed."""
    if options.fixture is not None:
        return load_fixture_file(options.fixture, options)
    return generate(options)


async def health(request: Request) -> Response:
    """GET /health: liveness, no credential needed."""
    return JSONResponse({"status": "ok"})


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    if exc.status >= 500:
        log.warning("simulator error", path=request.url.path, status=exc.status, code=exc.code)
    return error_response(exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = HTTP_CODES.get(exc.status_code, "Error")
    message = (
        f"no route for {request.method} {request.url.path}" if exc.status_code == 404 else str(exc.detail)
    )
    return error_response(ApiError(exc.status_code, code, message), headers=dict(exc.headers or {}))


async def _crash(request: Request, exc: Exception) -> Response:
    log.error("simulator crashed", path=request.url.path, error=type(exc).__name__)
    return error_response(ApiError(500, "InternalError", "the simulator failed to handle this request"))


def _admin_authorized(request: Request) -> bool:
    try:
        return authenticate(request).key_holder
    except ApiError:
        return False


def create_app(
    options: SimulatorOptions,
    *,
    dataset: Dataset | None = None,
    token_resolvers: Sequence[TokenResolver] = (),
) -> Starlette:
    """A Palette-like ASGI app over ``dataset`` (default: ``build_dataset(options)``).

    ``token_resolvers`` map a raw ``Authorization`` value to a user uid, tried after the dataset's
    session tokens; the HS256 session tokens of the OIDC side (``oidc.py``) come last.

    ``app.state.sim`` holds the dataset; ``app.state.faults``, ``app.state.limiter`` and
    ``app.state.oidc`` the fault, rate-limit and OIDC state the ``/__sim`` admin routes act on.
    """
    ds = dataset if dataset is not None else build_dataset(options)
    sim = SimState(dataset=ds, validator=load_validator(), reset=lambda: build_dataset(options))
    provider = oidc.OidcProvider(options)
    sim.token_resolvers += [*token_resolvers, provider.resolve]
    latency = [LatencyFault(ms=options.latency_ms)] if options.latency_ms else []
    faults = FaultState([*latency, *options.faults], seed=options.fault_seed)
    limiter = RateLimiter(enabled=options.rate_limits)
    routes: list[BaseRoute] = [
        Route("/health", health, methods=["GET"]),
        *faults_admin_routes(faults, limiter=limiter, authorize=_admin_authorized),
        *admin.routes(),
        *oidc_admin.routes(),
        *oidc.routes(),
        *routes_projects.routes(),
        *routes_clusters.routes(),
        *routes_create.routes(),
        *routes_profiles.routes(),
        *routes_clouds.routes(),
        *routes_sshkeys.routes(),
    ]
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(RateLimitMiddleware, limiter=limiter),
            Middleware(FaultMiddleware, state=faults),
        ],
        exception_handlers={ApiError: _api_error, HTTPException: _http_error, Exception: _crash},
    )
    app.state.sim = sim
    app.state.faults = faults
    app.state.limiter = limiter
    app.state.oidc = provider
    log.info(
        "simulator ready", counts=ds.counts(), rate_limits=options.rate_limits, faults=len(faults.list())
    )
    return app
