"""What the browser gets from "Sign in with Palette": cookies, the popup page and the session JSON.

The popup page posts Backstage's ``authorization_response`` message to the opener's (allowed) origin, as
Backstage's own OAuth handler page does, under a strict CSP with a per-response script nonce. Cookies are
``HttpOnly``, ``SameSite=Lax``, ``Secure`` on https and scoped to our sign-in paths (compat A7).
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from fastapi.responses import HTMLResponse, Response

from ingestor.auth.oidc import SignedIn

BASE_PATH = "/api/auth/spectrocloud"
FLOW_COOKIE = "spectrocloud-signin"
FLOW_COOKIE_PATH = f"{BASE_PATH}/handler"
SESSION_COOKIE = "spectrocloud-session"
SESSION_COOKIE_PATH = BASE_PATH
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache", "Referrer-Policy": "no-referrer"}


def set_cookie(response: Response, name: str, value: str, *, path: str, max_age: int, secure: bool) -> None:
    response.set_cookie(name, value, max_age=max_age, path=path, secure=secure, httponly=True, samesite="lax")


def clear_cookie(response: Response, name: str, *, path: str, secure: bool) -> None:
    response.delete_cookie(name, path=path, secure=secure, httponly=True, samesite="lax")


def session_json(signed: SignedIn, scope: str, now: float) -> dict[str, Any]:
    """Backstage's OAuth response shape (``profile``, ``providerInfo``) for the stock frontend.

    ``accessToken``/``idToken`` carry the verified OIDC ID token, never the Palette session token: that
    stays server-side and the plugin API uses it for this user (compat A7, A15).
    """
    token = signed.id_token or ""
    return {
        "profile": {"email": signed.email, "displayName": signed.name or signed.email},
        "providerInfo": {
            "accessToken": token,
            "idToken": token,
            "scope": scope,
            "expiresInSeconds": max(int(signed.expires_at - now), 0),
        },
        "userEntityRef": signed.user_ref,
        "instance": signed.instance,
    }


def _script_json(value: object) -> str:
    """JSON safe inside a ``<script type="application/json">`` element."""
    text = json.dumps(value)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def popup_page(message: dict[str, Any], origin: str | None, *, status: int = 200) -> HTMLResponse:
    """A page that hands ``message`` to ``window.opener`` at ``origin`` and closes (else shows a note)."""
    nonce = secrets.token_urlsafe(16)
    payload = {"type": "authorization_response", **message}
    note = message.get("error", {}).get("message") if "error" in message else "Signed in to SpectroCloud."
    body = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>SpectroCloud sign-in</title></head>
<body><p id="note"></p>
<script type="application/json" id="message">{_script_json(payload)}</script>
<script type="application/json" id="origin">{_script_json(origin)}</script>
<script type="application/json" id="text">{_script_json(note)}</script>
<script nonce="{nonce}">
(function () {{
  var read = function (id) {{ return JSON.parse(document.getElementById(id).textContent); }};
  var origin = read("origin");
  if (window.opener && origin) {{
    window.opener.postMessage(read("message"), origin);
    setTimeout(function () {{ window.close(); }}, 50);
  }}
  document.getElementById("note").textContent = read("text") + " You can close this window.";
}})();
</script></body></html>
"""
    headers = {
        **NO_STORE,
        "Content-Security-Policy": (
            f"default-src 'none'; script-src 'nonce-{nonce}'; base-uri 'none'; form-action 'none'; "
            "frame-ancestors 'none'"
        ),
        "X-Content-Type-Options": "nosniff",
    }
    return HTMLResponse(body, status_code=status, headers=headers)


def error_message(public: str) -> dict[str, Any]:
    return {"error": {"name": "Error", "message": public}}
