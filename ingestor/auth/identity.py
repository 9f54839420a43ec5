"""Who is calling: a Backstage user token verified against the JWKS, or a configured static service token.

Imports only ``ingestor.errors``, ``ingestor.config`` and ``ingestor.auth`` of ours.
Tokens never reach a log, repr or message.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import jwt
import structlog

from ingestor.auth.jwks import AuthenticationError, JwksCache, JwksFetcher, urllib_fetcher
from ingestor.config import AuthSettings

log = structlog.get_logger(__name__)

USER_TOKEN_TYPE = "vnd.backstage.user"
ALLOWED_ALGORITHMS = frozenset({"ES256", "ES384", "ES512", "RS256", "PS256", "EdDSA"})
MAX_TOKEN_CHARS = 32768
DEFAULT_AUDIENCE = "backstage"
_ENTITY_REF = re.compile(r"^[^:/\s]+:[^:/\s]+/[^:/\s]+$")


@dataclass(frozen=True)
class Principal:
    """A verified caller: a Backstage user (``entity_ref`` from ``sub``), a static-token service, or
    ``anonymous`` (only with ``auth.allowUnauthenticated``).

    ``ownership_refs`` come from the token's ``ent`` claim; ``has_ownership_claim`` tells whether the
    token carried one (Backstage omits it by default; then groups come from its userinfo endpoint).
    """

    kind: Literal["user", "service", "anonymous"]
    subject: str
    entity_ref: str | None = None
    ownership_refs: tuple[str, ...] = ()
    email: str | None = None
    has_ownership_claim: bool = False
    expires_at: int | None = None

    @property
    def display(self) -> str:
        """How logs and audit lines name the caller (an entity ref or ``service:<subject>``; no e-mail)."""
        if self.kind == "user":
            return self.entity_ref or self.subject
        return f"service:{self.subject}" if self.kind == "service" else "anonymous"


ANONYMOUS = Principal(kind="anonymous", subject="anonymous")


@dataclass(frozen=True)
class UserTokenPolicy:
    """What a Backstage user token must satisfy besides its signature."""

    issuer: str
    audience: str = DEFAULT_AUDIENCE
    leeway_seconds: float = 30.0


class IdentityVerifier:
    """Turns an ``Authorization`` header into a ``Principal`` or raises ``AuthenticationError``.

    ``static_tokens`` are (token, subject) pairs; only their SHA-256 digests are kept. User tokens are
    accepted only when both ``policy`` and ``jwks`` are given.
    """

    def __init__(
        self,
        static_tokens: Iterable[tuple[str, str]] = (),
        *,
        policy: UserTokenPolicy | None = None,
        jwks: JwksCache | None = None,
    ) -> None:
        self._static = [(_digest(token), subject) for token, subject in static_tokens]
        self._policy = policy if jwks is not None else None
        self._jwks = jwks

    def __repr__(self) -> str:
        users = self._policy.issuer if self._policy else None
        return f"IdentityVerifier(static_tokens={len(self._static)}, user_token_issuer={users!r})"

    async def verify(self, authorization: str | None) -> Principal:
        """The caller named by a ``Bearer`` header."""
        token = bearer_token(authorization)
        service = self._static_principal(token)
        if service is not None:
            return service
        if token.count(".") == 2 and self._policy is not None and self._jwks is not None:
            return await self._user_principal(token, self._policy, self._jwks)
        raise AuthenticationError("the bearer token is not accepted")

    def _static_principal(self, token: str) -> Principal | None:
        digest = _digest(token)
        match: str | None = None
        for known, subject in self._static:  # no early exit: time does not depend on which entry matched
            if hmac.compare_digest(known, digest) and match is None:
                match = subject
        return Principal(kind="service", subject=match) if match is not None else None

    async def _user_principal(self, token: str, policy: UserTokenPolicy, jwks: JwksCache) -> Principal:
        header = _checked_header(token)
        signing_key = await jwks.key(header["kid"])
        if signing_key.algorithm_name != header["alg"]:  # the JWK's "alg" (or its inferred one) decides
            raise AuthenticationError("the token's algorithm does not match its key")
        claims = _decode(token, signing_key, header["alg"], policy)
        return _principal_from_claims(claims)


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer <token>`` header; ``AuthenticationError`` otherwise."""
    if not authorization or not authorization.strip():
        raise AuthenticationError("this route needs an Authorization: Bearer token")
    scheme, _, value = authorization.strip().partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not value or " " in value:
        raise AuthenticationError("the Authorization header is not of the form 'Bearer <token>'")
    if len(value) > MAX_TOKEN_CHARS:
        raise AuthenticationError("the bearer token is too long")
    return value


def _checked_header(token: str) -> dict[str, Any]:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise AuthenticationError("the bearer token is not a well-formed JWT") from None
    if header.get("alg") not in ALLOWED_ALGORITHMS:
        raise AuthenticationError("the token's signing algorithm is not accepted")
    if header.get("typ") != USER_TOKEN_TYPE:
        raise AuthenticationError(f"the token is not a Backstage user token (typ must be {USER_TOKEN_TYPE})")
    if not isinstance(header.get("kid"), str) or not header["kid"]:
        raise AuthenticationError("the token names no signing key (kid)")
    return header


_CLAIM_ERRORS: tuple[tuple[type[jwt.PyJWTError], str], ...] = (
    (jwt.ExpiredSignatureError, "the token has expired"),
    (jwt.ImmatureSignatureError, "the token is not valid yet"),
    (jwt.InvalidAudienceError, "the token is meant for another audience"),
    (jwt.InvalidIssuerError, "the token was issued by another issuer"),
    (jwt.MissingRequiredClaimError, "the token lacks a required claim"),
    (jwt.InvalidSignatureError, "the token's signature does not verify"),
)


def _decode(token: str, key: jwt.PyJWK, algorithm: str, policy: UserTokenPolicy) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key=key,
            algorithms=[algorithm],
            audience=policy.audience,
            issuer=policy.issuer,
            leeway=policy.leeway_seconds,
            options={"require": ["exp", "iat", "sub", "aud", "iss"]},
        )
    except jwt.PyJWTError as exc:
        message = next((text for kind, text in _CLAIM_ERRORS if isinstance(exc, kind)), None)
        log.info("auth.user_token_rejected", reason=type(exc).__name__)
        raise AuthenticationError(message or "the token is not accepted") from None
    return claims


def _principal_from_claims(claims: dict[str, Any]) -> Principal:
    subject = claims.get("sub")
    if not isinstance(subject, str) or not _ENTITY_REF.match(subject):
        raise AuthenticationError("the token's subject is not an entity reference")
    ent = claims.get("ent")
    refs = tuple(ref for ref in ent if isinstance(ref, str)) if isinstance(ent, list) else ()
    email = claims.get("email")
    exp = claims.get("exp")
    return Principal(
        kind="user",
        subject=subject,
        entity_ref=subject.lower(),
        ownership_refs=refs,
        email=email if isinstance(email, str) else None,
        has_ownership_claim=isinstance(ent, list),
        expires_at=int(exp) if isinstance(exp, int | float) else None,
    )


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def verifier_from_settings(settings: AuthSettings, fetch: JwksFetcher | None = None) -> IdentityVerifier:
    """The verifier for ``auth``: static ``externalAccess`` tokens, plus user tokens when Backstage is set.

    The issuer defaults to ``<baseUrl>/api/auth``, the JWKS to ``<baseUrl>/api/auth/.well-known/jwks.json``.
    ``fetch`` replaces the default urllib fetcher (tests, or a shared HTTP client).
    """
    static = [(e.options.token.get_secret_value(), e.options.subject) for e in settings.external_access]
    backstage = settings.backstage
    base = str(backstage.base_url).rstrip("/") if backstage.base_url else None
    issuer = backstage.issuer or (f"{base}/api/auth" if base else None)
    jwks_url = str(backstage.jwks_url) if backstage.jwks_url else None
    jwks_url = jwks_url or (f"{base}/api/auth/.well-known/jwks.json" if base else None)
    if issuer is None or (jwks_url is None and fetch is None):
        if backstage.jwks_url or backstage.issuer:
            log.warning("auth.user_tokens_disabled", detail="needs auth.backstage.baseUrl, or jwksUrl+issuer")
        return IdentityVerifier(static)
    fetcher = fetch or urllib_fetcher(str(jwks_url))
    policy = UserTokenPolicy(issuer=issuer, audience=backstage.audience or DEFAULT_AUDIENCE)
    return IdentityVerifier(static, policy=policy, jwks=JwksCache(fetcher))
