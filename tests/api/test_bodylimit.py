"""``BodyLimitMiddleware`` at the ASGI level: the cases a real HTTP client cannot produce (an invalid
``Content-Length`` is refused by the server's parser first) and what happens to the app after a refusal.
The socket-level behaviour (Content-Length and chunked 413s) is tested in tests/plugin/test_create.py."""

from __future__ import annotations

import json
from typing import Any

import pytest
from starlette.requests import ClientDisconnect, Request
from starlette.types import Message, Receive, Scope, Send

from ingestor.api.bodylimit import BodyLimitMiddleware

LIMIT = 10


def http_scope(*headers: tuple[bytes, bytes]) -> Scope:
    return {"type": "http", "method": "POST", "path": "/x", "headers": list(headers)}


class Exchange:
    """Feeds body chunks to the middleware and keeps what it sends."""

    def __init__(self, *chunks: bytes) -> None:
        self.chunks = list(chunks)
        self.sent: list[Message] = []
        self.reads = 0

    async def receive(self) -> Message:
        self.reads += 1
        if not self.chunks:
            return {"type": "http.disconnect"}
        chunk = self.chunks.pop(0)
        return {"type": "http.request", "body": chunk, "more_body": bool(self.chunks)}

    async def send(self, message: Message) -> None:
        self.sent.append(message)

    @property
    def status(self) -> int:
        return int(next(m["status"] for m in self.sent if m["type"] == "http.response.start"))

    @property
    def body(self) -> Any:
        return json.loads(
            b"".join(m.get("body", b"") for m in self.sent if m["type"] == "http.response.body")
        )


async def echo_app(scope: Scope, receive: Receive, send: Send) -> None:
    """Reads the whole body (like a route), then answers 200 with its length."""
    body = await Request(scope, receive).body()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": json.dumps({"length": len(body)}).encode()})


async def test_body_within_the_limit_reaches_the_app() -> None:
    exchange = Exchange(b"12345", b"67890")
    await BodyLimitMiddleware(echo_app, limit_bytes=LIMIT)(http_scope(), exchange.receive, exchange.send)
    assert (exchange.status, exchange.body) == (200, {"length": 10})


async def test_declared_length_over_the_limit_never_reads_or_calls_the_app() -> None:
    called: list[bool] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        called.append(True)

    exchange = Exchange(b"x" * 11)
    await BodyLimitMiddleware(app, limit_bytes=LIMIT)(
        http_scope((b"Content-Length", b"11")), exchange.receive, exchange.send
    )
    assert exchange.status == 413 and exchange.body == {"error": "request body exceeds the limit of 10 bytes"}
    assert called == [] and exchange.reads == 0


async def test_invalid_content_length_is_400() -> None:
    exchange = Exchange(b"x")
    await BodyLimitMiddleware(echo_app, limit_bytes=LIMIT)(
        http_scope((b"content-length", b"-1")), exchange.receive, exchange.send
    )
    assert exchange.status == 400 and exchange.body == {"error": "invalid Content-Length"}


async def test_streamed_body_is_cut_at_the_limit_and_the_apps_answer_dropped() -> None:
    exchange = Exchange(b"123456", b"789012", b"never read")
    await BodyLimitMiddleware(echo_app, limit_bytes=LIMIT)(http_scope(), exchange.receive, exchange.send)
    # echo_app got a disconnect (ClientDisconnect, swallowed); only our 413 went out.
    assert exchange.status == 413
    assert [m["type"] for m in exchange.sent] == ["http.response.start", "http.response.body"]
    assert exchange.chunks == [b"never read"]


async def test_app_failures_before_a_refusal_propagate() -> None:
    async def failing(scope: Scope, receive: Receive, send: Send) -> None:
        raise ClientDisconnect()

    exchange = Exchange(b"1")
    with pytest.raises(ClientDisconnect):
        await BodyLimitMiddleware(failing, limit_bytes=LIMIT)(http_scope(), exchange.receive, exchange.send)


async def test_an_app_that_answered_before_reading_keeps_its_answer() -> None:
    async def early(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 202, "headers": []})
        while (await receive())["type"] == "http.request":
            pass
        await send({"type": "http.response.body", "body": b'{"ok": true}'})

    exchange = Exchange(b"123456", b"789012")
    await BodyLimitMiddleware(early, limit_bytes=LIMIT)(http_scope(), exchange.receive, exchange.send)
    assert exchange.status == 202 and exchange.body == {"ok": True}


async def test_other_scopes_pass_through() -> None:
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])

    async def receive() -> Message:
        return {"type": "lifespan.startup"}

    async def send(message: Message) -> None:
        pass

    await BodyLimitMiddleware(app, limit_bytes=LIMIT)({"type": "lifespan"}, receive, send)
    assert seen == ["lifespan"]
