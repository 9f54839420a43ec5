"""Client-side throttling: fair async token buckets per Palette resource prefix plus a concurrency cap.

Imports nothing of ours outside ``ingestor.palette``. Time comes from an injectable ``Clock``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Protocol

from ingestor.palette.options import DEFAULT_FALLBACK_RATE_LIMIT, ClientOptions, RateLimit


class Clock(Protocol):
    """Monotonic time and sleeping; tests pass a fake one."""

    def monotonic(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock."""

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class TokenBucket:
    """Capacity ``burst``, refilled at ``rate`` tokens per second, starting full.

    Fair by construction: each caller reserves the next free slot synchronously (no await between
    reading and updating the state), so slots are handed out in call order, then sleeps until it.
    A cancelled waiter gives its slot back.
    """

    def __init__(self, rate: float, burst: int, clock: Clock | None = None) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self.rate = float(rate)
        self.burst = int(burst)
        self._clock = clock or SystemClock()
        self._tokens = float(self.burst)
        self._stamp = self._clock.monotonic()

    def _refill(self, now: float) -> None:
        if now > self._stamp:
            self._tokens = min(float(self.burst), self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now

    def reserve(self) -> float:
        """Take one token now or in the future; returns the seconds to wait before using it."""
        self._refill(self._clock.monotonic())
        self._tokens -= 1.0
        return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    def cancel(self) -> None:
        """Give back a reserved token that will not be used."""
        self._tokens = min(float(self.burst), self._tokens + 1.0)

    async def acquire(self) -> float:
        """Wait for a token; returns the seconds waited."""
        wait = self.reserve()
        if wait > 0:
            try:
                await self._clock.sleep(wait)
            except BaseException:
                self.cancel()
                raise
        return wait

    @property
    def available(self) -> float:
        """Tokens available right now (negative while callers are queued)."""
        self._refill(self._clock.monotonic())
        return self._tokens


def _segments(path: str) -> tuple[str, ...]:
    return tuple(s for s in path.split("?", 1)[0].split("/") if s)


def _matches(pattern: tuple[str, ...], path: tuple[str, ...]) -> bool:
    if len(pattern) > len(path):
        return False
    return all(p == s or p.startswith(":") for p, s in zip(pattern, path, strict=False))


class RateLimiter:
    """Per-prefix token buckets (longest prefix wins; ``:uid`` matches one segment) and a semaphore.

    Unmatched paths share a fallback bucket per top-level resource (``/v1/<resource>``). One instance
    may be shared by all clients of one Palette instance, since Palette limits per source IP.
    """

    def __init__(
        self,
        limits: Mapping[str, RateLimit] | None = None,
        *,
        fallback: RateLimit = DEFAULT_FALLBACK_RATE_LIMIT,
        enabled: bool = True,
        max_concurrency: int = 16,
        clock: Clock | None = None,
    ) -> None:
        self.enabled = enabled
        self._clock = clock or SystemClock()
        self._fallback = fallback
        self._limits = {prefix: limit for prefix, limit in (limits or {}).items()}
        # Longest first; among equals, literal segments beat ``:uid`` (as the simulator does).
        self._patterns = sorted(
            ((_segments(p), p) for p in self._limits),
            key=lambda item: (-len(item[0]), sum(s.startswith(":") for s in item[0])),
        )
        self._buckets: dict[str, TokenBucket] = {}
        self._keys: dict[str, str] = {}
        self._semaphore = asyncio.Semaphore(max(1, max_concurrency))

    @classmethod
    def from_options(cls, options: ClientOptions, clock: Clock | None = None) -> RateLimiter:
        """A limiter configured from the client options."""
        return cls(
            options.rate_limits,
            fallback=options.fallback_rate_limit,
            enabled=options.rate_limits_enabled,
            max_concurrency=options.max_concurrency,
            clock=clock,
        )

    def bucket_key(self, path: str) -> str:
        """The prefix whose bucket ``path`` (a path or a path template) draws from."""
        key = self._keys.get(path)
        if key is None:
            segs = _segments(path)
            key = next((raw for pattern, raw in self._patterns if _matches(pattern, segs)), None)
            if key is None:
                key = "/" + "/".join(segs[:2]) + " (fallback)"
            self._keys[path] = key
        return key

    def bucket(self, path: str) -> TokenBucket:
        """The bucket for ``path``, created on first use."""
        key = self.bucket_key(path)
        bucket = self._buckets.get(key)
        if bucket is None:
            limit = self._limits.get(key, self._fallback)
            bucket = self._buckets[key] = TokenBucket(limit.rate, limit.burst, self._clock)
        return bucket

    @asynccontextmanager
    async def slot(self, path: str) -> AsyncIterator[float]:
        """Hold a concurrency slot and a rate token for one request; yields the seconds waited.

        The concurrency slot is taken first so requests never pile up behind the semaphore and then
        leave in a burst the bucket had spread out.
        """
        async with self._semaphore:
            waited = await self.bucket(path).acquire() if self.enabled else 0.0
            yield waited
