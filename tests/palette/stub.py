"""A scripted Palette stand-in on a real socket, plus helpers to script it.

Starlette under uvicorn on 127.0.0.1 with an ephemeral port in a background thread; each test sets
``stub.handler`` (a function from the received request to a ``Reply``) and reads ``stub.seen``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ingestor.palette.client import PaletteClient
from ingestor.palette.options import ClientOptions, RetryPolicy, Timeouts

TOKEN = "tok-SECRET-5f1d2c3b4a"  # the API key every test client uses; must never leak
USER_TOKEN = "jwt-SECRET-a1b2c3d4e5"
ALL_METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH"]


@dataclass
class Seen:
    """One request as the stub received it."""

    method: str
    raw_path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    header_names: list[str]
    body: bytes
    at: float

    @property
    def path(self) -> str:
        return self.raw_path

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    def q(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


@dataclass
class Reply:
    """What the stub answers: JSON (``data``) or raw ``body``, optional delay and headers."""

    status: int = 200
    data: Any = None
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    media_type: str = "application/json"


Handler = Callable[[Seen], Reply]


def v1_error(status: int, code: str, message: str, ref: str = "ref-1", **kw: Any) -> Reply:
    return Reply(status, {"code": code, "message": message, "ref": ref}, **kw)


def sequence(*replies: Reply) -> Handler:
    """Answer with ``replies`` in order; the last one repeats."""
    queue = list(replies)

    def handler(_: Seen) -> Reply:
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return handler


def token_for(offset: int) -> str:
    return base64.b64encode(json.dumps({"offset": offset}).encode()).decode()


def offset_of(token: str | None) -> int:
    return int(json.loads(base64.b64decode(token))["offset"]) if token else 0


def pager(items: list[dict[str, Any]], *, page: int = 10, key: str = "items") -> Handler:
    """Palette-style paging over ``items``: ``continue`` read from the query only."""

    def handler(seen: Seen) -> Reply:
        start = offset_of(seen.q("continue"))
        size = min(page, int(seen.q("limit") or page))
        chunk = items[start : start + size]
        nxt = start + size
        token = token_for(nxt) if nxt < len(items) else ""
        listmeta = {"continue": token, "count": len(items), "limit": size, "offset": nxt}
        return Reply(200, {key: chunk, "listmeta": listmeta})

    return handler


class PaletteStub:
    """The scripted server. ``handler`` decides every answer; ``seen`` records every request."""

    def __init__(self) -> None:
        self.handler: Handler = lambda _: Reply(404, {"code": "ResourceNotFound", "message": "no script"})
        self.seen: list[Seen] = []
        self.port = 0
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def reset(self) -> None:
        self.handler = lambda _: Reply(404, {"code": "ResourceNotFound", "message": "no script"})
        self.seen = []

    async def _endpoint(self, request: Request) -> Response:
        body = await request.body()
        seen = Seen(
            method=request.method,
            raw_path=request.scope["raw_path"].decode("latin-1"),
            query=parse_qs(request.scope["query_string"].decode("latin-1"), keep_blank_values=True),
            headers={k.lower(): v for k, v in request.headers.items()},
            header_names=[k.decode("latin-1").lower() for k, _ in request.headers.raw],
            body=body,
            at=time.monotonic(),
        )
        self.seen.append(seen)
        reply = self.handler(seen)
        if reply.delay:
            await asyncio.sleep(reply.delay)
        content = reply.body if reply.body is not None else json.dumps(reply.data).encode()
        if reply.body is None and reply.data is None and reply.status == 204:
            content = b""
        return Response(content, reply.status, headers=reply.headers, media_type=reply.media_type)

    def start(self) -> None:
        app = Starlette(routes=[Route("/{path:path}", self._endpoint, methods=ALL_METHODS)])
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
        config.timeout_graceful_shutdown = 1
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="palette-stub", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("palette stub did not start")
            time.sleep(0.01)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=5)


def fast_options(**overrides: Any) -> ClientOptions:
    """Options for tests: tiny back-off, short timeouts, no rate limits unless asked."""
    retry = overrides.pop("retry", RetryPolicy(max_attempts=4, backoff_initial=0.001, backoff_max=0.01))
    timeouts = overrides.pop("timeouts", Timeouts(connect=2, read=2, write=2, pool=2, total=10))
    overrides.setdefault("rate_limits_enabled", False)
    return ClientOptions(retry=retry, timeouts=timeouts, **overrides)


def free_port() -> int:
    """A port nothing listens on (bound and released), for connection-refused tests."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


ClientFactory = Callable[..., PaletteClient]
