"""ASGI middleware: a request id on every log line of a request, one access log line, HTTP observations.

The id is the caller's ``X-Request-ID`` when it is a sane token (1-64 of ``A-Za-z0-9._-``), else a new
random one; it is bound with ``structlog.contextvars`` for the request, kept in ``request.state.request_id``
and sent back in the ``X-Request-ID`` response header. Routes are named by their template (``/v1/{uid}``),
never by the raw path. Pure ASGI; imports nothing of ours.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from typing import Any

import structlog
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = structlog.get_logger(__name__)

HEADER = "X-Request-ID"
_SANE = re.compile(r"[A-Za-z0-9._-]{1,64}")
UNMATCHED = "unmatched"
"""The route label of a request no route matched (404s of random paths must not become labels)."""
QUIET_ROUTES = frozenset({"/health", "/ready", "/metrics"})
"""Probes and scrapes: their access lines are logged at debug, not info."""

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
"""Methods named as they are in logs and labels; any other is ``OTHER``."""

HttpObserver = Callable[[str, str, int, float], None]
"""``observe(method, route, status, seconds)`` once per request, after its response."""


def request_id(scope: Scope) -> str:
    """The caller's ``X-Request-ID`` when sane, else a new random id (32 hex digits)."""
    for name, value in scope.get("headers", ()):
        if name.lower() == b"x-request-id":
            text = bytes(value).decode("latin-1").strip()
            if _SANE.fullmatch(text):
                return text
            break
    return uuid.uuid4().hex


def route_template(scope: Scope) -> str:
    """The matched route's path template with its router prefixes (``/api/spectrocloud/clusters/{uid}``),
    a mount's (``/console/static/{path}``), or ``unmatched``.

    FastAPI may leave the route of an included router in ``scope["route"]`` with its own path only (no
    prefix): the prefix is the part of the request path before the route's pattern matches.
    """
    route: Any = scope.get("route")
    pattern = getattr(route, "path_regex", None)
    template = getattr(route, "path_format", None)
    path = scope.get("path")
    if not isinstance(pattern, re.Pattern) or not isinstance(template, str) or not isinstance(path, str):
        return _mount(scope)
    start = 0
    while start != -1:
        if pattern.match(path[start:]):
            return path[:start] + template
        start = path.find("/", start + 1)
    return template


def _mount(scope: Scope) -> str:
    """A mounted app (static files) leaves no route, only its path in ``root_path``: ``/static/{path}``."""
    mounted = scope.get("root_path")
    if scope.get("endpoint") is None or not isinstance(mounted, str):
        return UNMATCHED
    return f"{mounted}/{{path}}" if mounted and mounted != scope.get("app_root_path", "") else UNMATCHED


class RequestIdMiddleware:
    """Outermost middleware: request id, access log line (``http.request``) and ``observe`` per request."""

    def __init__(self, app: ASGIApp, *, observe: HttpObserver | None = None) -> None:
        self.app = app
        self.observe = observe

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = request_id(scope)
        scope.setdefault("state", {})["request_id"] = rid
        tokens = structlog.contextvars.bind_contextvars(request_id=rid)
        status = 0
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message.setdefault("headers", [])
                MutableHeaders(scope=message)[HEADER] = rid
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except BaseException as exc:
            # No answer went out: the error handler outside answers 500 (a cancelled request gets none).
            unanswered = 500 if isinstance(exc, Exception) else 499
            self._finish(scope, status or unanswered, time.perf_counter() - started, exc)
            # The id stays bound: that handler logs the error next, in this request's own task and context.
            raise
        self._finish(scope, status, time.perf_counter() - started, None)
        structlog.contextvars.reset_contextvars(**tokens)

    def _finish(self, scope: Scope, status: int, seconds: float, failed: BaseException | None) -> None:
        method = str(scope.get("method", "")).upper()
        method = method if method in METHODS else "OTHER"
        route = route_template(scope)
        fields: dict[str, Any] = {
            "method": method,
            "route": route,
            # The path as requested, without its query (a query may carry a secret; the log redacts the rest).
            "path": str(scope.get("path", ""))[:512],
            "status": status,
            "duration_ms": round(seconds * 1000, 2),
        }
        if failed is not None:
            fields["error_class"] = type(failed).__name__
        level = "debug" if route in QUIET_ROUTES and status < 500 else "info"
        getattr(log, level)("http.request", **fields)
        if self.observe is not None:
            try:
                self.observe(method, route, status, seconds)
            except Exception as exc:  # counting must never fail a request
                log.warning("http.observer_failed", error_class=type(exc).__name__)
