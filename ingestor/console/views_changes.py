"""Console page: the change feed (``/changes``) and its live stream (``/console/events``, Server-Sent Events).

The page lists the newest changes of the log; the stream sends every change after an id (``Last-Event-ID`` or
``?after=``), woken by the scheduler's commit listener and polling the store each second (other replicas'
commits). Reads go through ``store.queries`` only; imports ``console``, ``scheduler``, ``store``, ``logging``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import weakref
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import structlog
import uvicorn
from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from ingestor.console.app import ConsoleDeps, page, unknown_instance
from ingestor.console.identity import Operator
from ingestor.console.views_catalog import entity_path, instance_of, segment, when
from ingestor.logging import redact_text
from ingestor.scheduler import CrawlScheduler
from ingestor.store import queries
from ingestor.store.db import Database
from ingestor.store.rows import ChangeRow

log = structlog.get_logger(__name__)

PAGE_SIZE = 100
STREAM_BATCH = 200
POLL_SECONDS = 1.0
HEARTBEAT_SECONDS = 15.0
RETRY_MS = 2000
KINDS = (
    ("cluster", "Clusters"),
    ("virtual-cluster", "Virtual clusters"),
    ("cluster-group", "Cluster groups"),
    ("cluster-profile", "Cluster profiles"),
    ("project", "Projects"),
)
BADGES = {"added": "ok", "modified": "warn", "removed": "bad"}


@dataclass(frozen=True)
class Filters:
    """``instance`` and ``project`` (a uid) narrow the read; ``kind`` (Palette or Backstage) is matched."""

    instance: str | None
    project: str | None
    kind: str | None

    @classmethod
    def of(cls, request: Request) -> Filters:
        get = request.query_params.get
        instance = get("instance")  # "_" is the unnamed instance, as on the catalog's pages
        return cls(instance_of(instance) if instance else None, get("project") or None, get("kind") or None)

    def matches(self, row: ChangeRow) -> bool:
        return self.kind is None or self.kind == row.palette_kind or self.kind.lower() == row.kind.lower()

    def query(self) -> dict[str, str]:
        instance = None if self.instance is None else segment(self.instance)
        pairs = {"instance": instance, "project": self.project, "kind": self.kind}
        return {key: value for key, value in pairs.items() if value is not None}


def change_item(row: ChangeRow, projects: dict[tuple[str, str], str]) -> dict[str, Any]:
    """A change as listed and streamed (``url``: its entity page; ``None`` once removed)."""
    name = row.ref.rpartition("/")[2]
    url = None if row.change == "removed" else entity_path(row.instance, row.palette_kind, name)
    project = projects.get((row.instance, row.project_uid)) if row.project_uid else None
    return {
        "id": row.id,
        "at": _iso(row.at),
        "time": when(row.at),
        "instance": row.instance,
        "change": row.change,
        "badge": BADGES.get(row.change, "warn"),
        "kind": row.palette_kind,
        "entityKind": row.kind,
        "ref": row.ref,
        "name": name,
        "url": url,
        "projectUid": row.project_uid,
        "project": project or row.project_uid,
    }


def project_names(db: Database, instance: str | None) -> dict[tuple[str, str], str]:
    """``(instance, project uid) -> title`` of the stored projects."""
    rows = queries.current_entities(db, instance, palette_kind="project").entities
    names = {}
    for row in rows:
        meta = row.body.get("metadata", {})
        names[(row.instance, row.key)] = str(meta.get("title") or meta.get("name") or row.name)
    return names


def latest_changes(db: Database, filters: Filters, limit: int = PAGE_SIZE) -> tuple[list[ChangeRow], int]:
    """The newest ``limit`` changes matching ``filters`` (newest first) and the id to stream after."""
    rows = queries.changes(
        db,
        filters.instance,
        project_uid=filters.project,
        kind=filters.kind,
        limit=limit,
        newest_first=True,
    )
    return rows, rows[0].id if rows else queries.newest_change_id(db)


@dataclass(frozen=True)
class InstanceNotice:
    """Why changes may be missing or late: never crawled, the last crawl failed, removals held back."""

    instance: str
    crawled: bool
    problem: str | None
    held: int
    held_reasons: list[str]


def instance_notices(db: Database, instances: list[str]) -> list[InstanceNotice]:
    """What the feed must say about each instance besides its changes (sync; run with ``db.run``)."""
    notices = []
    for name in instances:
        state = queries.instance_state(db, name)
        problem = None
        if state is not None and state.last_run_status not in (None, "ok"):
            run = queries.last_run(db, name)
            detail = (run.error_message or run.error_class) if run is not None else None
            problem = f"the last crawl ({state.last_run_status}) at {when(state.last_run_at)}"
            if detail:
                problem += f": {redact_text(detail)}"
        held = queries.held_removals(db, name)
        reasons = sorted({redact_text(row.reason) for row in held})[:3]
        crawled = state is not None and state.has_snapshot
        notices.append(InstanceNotice(name, crawled, problem, len(held), reasons))
    return notices


class Wakeups:
    """Wakes the open streams of one scheduler when a crawl commits here (the listener is sync)."""

    def __init__(self) -> None:
        self._events: dict[asyncio.Event, asyncio.AbstractEventLoop] = {}

    def __call__(self, instance: str, result: object) -> None:
        del instance, result
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        for event, loop in list(self._events.items()):
            if loop is running:
                event.set()
            elif not loop.is_closed():
                loop.call_soon_threadsafe(event.set)

    def open(self) -> asyncio.Event:
        event = asyncio.Event()
        self._events[event] = asyncio.get_running_loop()
        return event

    def close(self, event: asyncio.Event) -> None:
        self._events.pop(event, None)

    def __len__(self) -> int:
        return len(self._events)


_WAKEUPS: weakref.WeakKeyDictionary[CrawlScheduler, Wakeups] = weakref.WeakKeyDictionary()


def wakeups_of(scheduler: CrawlScheduler) -> Wakeups:
    """The one ``Wakeups`` listening to ``scheduler`` (registered on first use)."""
    found = _WAKEUPS.get(scheduler)
    if found is None:
        found = _WAKEUPS[scheduler] = Wakeups()
        scheduler.add_listener(found)
    return found


def open_streams(scheduler: CrawlScheduler) -> int:
    """How many change streams of ``scheduler``'s service are open (for tests and diagnostics)."""
    found = _WAKEUPS.get(scheduler)
    return 0 if found is None else len(found)


def _uvicorn_server() -> uvicorn.Server | None:
    """The uvicorn server running this event loop, if any.

    uvicorn's graceful shutdown waits for open responses and tells the app nothing, so a stream watches
    ``should_exit`` to end at once instead of holding the shutdown until its timeout.
    """
    for task in asyncio.all_tasks():
        frame = getattr(task.get_coro(), "cr_frame", None)
        owner = frame.f_locals.get("self") if frame is not None else None
        if isinstance(owner, uvicorn.Server):
            return owner
    return None


def _sse(event: str, data: dict[str, Any], event_id: int | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


async def change_stream(
    request: Request, deps: ConsoleDeps, filters: Filters, after: int
) -> AsyncIterator[str]:
    """``retry``, then every matching change after ``after`` as an ``change`` event; ``status`` events say
    when the store cannot be read (and when it can again); ``: ping`` when idle."""
    wakeups = wakeups_of(deps.scheduler)
    wake = wakeups.open()
    server = _uvicorn_server()
    projects: dict[tuple[str, str], str] = {}
    failing = False
    log.info("console.stream_opened", after=after, **filters.query())
    try:
        yield f"retry: {RETRY_MS}\n\n"
        written = time.monotonic()
        while not (server is not None and server.should_exit) and not await request.is_disconnected():
            wake.clear()
            try:
                rows = await deps.db.run(
                    queries.changes,
                    filters.instance,
                    after_id=after,
                    project_uid=filters.project,
                    limit=STREAM_BATCH,
                )
                if any(r.project_uid and (r.instance, r.project_uid) not in projects for r in rows):
                    projects = await deps.db.run(project_names, filters.instance)
            except Exception as exc:
                log.warning("console.stream_store_failed", error_class=type(exc).__name__)
                if not failing:
                    failing = True
                    yield _sse("status", {"ok": False, "message": _store_message(exc)})
                    written = time.monotonic()
                await _wait(wake, POLL_SECONDS * 2)
                continue
            if failing:
                failing = False
                yield _sse("status", {"ok": True, "message": "the store answers again"})
            for row in rows:
                if filters.matches(row):
                    yield _sse("change", change_item(row, projects), row.id)
                    written = time.monotonic()
            after = rows[-1].id if rows else after
            if len(rows) == STREAM_BATCH:
                continue  # more are waiting
            if time.monotonic() - written >= HEARTBEAT_SECONDS:
                yield ": ping\n\n"
                written = time.monotonic()
            await _wait(wake, POLL_SECONDS)
    finally:
        wakeups.close(wake)
        log.info("console.stream_closed", after=after)


async def _wait(event: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), seconds)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def _store_message(exc: Exception) -> str:
    return f"the change log cannot be read from the store ({type(exc).__name__}); retrying"


def _cursor(request: Request) -> int | None:
    """The stream's start: ``Last-Event-ID`` (a browser reconnecting), else ``?after=``; -1: malformed."""
    raw = request.headers.get("last-event-id") or request.query_params.get("after")
    if raw is None or raw == "":
        return None
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 19 else -1


def register(router: APIRouter, deps: ConsoleDeps) -> None:
    """Add ``/changes`` and ``/console/events`` to the console router."""
    wakeups_of(deps.scheduler)

    async def changes_page(request: Request, operator: Operator) -> Response:
        filters = Filters.of(request)
        instances = deps.scheduler.instances
        if filters.instance is not None and filters.instance not in instances:
            return unknown_instance(deps, request, operator)
        shown = [filters.instance] if filters.instance is not None else instances
        try:
            rows, cursor = await deps.db.run(latest_changes, filters)
            projects = await deps.db.run(project_names, None)
            notices = await deps.db.run(instance_notices, shown)
        except Exception as exc:
            log.error("console.changes_failed", error_class=type(exc).__name__)
            return deps.render(
                request,
                operator,
                "message.html",
                status=500,
                title="Store unavailable",
                message=f"The change log cannot be read from the store ({type(exc).__name__}); the page "
                "shows nothing rather than partial data. Try again shortly; the service log has details.",
            )
        stream = "/console/events?" + urlencode({**filters.query(), "after": str(cursor)})
        return deps.render(
            request,
            operator,
            "changes.html",
            items=[change_item(row, projects) for row in rows],
            filters=filters,
            kinds=KINDS,
            projects=sorted({(uid, name) for (_, uid), name in projects.items()}, key=lambda p: p[1].lower()),
            notices=notices,
            crawled=any(n.crawled for n in notices),
            stream=stream,
            page_size=PAGE_SIZE,
            change_days=deps.settings.database.retention.change_days,
        )

    async def events(request: Request) -> Response:
        """The change log as Server-Sent Events after ``Last-Event-ID`` or ``?after=`` (default: now)."""
        operator = await deps.operator(request)
        if not operator.signed_in and not deps.anonymous_read:
            return Response("Sign in to read the change feed.", status_code=401, media_type="text/plain")
        filters = Filters.of(request)
        if filters.instance is not None and filters.instance not in deps.scheduler.instances:
            return Response("No such instance is crawled.", status_code=404, media_type="text/plain")
        after = _cursor(request)
        if after == -1:
            return Response(
                "after / Last-Event-ID must be a change id.", status_code=400, media_type="text/plain"
            )
        if after is None:
            try:
                after = await deps.db.run(queries.newest_change_id)
            except Exception as exc:
                log.error("console.events_failed", error_class=type(exc).__name__)
                return Response(_store_message(exc), status_code=503, media_type="text/plain")
        headers = {
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",
            "X-Content-Type-Options": "nosniff",
        }
        return StreamingResponse(
            change_stream(request, deps, filters, after), media_type="text/event-stream", headers=headers
        )

    router.add_api_route("/changes", page(deps, changes_page), methods=["GET"])
    router.add_api_route("/console/events", events, methods=["GET"])
