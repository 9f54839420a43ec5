"""Calls from us to Backstage with the calling user's own token: userinfo and permission decisions.

urllib in a worker thread (no httpx outside ``palette``). The token is sent, never logged or echoed.
Imports nothing of ours outside ``ingestor.auth``.
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any

import structlog

from ingestor.auth.jwks import JwksUnavailableError

log = structlog.get_logger(__name__)

MAX_BODY_BYTES = 1024 * 1024


class BackstageHttp:
    """``GET /api/auth/v1/userinfo`` and ``POST /api/permission/authorize`` on one Backstage backend."""

    def __init__(self, base_url: str, *, timeout: float = 10.0) -> None:
        self._base = base_url.rstrip("/")
        self._timeout = timeout

    def __repr__(self) -> str:
        return f"BackstageHttp({self._base!r})"

    async def userinfo_refs(self, user_token: str) -> tuple[str, ...]:
        """The user's ownership refs (user and groups) from Backstage's userinfo endpoint."""
        answer = await self._call("GET", "/api/auth/v1/userinfo", user_token, None)
        claims = answer.get("claims") if isinstance(answer, Mapping) else None
        ent = claims.get("ent") if isinstance(claims, Mapping) else None
        if not isinstance(ent, list):
            raise JwksUnavailableError("Backstage's userinfo answer has no ownership refs")
        return tuple(ref.lower() for ref in ent if isinstance(ref, str))

    async def post_authorize(self, user_token: str, body: Mapping[str, Any]) -> Mapping[str, Any]:
        """One permission request, decided by Backstage for the user the token belongs to."""
        answer = await self._call("POST", "/api/permission/authorize", user_token, body)
        if not isinstance(answer, Mapping):
            raise JwksUnavailableError("Backstage's permission answer is not a JSON object")
        return answer

    async def _call(self, method: str, path: str, token: str, body: Mapping[str, Any] | None) -> Any:
        return await asyncio.to_thread(self._blocking_call, method, path, token, body)

    def _blocking_call(self, method: str, path: str, token: str, body: Mapping[str, Any] | None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self._base + path, data=data, method=method)
        request.add_header("Authorization", f"Bearer {token}")
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:  # noqa: S310 (configured URL)
                raw = response.read(MAX_BODY_BYTES + 1)
        except urllib.error.HTTPError as exc:
            log.warning("backstage.call_failed", path=path, status=exc.code)
            raise JwksUnavailableError(f"Backstage answered {exc.code} on {path}") from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            log.warning("backstage.unreachable", path=path, error=type(exc).__name__)
            raise JwksUnavailableError(f"Backstage is unreachable ({path})") from None
        if len(raw) > MAX_BODY_BYTES:
            raise JwksUnavailableError(f"Backstage's answer on {path} is too large")
        try:
            return json.loads(raw)
        except ValueError:
            raise JwksUnavailableError(f"Backstage's answer on {path} is not JSON") from None
