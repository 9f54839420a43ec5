"""ASGI middleware: ``X-SpectroCloud-ReAuth-Required: true`` rides on whatever response follows a call
that found no stored Palette session for a named user (compat.md 4.1 step 6, 4.3 step 4)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ingestor.api.plugin.context import REAUTH_STATE
from ingestor.api.plugin.failures import REAUTH_HEADER


class ReauthHeaderMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start" and scope.get("state", {}).get(REAUTH_STATE):
                headers = list(message.get("headers", []))
                name = REAUTH_HEADER.lower().encode()
                if not any(key.lower() == name for key, _ in headers):
                    headers.append((name, b"true"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_header)
