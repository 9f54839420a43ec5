"""The Backstage JWKS: fetched on demand, cached with a TTL, refreshed once on an unknown ``kid``.

Imports only ``ingestor.errors`` of ours; no httpx (the default fetcher uses urllib in a thread).
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import jwt
import structlog

from ingestor.errors import FatalError, RetriableError

log = structlog.get_logger(__name__)

JwksFetcher = Callable[[], Awaitable[Mapping[str, Any]]]
MAX_JWKS_BYTES = 1024 * 1024


class AuthenticationError(FatalError):
    """The caller's credentials are missing or not accepted. The message never contains the token."""


class JwksUnavailableError(RetriableError):
    """The JWKS could not be fetched or parsed and no cached keys can answer: try again later."""


class JwksCache:
    """Signing keys by ``kid``: refetched after ``ttl`` seconds, or early when a token names an unknown key.

    Early refreshes happen at most once per ``min_refresh_interval`` seconds; concurrent refreshes coalesce.
    When a refetch fails, keys already cached stay in use.
    """

    def __init__(
        self,
        fetch: JwksFetcher,
        *,
        ttl: float = 600.0,
        min_refresh_interval: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._ttl = ttl
        self._min_interval = min_refresh_interval
        self._clock = clock
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        self._last_attempt: float | None = None
        self._generation = 0
        self._attempts = 0
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"JwksCache(keys={len(self._keys)}, generation={self._generation})"

    @property
    def generation(self) -> int:
        """How many successful fetches so far."""
        return self._generation

    async def key(self, kid: str) -> jwt.PyJWK:
        """The key with this ``kid``; ``AuthenticationError`` when the JWKS does not (yet) hold it."""
        if self._expired():
            await self._refresh("expired", required=not self._keys)
        found = self._keys.get(kid)
        if found is None:
            await self._refresh("unknown_kid", required=False)
            found = self._keys.get(kid)
        if found is None and self._fetched_at is None:
            raise JwksUnavailableError("the Backstage JWKS has not been loaded yet")
        if found is None:
            raise AuthenticationError("the token is signed by an unknown key")
        return found

    def _expired(self) -> bool:
        return self._fetched_at is None or self._clock() - self._fetched_at >= self._ttl

    def _may_attempt(self) -> bool:
        return self._last_attempt is None or self._clock() - self._last_attempt >= self._min_interval

    async def _refresh(self, reason: str, *, required: bool) -> None:
        """Refetch unless one ran within ``min_refresh_interval``; callers arriving mid-fetch share it."""
        seen = self._attempts
        async with self._lock:
            if self._attempts != seen or not self._may_attempt():
                return
            self._attempts += 1
            self._last_attempt = self._clock()
            try:
                keys = parse_jwks(await self._fetch())
            except JwksUnavailableError as exc:
                log.warning("auth.jwks_fetch_failed", error=str(exc), cached_keys=len(self._keys))
                if required:
                    raise
                return
            self._keys = keys
            self._fetched_at = self._clock()
            self._generation += 1
            log.info("auth.jwks_refreshed", keys=len(keys), reason=reason)


def parse_jwks(document: Mapping[str, Any]) -> dict[str, jwt.PyJWK]:
    """Signing keys by ``kid``; entries without a ``kid``, for encryption, or unusable are skipped."""
    entries = document.get("keys") if isinstance(document, Mapping) else None
    if not isinstance(entries, list):
        raise JwksUnavailableError("the JWKS document has no 'keys' list")
    keys: dict[str, jwt.PyJWK] = {}
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("kid"), str):
            continue
        if entry.get("use", "sig") != "sig":
            continue
        try:
            keys[entry["kid"]] = jwt.PyJWK(entry)
        except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError) as exc:
            log.warning("auth.jwks_key_skipped", kid=entry["kid"][:64], reason=type(exc).__name__)
    return keys


def urllib_fetcher(url: str, *, timeout: float = 5.0) -> JwksFetcher:
    """A fetcher that GETs ``url`` with urllib in a worker thread (http/https only, body ≤ 1 MiB)."""
    if not url.startswith(("http://", "https://")):
        raise ValueError("the JWKS URL must be http(s)")

    def get() -> Mapping[str, Any]:
        request = urllib.request.Request(url, headers={"Accept": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (scheme checked)
                body = response.read(MAX_JWKS_BYTES + 1)
        except (urllib.error.URLError, OSError) as exc:
            raise JwksUnavailableError(f"cannot fetch the JWKS from {url}: {type(exc).__name__}") from None
        if len(body) > MAX_JWKS_BYTES:
            raise JwksUnavailableError(f"the JWKS at {url} is larger than {MAX_JWKS_BYTES} bytes")
        try:
            document = json.loads(body)
        except ValueError:
            raise JwksUnavailableError(f"the JWKS at {url} is not JSON") from None
        if not isinstance(document, dict):
            raise JwksUnavailableError(f"the JWKS at {url} is not a JSON object")
        return document

    async def fetch() -> Mapping[str, Any]:
        return await asyncio.to_thread(get)

    return fetch
