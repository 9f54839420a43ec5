"""Fault injection for the Palette simulator: the run-time state of the faults and the ASGI middleware.

The middleware wraps any ASGI app and knows nothing of the simulator's data. Of ours it imports only
``ingestor.simulator`` modules (fault specs, ratelimit's v1Error helpers); never httpx.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import json
import random
import socket
import struct
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ingestor.simulator.faults_spec import (
    ANSWERS,
    KINDS,
    REWRITES,
    ErrorFault,
    Fault,
    HangFault,
    LatencyFault,
    MalformedFault,
    OutageFault,
    PageFault,
    ResetFault,
    StormFault,
    parse_fault,
    parse_faults,
    path_regex,
)
from ingestor.simulator.ratelimit import retry_after_header, send_json, too_many_requests, v1_error_body

__all__ = [
    "ADMIN_PREFIX",
    "ANSWERS",
    "KINDS",
    "REWRITES",
    "ErrorFault",
    "Fault",
    "FaultMiddleware",
    "FaultState",
    "HangFault",
    "LatencyFault",
    "MalformedFault",
    "OutageFault",
    "PageFault",
    "Plan",
    "RequestInfo",
    "ResetFault",
    "StormFault",
    "parse_fault",
    "parse_faults",
]

log = structlog.get_logger(__name__)
Clock = Callable[[], float]
ADMIN_PREFIX = "/__sim"  # never faulted, so the admin endpoint stays reachable


@dataclass(frozen=True)
class RequestInfo:
    """What faults filter on; the project comes from the ``ProjectUid`` header or query (any case)."""

    method: str
    path: str
    project_uid: str | None = None
    continue_token: str | None = None

    @classmethod
    def from_scope(cls, scope: Scope) -> RequestInfo:
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        project = next((v.decode("latin-1") for k, v in scope["headers"] if k.lower() == b"projectuid"), None)
        project = project or next((v for k, v in query if k.lower() == "projectuid"), None)
        token = next((v for k, v in query if k == "continue"), None)
        return cls(scope["method"], scope["path"], project, token or None)


@dataclass
class _Entry:
    id: str
    fault: Fault
    added: float
    rng: random.Random
    fired: int = 0


@dataclass
class Plan:
    """The faults chosen for one request: delay, then hang, then an answer, a rewrite or the app."""

    delay: float = 0.0
    hang: HangFault | None = None
    answer: tuple[str, Fault] | None = None
    rewrite: tuple[str, Fault] | None = None


class FaultState:
    """The active faults, their firing counts and the hanging requests; thread-safe.

    Ids are ``f1``, ``f2``... in order of addition. Each fault rolls its own RNG seeded from
    ``(seed, id)``, so a run is reproducible for a given request order.
    """

    def __init__(self, faults: Iterable[Fault] = (), *, seed: int = 0, clock: Clock = time.monotonic) -> None:
        self.seed = seed
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}
        self._next = 1
        self._released = False
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()
        for fault in faults:
            self.add(fault)

    def add(self, fault: Fault) -> str:
        with self._lock:
            fault_id = f"f{self._next}"
            self._next += 1
            rng = random.Random(f"{self.seed}:{fault_id}")
            self._entries[fault_id] = _Entry(fault_id, fault, self._clock(), rng)
        log.info("fault added", fault_id=fault_id, kind=fault.kind, path=fault.path)
        return fault_id

    def remove(self, fault_id: str) -> bool:
        with self._lock:
            found = self._entries.pop(fault_id, None) is not None
        if found:
            log.info("fault removed", fault_id=fault_id)
        return found

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
        log.info("faults cleared")

    def list(self) -> builtins.list[dict[str, Any]]:
        """JSON-able view: each fault's fields plus ``id``, ``fired`` and ``exhausted``."""
        with self._lock:
            entries = builtins.list(self._entries.values())
        return [
            {"id": e.id, **e.fault.to_dict(), "fired": e.fired, "exhausted": _exhausted(e)} for e in entries
        ]

    def stats(self) -> dict[str, int]:
        """How many times each fault fired, by id."""
        with self._lock:
            return {e.id: e.fired for e in self._entries.values()}

    def plan(self, request: RequestInfo) -> Plan:
        """Choose (and count) the faults that fire for ``request``; rewrites are counted when applied."""
        plan = Plan()
        with self._lock:
            now = self._clock()
            for entry in self._entries.values():
                fault = entry.fault
                if isinstance(fault, LatencyFault):
                    if self._eligible(entry, request, now):
                        jitter = entry.rng.uniform(0, fault.jitter_ms) if fault.jitter_ms else 0.0
                        plan.delay += (fault.ms + jitter) / 1000
                        self._fire(entry, request)
                elif isinstance(fault, HangFault):
                    if plan.hang is None and self._eligible(entry, request, now):
                        plan.hang = fault
                        self._fire(entry, request)
                elif isinstance(fault, REWRITES):
                    if plan.rewrite is None and self._eligible(entry, request, now):
                        plan.rewrite = (entry.id, fault)
                elif plan.answer is None and self._eligible(entry, request, now):
                    plan.answer = (entry.id, fault)
                    self._fire(entry, request)
        return plan

    def consume(self, fault_id: str) -> bool:
        """Count one firing of a rewrite fault, unless it was removed or used up meanwhile."""
        with self._lock:
            entry = self._entries.get(fault_id)
            if entry is None or _exhausted(entry):
                return False
            entry.fired += 1
            return True

    @property
    def hanging(self) -> int:
        """Requests currently held by a hang fault."""
        with self._lock:
            return len(self._waiters)

    def release_hangs(self) -> None:
        """End every current and future hang at once; call it when the server starts shutting down.

        Safe from any thread (e.g. a subclass of ``uvicorn.Server.handle_exit``).
        """
        with self._lock:
            self._released = True
            waiters = builtins.list(self._waiters)
        for loop, event in waiters:
            with contextlib.suppress(RuntimeError):  # that loop is already closed
                loop.call_soon_threadsafe(event.set)

    async def hold(self, seconds: float | None, gone: asyncio.Event) -> None:
        """Wait ``seconds`` (None: forever), until ``release_hangs`` or until ``gone`` is set."""
        waiter = (asyncio.get_running_loop(), asyncio.Event())
        with self._lock:
            if self._released:
                return
            self._waiters.add(waiter)
        waits = {asyncio.ensure_future(waiter[1].wait()), asyncio.ensure_future(gone.wait())}
        try:
            await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in waits:
                task.cancel()
            with self._lock:
                self._waiters.discard(waiter)

    def _eligible(self, entry: _Entry, request: RequestInfo, now: float) -> bool:
        fault = entry.fault
        age = now - entry.added
        if age < fault.start or (fault.end is not None and age >= fault.end) or _exhausted(entry):
            return False
        if fault.method is not None and fault.method.upper() != request.method:
            return False
        if fault.project_uid is not None and fault.project_uid != request.project_uid:
            return False
        if isinstance(fault, PageFault) and fault.mode == "repeat_continue" and not request.continue_token:
            return False
        if not path_regex(fault.path).fullmatch(request.path):
            return False
        return fault.probability >= 1 or entry.rng.random() < fault.probability

    @staticmethod
    def _fire(entry: _Entry, request: RequestInfo) -> None:
        entry.fired += 1
        log.debug("fault fired", fault_id=entry.id, kind=entry.fault.kind, path=request.path)


def _exhausted(entry: _Entry) -> bool:
    return entry.fault.times is not None and entry.fired >= entry.fault.times


class FaultMiddleware:
    """ASGI middleware applying ``state``'s faults to every HTTP request outside ``/__sim``.

    Order per request: latencies (summed), one hang, then the first answering fault (error, storm,
    outage, reset), else the first rewrite (malformed, page) of the app's answer, else the app.
    Hangs are plain ``asyncio`` waits; they end early when the client leaves, on
    ``state.release_hangs()`` (call it when the server is told to exit), or when uvicorn's
    ``timeout_graceful_shutdown`` cancels them.
    """

    def __init__(self, app: ASGIApp, state: FaultState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(ADMIN_PREFIX):
            await self.app(scope, receive, send)
            return
        request = RequestInfo.from_scope(scope)
        plan = self.state.plan(request)
        if plan.delay > 0:
            await asyncio.sleep(plan.delay)
        if plan.hang is None:
            await self._respond(plan, request, scope, receive, send, receive)
            return
        async with _disconnect_watch(receive) as (replay, gone):
            await self.state.hold(plan.hang.seconds, gone)
            if gone.is_set():
                return  # the client gave up; nobody to answer
            if plan.hang.then == "drop":
                await _reset(receive, send)
                return
            await self._respond(plan, request, scope, replay, send, receive)

    async def _respond(
        self, plan: Plan, request: RequestInfo, scope: Scope, receive: Receive, send: Send, raw: Receive
    ) -> None:
        if plan.answer is not None:
            fault_id, fault = plan.answer
            if isinstance(fault, ResetFault):
                await _reset(raw, send)
            else:
                await send_json(send, *_answer(fault_id, fault, request))
        elif plan.rewrite is not None:
            await self._rewrite(plan.rewrite, request, scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _rewrite(
        self, chosen: tuple[str, Fault], request: RequestInfo, scope: Scope, receive: Receive, send: Send
    ) -> None:
        messages: builtins.list[Message] = []

        async def capture(message: Message) -> None:
            messages.append(message)

        await self.app(scope, receive, capture)
        start = next((m for m in messages if m["type"] == "http.response.start"), None)
        if start is None:
            return  # the app answered nothing; let the server deal with it
        status: int = start["status"]
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
        fault_id, fault = chosen
        changed = _rewritten(fault, request, body)
        if changed is not None and self.state.consume(fault_id):
            body = changed
            if isinstance(fault, MalformedFault):
                status = 200
                headers = [(k, v) for k, v in headers if k.lower() != b"content-type"]
                headers.append((b"content-type", b"application/json"))
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})


def _answer(fault_id: str, fault: Fault, request: RequestInfo) -> tuple[int, bytes, list[tuple[str, str]]]:
    if isinstance(fault, StormFault):
        headers = [retry_after_header(fault.retry_after)] if fault.retry_after else []
        return 429, too_many_requests(request.method, request.path), headers
    ref = f"sim-fault-{fault_id}"
    if isinstance(fault, OutageFault):
        message = f"project {fault.project_uid} is unavailable (simulated outage)"
        return 503, v1_error_body("ServiceUnavailable", message, ref=ref), []
    assert isinstance(fault, ErrorFault)
    try:
        phrase = HTTPStatus(fault.status).phrase
    except ValueError:
        phrase = "Error"
    code = fault.code or phrase.replace(" ", "").replace("-", "")
    message = fault.message or f"{phrase}, [{request.method}] {request.path}"
    return fault.status, v1_error_body(code, message, ref=ref), []


def _rewritten(fault: Fault, request: RequestInfo, body: bytes) -> bytes | None:
    """The faulted body, or None when ``fault`` does not apply to it."""
    if isinstance(fault, MalformedFault):
        return _mangle(body, fault.mode)
    assert isinstance(fault, PageFault)
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("listmeta"), dict):
        return None
    items = data.get("items")
    if fault.mode == "items_null" and "items" in data:
        data["items"] = None
    elif fault.mode == "repeat_continue":
        data["listmeta"]["continue"] = request.continue_token
    elif fault.mode == "truncate" and isinstance(items, builtins.list) and items:
        data["items"] = items[: len(items) // 2]
    else:
        return None
    return json.dumps(data, separators=(",", ":")).encode()


def _mangle(body: bytes, mode: str) -> bytes:
    middle = len(body) // 2
    if mode == "garble":
        return body[:middle] + b'\xff",}{' + body[middle:]  # never valid JSON, nor even UTF-8
    out = body[:middle]
    try:
        json.loads(out)
    except ValueError:
        return out
    return b'{"items":['  # the half happened to parse (tiny or empty body)


@contextlib.asynccontextmanager
async def _disconnect_watch(receive: Receive) -> AsyncIterator[tuple[Receive, asyncio.Event]]:
    """Read ``receive`` in the background so a client leaving mid-hang is noticed; replay it to the app."""
    queue: asyncio.Queue[Message] = asyncio.Queue()
    gone = asyncio.Event()

    async def pump() -> None:
        while True:
            message = await receive()
            queue.put_nowait(message)
            if message["type"] == "http.disconnect":
                gone.set()
                return

    task = asyncio.create_task(pump())
    try:
        yield queue.get, gone
    finally:
        task.cancel()


async def _reset(receive: Receive, send: Send) -> None:
    """Close the connection without a response.

    ASGI has no such message, so this reaches uvicorn's transport through its bound ``receive`` and
    aborts it with ``SO_LINGER`` 0 (a TCP RST). Behind a server or middleware that hides the transport,
    it falls back to sending headers only: the server then closes the connection mid-response.
    """
    cycle = getattr(receive, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if not isinstance(transport, asyncio.Transport):
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"1024")]})
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
    for _ in range(5):  # let uvicorn see the loss, so it does not try to answer 500 itself
        if getattr(cycle, "disconnected", True):
            break
        await asyncio.sleep(0)
