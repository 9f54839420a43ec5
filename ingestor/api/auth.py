"""Who may call the protected routes: static bearer tokens from ``auth.externalAccess`` (for now).

``auth.allowUnauthenticated`` lets every caller through, with a loud warning. Backstage JWT identity
(a later issue) plugs in here. Imports only ``config`` and ``api.errors`` of ours; tokens never reach a log.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

import structlog
from fastapi import Request

from ingestor.api.errors import UnauthorizedError
from ingestor.config import AuthSettings

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Principal:
    """Who made a request: ``static:<subject>`` or ``anonymous``."""

    subject: str
    authenticated: bool


ANONYMOUS = Principal("anonymous", authenticated=False)


class Authenticator:
    """Checks ``Authorization: Bearer <token>`` against the configured static tokens in constant time."""

    def __init__(self, settings: AuthSettings) -> None:
        # Only digests are kept: a token never sits in this object's state or repr.
        self._digests = [
            (_digest(entry.options.token.get_secret_value()), entry.options.subject)
            for entry in settings.external_access
        ]
        self.allow_unauthenticated = settings.allow_unauthenticated
        if self.allow_unauthenticated:
            log.warning(
                "auth.unauthenticated_access_enabled",
                detail="auth.allowUnauthenticated is true: ANY caller may trigger crawls; not for production",
            )

    def __repr__(self) -> str:
        return (
            f"Authenticator(tokens={len(self._digests)}, allow_unauthenticated={self.allow_unauthenticated})"
        )

    def identify(self, authorization: str | None) -> Principal:
        """The principal for an ``Authorization`` header; ``UnauthorizedError`` when it is not accepted."""
        token = _bearer(authorization)
        if token is not None:
            digest = _digest(token)
            for known, subject in self._digests:
                if hmac.compare_digest(known, digest):
                    return Principal(f"static:{subject}", authenticated=True)
        if self.allow_unauthenticated:
            return ANONYMOUS
        if token is None:
            raise UnauthorizedError("this route needs an Authorization: Bearer token")
        raise UnauthorizedError("the bearer token is not accepted")


def _bearer(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    return value if scheme.lower() == "bearer" and value else None


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def require_caller(request: Request) -> Principal:
    """FastAPI dependency: the authenticated caller of a protected route."""
    authenticator: Authenticator = request.app.state.authenticator
    principal = authenticator.identify(request.headers.get("authorization"))
    if not principal.authenticated:
        log.warning("auth.unauthenticated_call", path=request.url.path)
    return principal
