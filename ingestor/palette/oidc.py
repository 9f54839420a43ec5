"""HTTP of Palette's OIDC side: the discovery document, the JWKS and the authorization-code exchange.

The protocol's checks (state, nonce, PKCE, ID-token verification) live in ``ingestor.auth.oidc``; this
module only talks to Palette. Errors never carry a response body, a code, a secret or a URL query:
the token endpoint's error text is not shown to anyone (it may echo what was sent).
Imports nothing of ours but ``palette``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import structlog

log = structlog.get_logger(__name__)

MAX_DOCUMENT_BYTES = 256 * 1024
_ERROR_CODE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class OidcHttpError(Exception):
    """Palette's OIDC side could not be used: unreachable, an error status, or an unreadable answer.

    ``status`` is the HTTP status (``None`` when nothing came back); ``error`` the RFC 6749 error code when
    the token endpoint sent a well-formed one. The message names the endpoint kind only.
    """

    def __init__(self, message: str, *, status: int | None = None, error: str | None = None) -> None:
        self.status = status
        self.error = error
        super().__init__(message)


@dataclass(frozen=True)
class TokenResponse:
    """The token endpoint's answer; every token kept out of the repr."""

    id_token: str | None = field(repr=False)
    access_token: str | None = field(repr=False)
    refresh_token: str | None = field(repr=False)
    expires_in: int | None
    scope: str | None


class OidcHttp:
    """One ``httpx.AsyncClient`` for every instance's discovery, JWKS and token calls (explicit timeouts)."""

    def __init__(self, *, timeout: float = 10.0, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout), transport=transport, follow_redirects=False
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def document(self, url: str, what: str) -> Mapping[str, Any]:
        """A JSON object from ``url`` (discovery or JWKS); ``what`` names it in errors."""
        try:
            response = await self._client.get(url, headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise OidcHttpError(f"Palette's {what} is unreachable ({type(exc).__name__})") from None
        if response.status_code != 200:
            status = response.status_code
            raise OidcHttpError(f"Palette's {what} answered {status}", status=status)
        return _json_object(response, what)

    async def exchange_code(
        self,
        token_url: str,
        *,
        code: str,
        redirect_uri: str,
        client_id: str,
        client_secret: str | None,
        code_verifier: str,
    ) -> TokenResponse:
        """``grant_type=authorization_code`` with the PKCE verifier (client_secret_post with a secret)."""
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": client_id,
            "code_verifier": code_verifier,
        }
        if client_secret:
            form["client_secret"] = client_secret
        try:
            response = await self._client.post(token_url, data=form, headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise OidcHttpError(f"Palette's token endpoint is unreachable ({type(exc).__name__})") from None
        if response.status_code != 200:
            error = _error_code(response)
            log.warning("palette.oidc.token_rejected", status=response.status_code, error=error)
            raise OidcHttpError(
                f"Palette's token endpoint answered {response.status_code}",
                status=response.status_code,
                error=error,
            )
        body = _json_object(response, "token endpoint")
        return TokenResponse(
            id_token=_text(body.get("id_token")),
            access_token=_text(body.get("access_token")),
            refresh_token=_text(body.get("refresh_token")),
            expires_in=body.get("expires_in") if isinstance(body.get("expires_in"), int) else None,
            scope=_text(body.get("scope")),
        )


def _json_object(response: httpx.Response, what: str) -> Mapping[str, Any]:
    if len(response.content) > MAX_DOCUMENT_BYTES:
        raise OidcHttpError(f"Palette's {what} answer is too large", status=response.status_code)
    try:
        body = response.json()
    except ValueError:
        raise OidcHttpError(f"Palette's {what} answer is not JSON", status=response.status_code) from None
    if not isinstance(body, dict):
        raise OidcHttpError(f"Palette's {what} answer is not a JSON object", status=response.status_code)
    return body


def _error_code(response: httpx.Response) -> str | None:
    """The RFC 6749 ``error`` code when it looks like one; never free text."""
    try:
        body = response.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, str) and _ERROR_CODE.match(error) else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
