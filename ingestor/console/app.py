"""The console's router: the page context, rendering, sign-in and sign-out, "crawl now", static files.

Pages are server-rendered (Jinja2, autoescaped) under a strict CSP (scripts and styles from
``/console/static`` only; no CDN, no inline script). State-changing forms are POSTs accepted only from the
console's own origin.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2
import structlog
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.staticfiles import StaticFiles

from ingestor import __version__
from ingestor.auth.gate import PermissionGate
from ingestor.auth.identity import IdentityVerifier
from ingestor.auth.jwks import AuthenticationError, JwksUnavailableError
from ingestor.auth.permissions import TRIGGER_CRAWL
from ingestor.auth.sessions import SessionCipher
from ingestor.config import Settings
from ingestor.console.identity import ANONYMOUS_OPERATOR, COOKIE, Operator, presented_token, seal_token
from ingestor.scheduler import CrawlScheduler, UnknownInstanceError
from ingestor.store.db import Database

log = structlog.get_logger(__name__)

STATIC_PATH = "/console/static"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
NAV = (("/", "Overview"), ("/entities", "Catalog"), ("/profiles", "Profiles"), ("/changes", "Changes"))


@dataclass
class ConsoleDeps:
    """What every page may use (built once by ``api.app``)."""

    settings: Settings
    db: Database
    scheduler: CrawlScheduler
    verifier: IdentityVerifier
    gate: PermissionGate
    cipher: SessionCipher
    templates: jinja2.Environment

    @property
    def anonymous_read(self) -> bool:
        return self.settings.console.anonymous_read or self.settings.auth.allow_unauthenticated

    async def operator(self, request: Request) -> Operator:
        """The caller, verified like the API verifies it; a bad or expired console cookie means anonymous."""
        token = presented_token(request, self.cipher)
        if token is None:
            return ANONYMOUS_OPERATOR
        try:
            principal = await self.verifier.verify(f"Bearer {token}")
        except (AuthenticationError, JwksUnavailableError):
            return ANONYMOUS_OPERATOR
        return Operator(principal, token)

    async def may_crawl(self, operator: Operator) -> bool:
        if not operator.signed_in:
            return False
        decision = await self.gate.check(operator.principal, TRIGGER_CRAWL, operator.token)
        return decision.allowed

    def render(
        self, request: Request, operator: Operator, template: str, *, status: int = 200, **context: Any
    ) -> HTMLResponse:
        """``template`` with the common context (operator, navigation, instances, version)."""
        page = self.templates.get_template(template).render(
            request=request,
            operator=operator,
            nav=NAV,
            path=request.url.path,
            instances=[name for name in self.scheduler.instances],
            version=__version__,
            static=STATIC_PATH,
            anonymous_read=self.anonymous_read,
            **context,
        )
        return HTMLResponse(page, status_code=status, headers=page_headers())

    def message(
        self, request: Request, operator: Operator, status: int, title: str, text: str
    ) -> HTMLResponse:
        """A page that only says something (not found, not allowed, the store is down)."""
        return self.render(request, operator, "message.html", status=status, title=title, message=text)


def page_headers() -> dict[str, str]:
    return {
        "Content-Security-Policy": CSP,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "Cache-Control": "no-store",
    }


def templates() -> jinja2.Environment:
    """The console's templates from the package (autoescaped HTML)."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("ingestor.console", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env


def same_origin(request: Request) -> bool:
    """A state-changing request from the console's own pages (``Origin``, else ``Sec-Fetch-Site``)."""
    origin = request.headers.get("origin")
    if origin is not None:
        here = f"{request.url.scheme}://{request.headers.get('host', request.url.netloc)}"
        return origin.lower() == here.lower()
    return request.headers.get("sec-fetch-site", "same-origin") in ("same-origin", "none")


Page = Callable[[Request, Operator], Awaitable[Response]]


def page(deps: ConsoleDeps, handler: Page) -> Callable[[Request], Awaitable[Response]]:
    """A page needing read access: the sign-in page (401) for an anonymous caller when reading is closed."""

    async def endpoint(request: Request) -> Response:
        operator = await deps.operator(request)
        if not operator.signed_in and not deps.anonymous_read:
            return deps.render(
                request, operator, "sign_in.html", status=401, error=None, next=request.url.path
            )
        return await handler(request, operator)

    endpoint.__name__ = getattr(handler, "__name__", "page")
    return endpoint


def console_router(deps: ConsoleDeps) -> APIRouter:
    """Every console route (pages from the ``views_*`` modules, plus sign-in, sign-out and crawl now)."""
    from ingestor.console import views_catalog, views_changes, views_overview, views_profiles

    router = APIRouter(include_in_schema=False)
    for module in (views_overview, views_catalog, views_profiles, views_changes):
        module.register(router, deps)

    @router.get("/console/sign-in")
    async def sign_in_page(request: Request, next: str = "/") -> Response:  # noqa: A002
        operator = await deps.operator(request)
        return deps.render(request, operator, "sign_in.html", error=None, next=_local(next))

    @router.post("/console/sign-in")
    async def sign_in(request: Request, token: str = Form(""), next: str = Form("/")) -> Response:  # noqa: A002
        if not same_origin(request):
            return Response("cross-site request refused", status_code=403)
        try:
            principal = await deps.verifier.verify(f"Bearer {token.strip()}")
        except (AuthenticationError, JwksUnavailableError) as exc:
            log.info("console.sign_in_refused", reason=type(exc).__name__)
            message = (
                "That token is not accepted."
                if isinstance(exc, AuthenticationError)
                else ("Backstage's signing keys are unavailable; try again shortly.")
            )
            return deps.render(
                request, ANONYMOUS_OPERATOR, "sign_in.html", status=401, error=message, next=_local(next)
            )
        lifetime = deps.settings.console.session_hours * 3600
        expires = time.time() + lifetime
        if principal.expires_at is not None:
            expires = min(expires, float(principal.expires_at))
        response = RedirectResponse(_local(next), status_code=303)
        response.set_cookie(
            COOKIE,
            seal_token(deps.cipher, token.strip(), expires),
            max_age=max(int(expires - time.time()), 1),
            path="/",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https" or _https(deps.settings),
        )
        log.info("console.signed_in", caller=principal.display)
        return response

    @router.post("/console/sign-out")
    async def sign_out(request: Request) -> Response:
        if not same_origin(request):
            return Response("cross-site request refused", status_code=403)
        response = RedirectResponse("/", status_code=303)
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
        return response

    @router.post("/console/crawl")
    async def crawl_now(request: Request, instance: str = Form("")) -> Response:
        """The "crawl now" button: a signed-in caller holding ``spectrocloud.ingestor.crawl``."""
        if not same_origin(request):
            return Response("cross-site request refused", status_code=403)
        operator = await deps.operator(request)
        if not await deps.may_crawl(operator):
            return deps.message(
                request,
                operator,
                403,
                "Not allowed",
                "Starting a crawl needs a signed-in caller holding spectrocloud.ingestor.crawl.",
            )
        try:
            result = await deps.scheduler.trigger(instance)
        except UnknownInstanceError:
            return unknown_instance(deps, request, operator)
        log.info(
            "console.crawl_requested", caller=operator.name, instance=result.instance, state=result.state
        )
        return RedirectResponse(f"/?crawl={result.state}&instance={result.instance}", status_code=303)

    return router


def unknown_instance(deps: ConsoleDeps, request: Request, operator: Operator) -> HTMLResponse:
    return deps.message(request, operator, 404, "Unknown instance", "No such instance is crawled.")


def static_files() -> StaticFiles:
    """The console's CSS, JavaScript and icons, served from the package."""
    folder = Path(str(resources.files("ingestor.console").joinpath("static")))
    return StaticFiles(directory=folder)


def _local(target: str) -> str:
    """Only a path on this site (no open redirect)."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


def _https(settings: Settings) -> bool:
    return (settings.server.base_url or "").startswith("https://")
