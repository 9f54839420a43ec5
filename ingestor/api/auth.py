"""Who is calling: the ``require_caller`` dependency over ``auth.IdentityVerifier``.

Backstage user tokens (JWKS) and static ``auth.externalAccess`` tokens are accepted;
``auth.allowUnauthenticated`` lets anonymous callers through, with a loud warning at start-up.
A rejected credential is 401; an unreachable JWKS is 503. Tokens never reach a log.
"""

from __future__ import annotations

from dataclasses import dataclass

import structlog
from fastapi import Request

from ingestor.api.errors import NotReadyError, UnauthorizedError
from ingestor.auth import AuthenticationError, IdentityVerifier, JwksUnavailableError, Principal, bearer_token
from ingestor.auth.identity import ANONYMOUS

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Caller:
    """A verified caller and the bearer token it presented (needed to ask Backstage about the user)."""

    principal: Principal
    token: str | None

    def __repr__(self) -> str:
        return f"Caller({self.principal.display!r})"

    @property
    def subject(self) -> str:
        return self.principal.display


class CallerIdentifier:
    """Turns the ``Authorization`` header into a ``Caller`` (or 401/503)."""

    def __init__(self, verifier: IdentityVerifier, *, allow_unauthenticated: bool) -> None:
        self._verifier = verifier
        self.allow_unauthenticated = allow_unauthenticated
        if allow_unauthenticated:
            log.warning(
                "auth.unauthenticated_access_enabled",
                detail="auth.allowUnauthenticated is true: ANY caller may use the API; not for production",
            )

    @property
    def verifier(self) -> IdentityVerifier:
        """The token verifier (shared with the console, so both accept the same callers)."""
        return self._verifier

    def __repr__(self) -> str:
        return f"CallerIdentifier({self._verifier!r}, allow_unauthenticated={self.allow_unauthenticated})"

    async def identify(self, authorization: str | None) -> Caller:
        if self.allow_unauthenticated and not (authorization and authorization.strip()):
            return Caller(ANONYMOUS, None)
        try:
            principal = await self._verifier.verify(authorization)
        except JwksUnavailableError:
            raise NotReadyError("Backstage's signing keys are unavailable; try again shortly") from None
        except AuthenticationError as exc:
            if self.allow_unauthenticated:
                return Caller(ANONYMOUS, None)
            raise UnauthorizedError(str(exc)) from None
        return Caller(principal, bearer_token(authorization) if principal.kind == "user" else None)


async def require_caller(request: Request) -> Caller:
    """FastAPI dependency: the authenticated caller of a protected route."""
    identifier: CallerIdentifier = request.app.state.identifier
    caller = await identifier.identify(request.headers.get("authorization"))
    if caller.principal.kind == "anonymous":
        log.warning("auth.unauthenticated_call", path=request.url.path)
    request.state.caller = caller
    return caller
