"""Who is using the console: the same identities as the API, carried by a sealed ``HttpOnly`` cookie.

``POST /console/sign-in`` takes a token the API accepts (a static ``auth.externalAccess`` token or a Backstage
user token), verifies it like the API does, and keeps it sealed (AES-GCM) in the cookie ``ingestor-console``
(``HttpOnly``, ``SameSite=Strict``, ``Secure`` on https, path ``/``) for at most ``console.sessionHours``;
every request verifies it again, so a revoked or expired token signs the operator out. An
``Authorization: Bearer`` header works too. Without either, the caller is anonymous (allowed to read only
with ``console.anonymousRead`` or ``auth.allowUnauthenticated``).
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass

import structlog
from fastapi import Request

from ingestor.auth.identity import ANONYMOUS, Principal
from ingestor.auth.sessions import SessionCipher

log = structlog.get_logger(__name__)

COOKIE = "ingestor-console"
CONTEXT = "console-sign-in"


@dataclass(frozen=True)
class Operator:
    """The console's caller: a verified principal and the token it was verified from (``None``: anonymous)."""

    principal: Principal
    token: str | None

    @property
    def signed_in(self) -> bool:
        return self.principal.kind != "anonymous"

    @property
    def name(self) -> str:
        return self.principal.display


ANONYMOUS_OPERATOR = Operator(ANONYMOUS, None)


def seal_token(cipher: SessionCipher, token: str, expires_at: float) -> str:
    blob = cipher.seal(json.dumps({"t": token, "e": int(expires_at)}), CONTEXT, "")
    return base64.urlsafe_b64encode(blob).rstrip(b"=").decode("ascii")


def open_token(cipher: SessionCipher, value: str) -> str | None:
    """The token in a console cookie, or ``None`` when it is damaged, foreign or past its expiry."""
    try:
        blob = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except ValueError:
        return None
    text = cipher.open(blob, CONTEXT, "")
    if text is None:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("t"), str) or not isinstance(data.get("e"), int):
        return None
    return data["t"] if data["e"] > time.time() else None


def presented_token(request: Request, cipher: SessionCipher) -> str | None:
    """The bearer token of the request: the ``Authorization`` header, else the console cookie."""
    header = request.headers.get("authorization")
    if header and header.lower().startswith("bearer "):
        return header[7:].strip() or None
    cookie = request.cookies.get(COOKIE)
    return open_token(cipher, cookie) if cookie else None
