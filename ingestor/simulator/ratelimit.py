"""Palette's per-prefix rate limits for the simulator: token buckets that answer 429 ``TooManyRequests``.

Pure ASGI middleware in front of the simulator app (palette-api.md 1.4, 1.5). Of ours it imports only
``ingestor.palette.options``; never httpx.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from ingestor.palette.options import DEFAULT_FALLBACK_RATE_LIMIT, DEFAULT_RATE_LIMITS, RateLimit

Clock = Callable[[], float]
Capacity = Callable[[RateLimit], float]
UID_SEGMENT = ":uid"


def rate_plus_burst(limit: RateLimit) -> float:
    """Default server bucket size: one second of rate plus the burst queue (15 for 10/s with burst 5).

    The client limits itself with capacity ``burst`` at rate ``rate``; since ``burst <= rate + burst``
    and both refill at ``rate``, a correctly throttled client never sees a 429, and the ``rate`` extra
    tokens absorb arrival jitter on the wire. A client that ignores the limits exhausts it at once.
    """
    return limit.rate + limit.burst


def palette_max_with_burst(limit: RateLimit) -> float:
    """The docs' "max with burst" column (rate x burst: 50 for 10/s): Palette's most lenient reading."""
    return limit.rate * limit.burst


def v1_error_body(code: str, message: str, *, ref: str | None = None, details: Any = None) -> bytes:
    """A ``v1Error`` JSON body; ``details`` is omitted rather than ``null`` (palette-api.md 1.4)."""
    body: dict[str, Any] = {"code": code, "message": message}
    if ref is not None:
        body["ref"] = ref
    if details is not None:
        body["details"] = details
    return json.dumps(body, separators=(",", ":")).encode()


async def send_json(send: Send, status: int, body: bytes, headers: Iterable[tuple[str, str]] = ()) -> None:
    """Send one complete ``application/json`` response over raw ASGI."""
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body, "more_body": False})


def too_many_requests(method: str, path: str) -> bytes:
    """The 429 body the Go SDK builds for itself (palette-api.md 1.4)."""
    return v1_error_body("TooManyRequests", f"Too Many Requests, [{method}] {path}")


def retry_after_header(seconds: float) -> tuple[str, str]:
    """``Retry-After`` in whole seconds (RFC 9110 allows no fractions), at least 1."""
    return ("retry-after", str(max(1, math.ceil(seconds))))


class PrefixTable:
    """Maps a request path to its resource prefix: the longest matching prefix wins, ``:uid`` is one segment.

    Unknown ``/v1/<resource>`` prefixes get ``fallback`` keyed by their first two segments; paths outside
    ``/v1`` are not limited (``resolve`` returns None).
    """

    def __init__(self, limits: Mapping[str, RateLimit], fallback: RateLimit) -> None:
        rules = []
        for prefix, limit in limits.items():
            if not prefix.startswith("/v1/"):
                raise ValueError(f"rate limit prefix must start with /v1/: {prefix!r}")
            rules.append((_segments(prefix), prefix, limit))
        # Longest first; among equals, literal segments beat ``:uid``.
        rules.sort(key=lambda r: (-len(r[0]), sum(s == UID_SEGMENT for s in r[0])))
        self._rules = rules
        self._fallback = fallback

    def resolve(self, path: str) -> tuple[str, RateLimit] | None:
        segments = _segments(path)
        if not segments or segments[0] != "v1":
            return None
        for pattern, prefix, limit in self._rules:
            if len(segments) >= len(pattern) and all(
                p in (UID_SEGMENT, s) for p, s in zip(pattern, segments, strict=False)
            ):
                return prefix, limit
        return "/" + "/".join(segments[:2]), self._fallback


def _segments(path: str) -> tuple[str, ...]:
    return tuple(s for s in path.split("/") if s)


@dataclass
class _Bucket:
    tokens: float
    stamp: float


@dataclass(frozen=True)
class Decision:
    """Outcome of one check; ``prefix`` is None for paths that are not limited."""

    allowed: bool
    prefix: str | None = None
    retry_after: float = 0.0


class RateLimiter:
    """Token buckets per (prefix, client host) plus per-prefix counters; thread-safe, clock injectable.

    ``enabled`` may be flipped at run time; while off, requests are still counted but never refused.
    """

    def __init__(
        self,
        *,
        enabled: bool = True,
        limits: Mapping[str, RateLimit] = DEFAULT_RATE_LIMITS,
        fallback: RateLimit = DEFAULT_FALLBACK_RATE_LIMIT,
        capacity: Capacity = rate_plus_burst,
        clock: Clock = time.monotonic,
        retry_after: bool = False,
    ) -> None:
        self.enabled = enabled
        self.retry_after = retry_after
        self.table = PrefixTable(limits, fallback)
        self._capacity = capacity
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self._counts: dict[str, list[int]] = {}

    def check(self, path: str, client: str) -> Decision:
        """Take one token from the bucket of ``path``'s prefix for ``client``, or refuse."""
        resolved = self.table.resolve(path)
        if resolved is None:
            return Decision(True)
        prefix, limit = resolved
        with self._lock:
            counts = self._counts.setdefault(prefix, [0, 0])
            counts[0] += 1
            if not self.enabled:
                return Decision(True, prefix)
            now = self._clock()
            size = self._capacity(limit)
            bucket = self._buckets.setdefault((prefix, client), _Bucket(size, now))
            bucket.tokens = min(size, bucket.tokens + max(0.0, now - bucket.stamp) * limit.rate)
            bucket.stamp = now
            if bucket.tokens >= 1:
                bucket.tokens -= 1
                return Decision(True, prefix)
            counts[1] += 1
            return Decision(False, prefix, (1 - bucket.tokens) / limit.rate)

    def stats(self) -> dict[str, Any]:
        """JSON-able counters: requests and 429s per prefix."""
        with self._lock:
            prefixes = {p: {"requests": c[0], "limited": c[1]} for p, c in sorted(self._counts.items())}
        return {"enabled": self.enabled, "retryAfter": self.retry_after, "prefixes": prefixes}

    def reset(self) -> None:
        """Forget all buckets and counters."""
        with self._lock:
            self._buckets.clear()
            self._counts.clear()


class RateLimitMiddleware:
    """ASGI middleware answering 429 ``v1Error`` when a prefix bucket is empty.

    Pass ``limiter`` to share one ``RateLimiter`` with the admin routes (Starlette builds middleware
    lazily, so the instance is otherwise out of reach); when given, the other keyword arguments are ignored.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        enabled: bool = True,
        limits: Mapping[str, RateLimit] = DEFAULT_RATE_LIMITS,
        fallback: RateLimit = DEFAULT_FALLBACK_RATE_LIMIT,
        capacity: Capacity = rate_plus_burst,
        clock: Clock = time.monotonic,
        retry_after: bool = False,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.app = app
        self.limiter = limiter or RateLimiter(
            enabled=enabled,
            limits=limits,
            fallback=fallback,
            capacity=capacity,
            clock=clock,
            retry_after=retry_after,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        decision = self.limiter.check(scope["path"], client[0] if client else "")
        if decision.allowed:
            await self.app(scope, receive, send)
            return
        headers = [retry_after_header(decision.retry_after)] if self.limiter.retry_after else []
        await send_json(send, 429, too_many_requests(scope["method"], scope["path"]), headers)
