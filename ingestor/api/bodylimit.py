"""ASGI middleware: request bodies larger than ``server.bodyLimitBytes`` get 413 ``{"error": ...}``.

A declared ``Content-Length`` over the limit is refused before anything is read; a body without one
(chunked) is counted while the app reads it, and the 413 goes out as soon as the count passes the limit.
Pure ASGI (no Starlette request objects); imports nothing of ours.
"""

from __future__ import annotations

import json

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = structlog.get_logger(__name__)

DISCONNECT: Message = {"type": "http.disconnect"}


def _error(status: int, message: str) -> tuple[Message, Message]:
    body = json.dumps({"error": message}).encode()
    start: Message = {
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            # The rest of the body stays unread: the connection cannot be reused.
            (b"connection", b"close"),
        ],
    }
    return start, {"type": "http.response.body", "body": body, "more_body": False}


def declared_length(scope: Scope) -> int | None:
    """The request's ``Content-Length`` (``None`` when absent); ``ValueError`` when it is not a number."""
    for name, value in scope.get("headers", []):
        if name.lower() == b"content-length":
            text = value.decode("latin-1").strip()
            if not (text.isascii() and text.isdigit()):
                raise ValueError("invalid Content-Length")
            return int(text)
    return None


class BodyLimitMiddleware:
    """Refuse request bodies over ``limit_bytes`` with 413 (invalid ``Content-Length``: 400)."""

    def __init__(self, app: ASGIApp, *, limit_bytes: int) -> None:
        self.app = app
        self.limit_bytes = limit_bytes

    def too_large(self) -> tuple[Message, Message]:
        return _error(413, f"request body exceeds the limit of {self.limit_bytes} bytes")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            length = declared_length(scope)
        except ValueError as exc:
            for message in _error(400, str(exc)):
                await send(message)
            return
        if length is not None and length > self.limit_bytes:
            log.info("api.body_too_large", path=scope.get("path"), declared=length, limit=self.limit_bytes)
            for message in self.too_large():
                await send(message)
            return
        await _LimitedExchange(self, scope, receive, send).run()


class _LimitedExchange:
    """One request whose body is counted as the app reads it."""

    def __init__(self, owner: BodyLimitMiddleware, scope: Scope, receive: Receive, send: Send) -> None:
        self.owner = owner
        self.scope = scope
        self._receive = receive
        self._send = send
        self.received = 0
        self.started = False  # a response has begun
        self.cut = False  # the body passed the limit: the app reads a disconnect from now on
        self.refused = False  # we answered 413; the app's own answer is dropped

    async def run(self) -> None:
        try:
            await self.owner.app(self.scope, self.receive, self.send)
        except Exception as exc:
            if not self.refused:
                raise
            # The app failed because we cut its body short (e.g. a client-disconnect error); the
            # caller already has its 413.
            log.debug("api.body_limit_app_stopped", error_class=type(exc).__name__)

    async def receive(self) -> Message:
        if self.cut:
            return DISCONNECT
        message = await self._receive()
        if message["type"] != "http.request":
            return message
        self.received += len(message.get("body", b""))
        if self.received <= self.owner.limit_bytes:
            return message
        log.info(
            "api.body_too_large",
            path=self.scope.get("path"),
            received=self.received,
            limit=self.owner.limit_bytes,
        )
        self.cut = True
        if not self.started:  # else the app answered without waiting for the body: let it finish
            self.started = self.refused = True
            for reply in self.owner.too_large():
                await self._send(reply)
        return DISCONNECT

    async def send(self, message: Message) -> None:
        if self.refused:
            return
        if message["type"] == "http.response.start":
            self.started = True
        await self._send(message)
