"""Where each instance's Palette OIDC endpoints are: configured, read from discovery, or derived.

Explicit ``tokenUrl``/``issuer``/``jwksUrl`` win; the rest comes from the discovery document
(``discoveryUrl``, default: the authorization URL's parent + ``/.well-known/openid-configuration``), fetched
once and cached; a token URL is derived from the authorization URL (final ``/auth`` → ``/token``) only when
no discovery is configured and none was needed. One JWKS cache per instance.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import structlog

from ingestor.auth.jwks import JwksCache, JwksUnavailableError
from ingestor.auth.oidc import SignInError, default_discovery_url, derived_token_url
from ingestor.config.models import EnvironmentSettings, OidcSettings
from ingestor.palette.oidc import OidcHttp, OidcHttpError

log = structlog.get_logger(__name__)

UNAVAILABLE = "SpectroCloud Palette is unavailable; try again"


@dataclass(frozen=True)
class Endpoints:
    """The resolved endpoints of one instance's sign-in."""

    authorization_url: str
    token_url: str
    issuer: str
    jwks_url: str


class OidcProviders:
    """Endpoints and signing keys per configured instance (resolved lazily, shared by requests)."""

    def __init__(self, http: OidcHttp) -> None:
        self._http = http
        self._endpoints: dict[str, Endpoints] = {}
        self._keys: dict[str, JwksCache] = {}
        self._lock = asyncio.Lock()

    async def endpoints(self, env: EnvironmentSettings) -> Endpoints:
        name = env.name or ""
        found = self._endpoints.get(name)
        if found is not None:
            return found
        async with self._lock:
            found = self._endpoints.get(name)
            if found is None:
                found = await self._resolve(_oidc(env))
                self._endpoints[name] = found
                log.info("signin.endpoints_resolved", instance=name)
        return found

    async def keys(self, env: EnvironmentSettings) -> JwksCache:
        name = env.name or ""
        if name not in self._keys:
            url = (await self.endpoints(env)).jwks_url
            self._keys[name] = JwksCache(self._jwks_fetcher(url))
        return self._keys[name]

    def _jwks_fetcher(self, url: str) -> Any:
        async def fetch() -> Mapping[str, Any]:
            try:
                return await self._http.document(url, "JWKS")
            except OidcHttpError as exc:
                raise JwksUnavailableError(str(exc)) from None

        return fetch

    async def _resolve(self, oidc: OidcSettings) -> Endpoints:
        token_url, issuer, jwks_url = oidc.token_url, oidc.issuer, oidc.jwks_url
        needs_discovery = oidc.discovery_url is not None or issuer is None or jwks_url is None
        if needs_discovery:
            url = oidc.discovery_url or default_discovery_url(oidc.authorization_url)
            try:
                document = await self._http.document(url, "OIDC discovery document")
            except OidcHttpError as exc:
                raise SignInError(f"OIDC discovery failed: {exc}", public=UNAVAILABLE) from None
            token_url = token_url or _text(document, "token_endpoint")
            issuer = issuer or _text(document, "issuer")
            jwks_url = jwks_url or _text(document, "jwks_uri")
        token_url = token_url or derived_token_url(oidc.authorization_url)
        missing = [
            n for n, v in (("tokenUrl", token_url), ("issuer", issuer), ("jwksUrl", jwks_url)) if not v
        ]
        if missing or token_url is None or issuer is None or jwks_url is None:
            raise SignInError(f"sign-in endpoints unknown: set oidc.{', oidc.'.join(missing)}")
        return Endpoints(oidc.authorization_url, token_url, issuer, jwks_url)


def _oidc(env: EnvironmentSettings) -> OidcSettings:
    if env.oidc is None:
        raise SignInError(f"instance {env.name!r} has no oidc settings")
    return env.oidc


def _text(document: Mapping[str, Any], key: str) -> str | None:
    """A discovery value; endpoint URLs must be http(s)."""
    value = document.get(key)
    if not isinstance(value, str) or not value:
        return None
    if key != "issuer" and not value.startswith(("https://", "http://")):
        return None
    return value
