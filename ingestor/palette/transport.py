"""All network I/O to Palette: throttling, auth headers, retries, deadline, error mapping, counters.

Imports nothing of ours outside ``ingestor.palette``. This is the only module that catches httpx
exceptions; ``map_exception`` translates every one of them into a ``PaletteError``.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import structlog

from ingestor.palette.credentials import Credential
from ingestor.palette.errors import (
    InvalidRequestError,
    PaletteError,
    PaletteTimeoutError,
    ProtocolError,
    RateLimitedError,
    UnavailableError,
    error_class_for_status,
)
from ingestor.palette.options import ClientOptions
from ingestor.palette.ratelimit import RateLimiter
from ingestor.palette.stats import ClientStats
from ingestor.palette.urls import UrlBuilder

JSON = "application/json"
OCTET_STREAM = "application/octet-stream"
_MAX_ERROR_FIELD = 300
_MAX_ERROR_BODY = 64 * 1024

# Failures where the request surely never reached Palette: safe to retry even a create.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# Failures after which the request may have been processed: retry idempotent calls only.
_MAYBE_SENT = (
    httpx.ReadTimeout,
    httpx.WriteTimeout,
    httpx.ReadError,
    httpx.WriteError,
    httpx.CloseError,
    httpx.RemoteProtocolError,
    httpx.ProxyError,
)


@dataclass(frozen=True)
class Call:
    """One logical Palette call. ``template`` names the endpoint in errors, logs and counters."""

    method: str
    template: str
    path_params: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, str | int | bool] | None = None
    body: Any = None
    project_uid: str | None = None
    idempotent: bool = True
    accept: str = JSON


@dataclass(frozen=True)
class Failure:
    """An attempt that did not succeed, and whether another attempt is safe and useful."""

    error: PaletteError
    retriable: bool
    retry_after: float | None = None


@dataclass(frozen=True)
class Context:
    """What an error needs to say where it happened."""

    method: str
    path: str
    instance: str | None
    secret: str = field(repr=False, default="")

    def clean(self, value: object) -> str | None:
        """A Palette-supplied string, shortened, without control characters or our secret."""
        if not isinstance(value, str) or not value:
            return None
        if self.secret:
            value = value.replace(self.secret, "***")
        return "".join(ch if ch.isprintable() else " " for ch in value[:_MAX_ERROR_FIELD])

    def error(self, cls: type[PaletteError], message: str, **kw: Any) -> PaletteError:
        return cls(message, method=self.method, path=self.path, instance=self.instance, **kw)


def map_exception(exc: BaseException, ctx: Context) -> PaletteError:
    """Translate an httpx (or deadline) exception into our hierarchy. Never includes the URL."""
    name = type(exc).__name__
    if isinstance(exc, httpx.HTTPStatusError):
        return error_from_response(exc.response, ctx)
    if isinstance(exc, httpx.TimeoutException | TimeoutError):
        return ctx.error(PaletteTimeoutError, f"Palette did not answer in time ({name})")
    if isinstance(exc, httpx.NetworkError | httpx.ProxyError | httpx.RemoteProtocolError):
        return ctx.error(UnavailableError, f"Palette is unreachable ({name})")
    if isinstance(exc, httpx.DecodingError | httpx.TooManyRedirects):
        return ctx.error(ProtocolError, f"Palette sent an unusable response ({name})")
    if isinstance(
        exc,
        httpx.UnsupportedProtocol
        | httpx.LocalProtocolError
        | httpx.InvalidURL
        | httpx.CookieConflict
        | httpx.StreamError,
    ):
        return ctx.error(InvalidRequestError, f"the request could not be sent ({name})")
    if isinstance(exc, httpx.HTTPError):  # TransportError, RequestError or a future subclass
        return ctx.error(UnavailableError, f"Palette request failed ({name})")
    return ctx.error(PaletteError, f"unexpected failure ({name})")


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds from now: delta-seconds or an HTTP-date; ``None`` if absent or bad."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _error_fields(response: httpx.Response, ctx: Context) -> dict[str, str | None]:
    """Palette's ``v1Error`` code, message and ref, if the body is one; nothing else of the body."""
    try:
        raw = response.content[:_MAX_ERROR_BODY]
        data = json.loads(raw) if raw.lstrip()[:1] == b"{" else None
    except (ValueError, httpx.StreamError):
        data = None
    if not isinstance(data, dict):
        return {"code": None, "message": None, "ref": None}
    return {k: ctx.clean(data.get(k)) for k in ("code", "message", "ref")}


def error_from_response(response: httpx.Response, ctx: Context) -> PaletteError:
    """The typed error for an unsuccessful response."""
    status = response.status_code
    fields = _error_fields(response, ctx)
    message = fields["message"] or f"Palette answered {status} {response.reason_phrase}".strip()
    cls = error_class_for_status(status)
    kw: dict[str, Any] = {"status": status, "code": fields["code"], "ref": fields["ref"]}
    if cls is RateLimitedError:
        kw["retry_after"] = parse_retry_after(response.headers.get("Retry-After"))
    return ctx.error(cls, message, **kw)


def parse_json(response: httpx.Response, ctx: Context) -> Any:
    """The JSON body of a successful response (``None`` when empty); ProtocolError when malformed."""
    if not response.content.strip():
        return None
    try:
        return response.json()
    except ValueError:
        raise ctx.error(ProtocolError, "Palette sent malformed JSON", status=response.status_code) from None


class Requester:
    """Sends ``Call``s through one shared ``httpx.AsyncClient``, limiter and counter set."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        urls: UrlBuilder,
        credential: Credential,
        *,
        options: ClientOptions,
        limiter: RateLimiter,
        stats: ClientStats,
        instance: str | None,
        rng: Callable[[float, float], float] = random.uniform,
    ) -> None:
        self.http = http
        self.urls = urls
        self.credential = credential
        self.options = options
        self.limiter = limiter
        self.stats = stats
        self.instance = instance
        self._rng = rng

    def context(self, call: Call) -> Context:
        return Context(call.method, call.template, self.instance, self.credential.reveal())

    def _request(self, call: Call, ctx: Context) -> httpx.Request:
        url = self.urls.url(call.template, dict(call.path_params))
        name, value = self.credential.header()
        headers = {"Accept": call.accept, name: value}
        if call.project_uid is not None:
            if not isinstance(call.project_uid, str) or not call.project_uid.strip():
                raise ctx.error(InvalidRequestError, "project uid must be a non-empty string")
            headers["ProjectUid"] = call.project_uid
        try:
            return self.http.build_request(
                call.method, url, params=dict(call.params or {}), json=call.body, headers=headers
            )
        except (httpx.HTTPError, httpx.InvalidURL, httpx.CookieConflict, httpx.StreamError) as exc:
            raise map_exception(exc, ctx) from None

    async def send(self, call: Call) -> httpx.Response:
        """Perform ``call`` with retries inside its deadline; a non-2xx outcome raises PaletteError."""
        ctx = self.context(call)
        start = time.monotonic()
        try:
            response = await self._send_with_retries(call, ctx, start + self.options.timeouts.total)
        except PaletteError as exc:
            duration = time.monotonic() - start
            self.stats.call(call.method, call.template, duration=duration, failed=True)
            structlog.get_logger(__name__).warning(
                "palette.call_failed",
                method=call.method,
                path=call.template,
                status=exc.status,
                code=exc.code,
                error=type(exc).__name__,
                attempts=exc.attempts,
                duration=round(duration, 4),
                instance=self.instance,
            )
            raise
        duration = time.monotonic() - start
        self.stats.call(call.method, call.template, duration=duration, failed=False)
        structlog.get_logger(__name__).debug(
            "palette.call",
            method=call.method,
            path=call.template,
            status=response.status_code,
            duration=round(duration, 4),
            instance=self.instance,
        )
        return response

    async def _send_with_retries(self, call: Call, ctx: Context, deadline: float) -> httpx.Response:
        request = self._request(call, ctx)
        policy = self.options.retry
        attempt = 0
        while True:
            attempt += 1
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                late = ctx.error(PaletteTimeoutError, f"deadline of {self.options.timeouts.total}s exceeded")
                late.attempts = attempt - 1
                raise late
            started = time.monotonic()
            outcome = await self._attempt(call, request, ctx, remaining)
            if isinstance(outcome, httpx.Response):
                return outcome
            error = outcome.error
            error.attempts = attempt
            if not outcome.retriable or attempt >= max(1, policy.max_attempts):
                raise error
            delay = self._delay(attempt, outcome.retry_after)
            if time.monotonic() + delay >= deadline:
                raise error
            self.stats.retry(call.method, call.template)
            structlog.get_logger(__name__).warning(
                "palette.retry",
                method=call.method,
                path=call.template,
                status=error.status,
                error=type(error).__name__,
                attempt=attempt,
                delay=round(delay, 4),
                duration=round(time.monotonic() - started, 4),
                instance=self.instance,
            )
            await asyncio.sleep(delay)

    async def _attempt(
        self, call: Call, request: httpx.Request, ctx: Context, remaining: float
    ) -> httpx.Response | Failure:
        """One exchange through the limiter, bounded by what is left of the deadline."""
        throttled = 0.0
        try:
            async with asyncio.timeout(remaining), self.limiter.slot(call.template) as throttled:
                response = await self.http.send(request)
        except TimeoutError:
            self.stats.attempt(call.method, call.template, status=None, throttled=throttled)
            timeout = self.options.timeouts.total
            return Failure(ctx.error(PaletteTimeoutError, f"deadline of {timeout}s exceeded"), False)
        except (httpx.HTTPError, httpx.InvalidURL, httpx.CookieConflict, httpx.StreamError) as exc:
            self.stats.attempt(call.method, call.template, status=None, throttled=throttled)
            safe = isinstance(exc, _NOT_SENT) or (call.idempotent and isinstance(exc, _MAYBE_SENT))
            return Failure(map_exception(exc, ctx), safe)
        self.stats.attempt(call.method, call.template, status=response.status_code, throttled=throttled)
        if response.is_success:
            return response
        error = error_from_response(response, ctx)
        status = response.status_code
        # 429 means Palette refused before doing anything; other statuses may follow partial work.
        retriable = status in self.options.retry.retry_statuses and (call.idempotent or status == 429)
        return Failure(error, retriable, getattr(error, "retry_after", None))

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        """Full-jitter exponential back-off, or Palette's ``Retry-After``; both capped by backoff_max."""
        policy = self.options.retry
        if retry_after is not None:
            return min(retry_after, policy.backoff_max)
        ceiling = min(policy.backoff_max, policy.backoff_initial * policy.backoff_multiplier ** (attempt - 1))
        return self._rng(0.0, max(0.0, ceiling))
