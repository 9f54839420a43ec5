"""Which Palette credential a live call uses, in the seed's order (compat.md 4.3):

1. the caller's stored Palette session for that instance (looked up by the verified identity; a
   static-token service marked ``trustUserEmailHeader`` may name a user by ``X-SpectroCloud-User-Email``);
2. ``X-SpectroCloud-Token`` sent by the caller (never a non-HS256 JWT, A15);
3. the instance's static ``apiToken``, when the caller's route and the instance allow the fall-back.

Otherwise ``ReauthRequiredError``. Tokens and e-mails never reach a log line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

import structlog

from ingestor.auth.identity import Principal
from ingestor.auth.palette_tokens import forwardable_to_palette
from ingestor.config.models import EnvironmentSettings
from ingestor.errors import FatalError
from ingestor.palette.credentials import ApiKey, Credential, SessionToken

log = structlog.get_logger(__name__)

CredentialSource = Literal["session", "header", "api-key"]


class ReauthRequiredError(FatalError):
    """No usable Palette credential for this call: the caller must sign in to Palette (again)."""


class SessionLookup(Protocol):
    """The stored Palette sessions (``auth.sessions.SessionVault`` fits)."""

    async def get(self, user_ref: str, instance: str) -> str | None: ...

    async def get_by_email(self, email: str, instance: str) -> tuple[str, str] | None: ...

    async def drop(self, user_ref: str, instance: str) -> None: ...


@dataclass(frozen=True)
class CallerHeaders:
    """The Palette-related request headers (values are secrets or personal data: never log them)."""

    token: str | None = None
    user_email: str | None = None

    def __repr__(self) -> str:
        token = "<set>" if self.token else None
        email = "<set>" if self.user_email else None
        return f"CallerHeaders(token={token}, user_email={email})"


@dataclass(frozen=True)
class ResolvedCredential:
    """The credential a call uses, where it came from, and whether to tell the caller to sign in again."""

    credential: Credential
    source: CredentialSource
    session_user: str | None = None  # whose stored session (dropped when Palette answers 401)
    reauth_hint: bool = False  # answer with ``X-SpectroCloud-ReAuth-Required: true``


async def resolve_credential(
    principal: Principal,
    env: EnvironmentSettings,
    headers: CallerHeaders,
    *,
    sessions: SessionLookup | None,
    trusts_email_header: bool,
    allow_api_key: bool,
) -> ResolvedCredential:
    """The credential for one call to ``env`` on behalf of ``principal`` (see the module docstring)."""
    instance = env.name or ""
    email = (headers.user_email or "").strip() or None
    stored = await _stored_session(principal, instance, email, sessions, trusts_email_header)
    if stored is not None:
        user_ref, session = stored
        return ResolvedCredential(SessionToken(session), "session", session_user=user_ref)
    reauth = email is not None  # the seed's rule: a named user without a stored session
    token: str | None = (headers.token or "").strip() or None
    if token is not None:
        if forwardable_to_palette(token):
            return ResolvedCredential(SessionToken(token), "header")
        log.info("access.token_header_not_forwarded", reason="not a Palette session token (non-HS256 JWT)")
        reauth = True
    if allow_api_key:
        return ResolvedCredential(ApiKey(env.api_token.get_secret_value()), "api-key", reauth_hint=reauth)
    raise ReauthRequiredError(
        f"no Palette session for this call on instance {instance!r}: sign in to SpectroCloud Palette"
    )


async def _stored_session(
    principal: Principal,
    instance: str,
    email: str | None,
    sessions: SessionLookup | None,
    trusts_email_header: bool,
) -> tuple[str, str] | None:
    if sessions is None:
        return None
    if principal.kind == "user" and principal.entity_ref:
        if email is not None and principal.email is not None and email.lower() != principal.email.lower():
            # S1: the header names someone else; it is never used to pick a session.
            log.warning("access.user_email_header_ignored", caller=principal.display)
        token = await sessions.get(principal.entity_ref, instance)
        if token is not None:
            return principal.entity_ref, token
        if principal.email is not None:
            # The verified token's own e-mail: a Palette sign-in stored under another ref (its e-mail's
            # local part) still belongs to this user.
            return await sessions.get_by_email(principal.email, instance)
        return None
    if principal.kind == "service" and trusts_email_header and email is not None:
        return await sessions.get_by_email(email, instance)
    return None
