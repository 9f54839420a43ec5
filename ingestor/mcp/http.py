"""``/mcp``: the streamable-HTTP transport behind the same authentication as the plugin API.

A pure ASGI endpoint: it verifies ``Authorization`` (Backstage user token or static token), answers 401/503
as JSON itself, and otherwise hands the request to the SDK's session manager with the caller in a context
variable the tools read.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager

from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from starlette.datastructures import Headers
from starlette.types import Receive, Scope, Send

from ingestor.access.credentials import CallerHeaders
from ingestor.auth.identity import Principal
from ingestor.mcp.context import McpCaller, McpDeps, current_caller
from ingestor.mcp.server import build_server

# (authorization header) -> (principal, bearer token or None); raises to refuse: see ``Refusal``
Identify = Callable[[str | None], Awaitable[tuple[Principal, str | None]]]


class Refusal(Exception):
    """The request may not reach the MCP server: ``status`` and a safe ``message``."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


class McpEndpoint:
    """ASGI app for ``/mcp``."""

    def __init__(self, manager: Callable[[], StreamableHTTPSessionManager], identify: Identify) -> None:
        self._manager = manager
        self._identify = identify

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope)
        try:
            principal, token = await self._identify(headers.get("authorization"))
        except Refusal as refusal:
            await _json(send, refusal.status, {"error": refusal.message}, refusal.headers)
            return
        caller = McpCaller(
            principal,
            token,
            CallerHeaders(
                token=headers.get("x-spectrocloud-token"), user_email=headers.get("x-spectrocloud-user-email")
            ),
        )
        reset = current_caller.set(caller)
        try:
            await self._manager().handle_request(scope, receive, send)
        finally:
            current_caller.reset(reset)


async def _json(send: Send, status: int, body: dict[str, str], headers: dict[str, str]) -> None:
    payload = json.dumps(body).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": payload})


class McpService:
    """The MCP server for one app: its ASGI endpoint and the session manager's lifetime.

    Stateless streamable HTTP: every request runs in its own task with its own caller, so an identity can
    never leak from one request (or one client) to another through a shared session.
    """

    def __init__(self, deps: McpDeps, identify: Identify) -> None:
        self.server = build_server(deps)
        # Builds the session manager. Host checks (DNS rebinding) are off: every request needs a bearer token.
        self.server.streamable_http_app(
            stateless_http=True,
            transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
        )
        self.endpoint = McpEndpoint(lambda: self.server.session_manager, identify)

    def running(self) -> AbstractAsyncContextManager[None]:
        """Keep the session manager running (enter in the app's lifespan)."""
        return self.server.session_manager.run()
