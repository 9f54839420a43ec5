"""Tuning of the Palette client: timeouts, retries, concurrency and per-prefix rate limits.

Plain frozen dataclasses so the adapter needs nothing from the rest of the service; the
configuration layer builds them from the ``palette:`` section. Imports nothing of ours.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Timeouts:
    """Seconds. ``total`` is the overall deadline of one logical call, retries included."""

    connect: float = 5.0
    read: float = 30.0
    write: float = 30.0
    pool: float = 10.0
    total: float = 120.0


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential back-off with full jitter; ``Retry-After`` wins when Palette sends one."""

    max_attempts: int = 5
    backoff_initial: float = 0.5
    backoff_max: float = 30.0
    backoff_multiplier: float = 2.0
    retry_statuses: tuple[int, ...] = (429, 502, 503, 504)


@dataclass(frozen=True)
class RateLimit:
    """A token bucket: ``rate`` requests per second with room for ``burst`` at once."""

    rate: float
    burst: int


# Palette's documented per-source-IP limits per resource prefix (palette-api.md 1.5).
# Longest matching prefix wins; ``:uid`` matches one path segment.
DEFAULT_RATE_LIMITS: dict[str, RateLimit] = {
    "/v1/dashboard": RateLimit(10, 5),
    "/v1/spectroclusters": RateLimit(50, 5),
    "/v1/spectroclusters/:uid/assets": RateLimit(10, 5),
    "/v1/spectroclusters/:uid/profiles": RateLimit(50, 5),
    "/v1/clusterprofiles": RateLimit(50, 5),
    "/v1/projects": RateLimit(10, 5),
    "/v1/users": RateLimit(10, 5),
    "/v1/cloudaccounts": RateLimit(10, 5),
    "/v1/overlords": RateLimit(10, 5),
    "/v1/clouds": RateLimit(10, 5),
    "/v1/auth": RateLimit(10, 5),
    "/v1/clustergroups": RateLimit(10, 5),
}
DEFAULT_FALLBACK_RATE_LIMIT = RateLimit(10, 5)


@dataclass(frozen=True)
class ClientOptions:
    """Everything that tunes one ``PaletteClient``."""

    timeouts: Timeouts = field(default_factory=Timeouts)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    max_connections: int = 20
    max_concurrency: int = 16
    page_size: int = 50
    max_pages: int = 10_000
    rate_limits_enabled: bool = True
    rate_limits: dict[str, RateLimit] = field(default_factory=lambda: dict(DEFAULT_RATE_LIMITS))
    fallback_rate_limit: RateLimit = DEFAULT_FALLBACK_RATE_LIMIT
    user_agent: str = "spectrocloud-ingestor"
