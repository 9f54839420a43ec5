"""Status routes: what every instance's crawls did, what runs next, who holds the lease; a crawl trigger.

Everything shown is sanitized (errors were cleaned before storage and are scrubbed again here; never a token).
Imports ``api``, ``scheduler``, ``store`` (reads) and ``logging`` of ours.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse

from ingestor import __version__
from ingestor.api.auth import Caller, require_caller
from ingestor.api.errors import ConflictError, NotFoundError, NotReadyError
from ingestor.logging import redact_text
from ingestor.scheduler import CrawlScheduler, RunningCrawl, TriggerResult, UnknownInstanceError, lease_name
from ingestor.store.db import Database
from ingestor.store.reports import InstanceRecord, latest_outcomes, read_instance
from ingestor.store.rows import RunRow

log = structlog.get_logger(__name__)
router = APIRouter(tags=["status"])

TENANT = "tenant"


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def _clean(text: str | None) -> str | None:
    return None if text is None else redact_text(text)


def run_summary(run: RunRow) -> dict[str, Any]:
    """One run as the status page shows it."""
    return {
        "id": run.id,
        "status": run.status,
        "trigger": run.trigger,
        "replica": run.replica_id,
        "startedAt": _iso(run.started_at),
        "finishedAt": _iso(run.finished_at),
        "durationSeconds": round(run.duration_seconds, 3),
        "counts": dict(run.counts),
        "added": run.added,
        "modified": run.modified,
        "removed": run.removed,
        "held": run.held,
        "apiCalls": run.calls,
        "detailCalls": run.detail_calls,
        "retries": run.retries,
        "rateLimited": run.rate_limited,
        "errors": run.errors,
        "snapshotVersion": run.snapshot_version,
        "error": None
        if run.error_class is None and run.error_message is None
        else {"class": run.error_class, "message": _clean(run.error_message)},
        "failedParts": [
            {"scope": o.scope, "kind": o.kind, "errorClass": o.error_class, "error": _clean(o.error)}
            for o in run.outcomes
            if not o.ok
        ],
    }


def project_outcomes(record: InstanceRecord) -> list[dict[str, Any]]:
    """Per scope (the tenant, then each project by name): each part's latest outcome and last success.

    The last full crawl's outcomes, with those of later project crawls (after a creation) laid over them.
    """
    ok_at = {(p.scope, p.kind): p.last_ok_at for p in record.parts}
    latest = latest_outcomes(record)
    scopes: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for o in latest.values():
        scopes[o.scope].append(
            {
                "kind": o.kind,
                "ok": o.ok,
                "items": o.items,
                "errorClass": o.error_class,
                "error": _clean(o.error),
                "lastOkAt": _iso(ok_at.get((o.scope, o.kind))),
            }
        )
    out = [
        {
            "scope": TENANT if scope == TENANT else "project",
            "uid": None if scope == TENANT else scope,
            "name": "(tenant)" if scope == TENANT else record.project_names.get(scope, scope),
            "ok": all(p["ok"] for p in parts),
            "parts": parts,
        }
        for scope, parts in scopes.items()
    ]
    return sorted(out, key=lambda s: (s["scope"] != TENANT, str(s["name"]).lower()))


def running_summary(running: RunningCrawl | None, project_names: dict[str, str]) -> dict[str, Any] | None:
    """A crawl running here: since when, scopes (tenant and projects) done of those planned (``None`` until
    the projects are listed) and the projects being crawled now."""
    if running is None:
        return None
    return {
        "startedAt": _iso(running.started_at),
        "trigger": running.trigger,
        "scopesDone": running.scopes_done,
        "scopesTotal": running.scopes_total,
        "currentProjects": [
            {"uid": uid, "name": project_names.get(uid, uid)} for uid in running.current_projects
        ],
    }


def instance_status(name: str, scheduler: CrawlScheduler, record: InstanceRecord) -> dict[str, Any]:
    """The status of one instance: snapshot, runs, schedule, lease, per-project outcomes, held removals."""
    env = scheduler.environment(name)
    state = record.state
    return {
        "name": name,
        "paletteUrl": env.url,
        "refreshIntervalSeconds": env.catalog_provider.refresh_interval_seconds,
        "snapshot": {
            "present": bool(state and state.has_snapshot),
            "version": state.snapshot_version if state else 0,
            "lastSuccessAt": _iso(state.last_success_at) if state else None,
            "lastSuccessRunId": state.last_success_run_id if state else None,
        },
        "crawling": scheduler.running(name),
        "running": running_summary(scheduler.running_crawl(name), record.project_names),
        "nextRunAt": _iso(scheduler.next_run_at(name)),
        "leaseHolder": record.lease_holder,
        "lastSkip": scheduler.last_skip(name),
        "lastRun": run_summary(record.runs[0]) if record.runs else None,
        "recentRuns": [
            {k: v for k, v in run_summary(r).items() if k not in ("counts", "failedParts")}
            for r in record.runs
        ],
        "projects": project_outcomes(record),
        "heldRemovals": [
            {
                "ref": h.ref,
                "part": {"scope": h.part[0], "kind": h.part[1]},
                "streak": h.streak,
                "reason": _clean(h.reason),
                "since": _iso(h.since),
            }
            for h in record.held
        ],
        # What the last run's mapping left out (level "error") or flagged (level "info").
        "problems": [{k: _clean(v) for k, v in problem.items()} for problem in record.runs[0].problems]
        if record.runs
        else [],
    }


def _store_down(exc: Exception) -> NotReadyError:
    log.error("status.store_unavailable", error_class=type(exc).__name__)
    return NotReadyError("the snapshot store is not reachable", retry_after=10)


def _scheduler(request: Request) -> CrawlScheduler:
    scheduler: CrawlScheduler = request.app.state.scheduler
    return scheduler


def _names(scheduler: CrawlScheduler, instance: str | None) -> list[str]:
    if instance is None:
        return scheduler.instances
    try:
        scheduler.environment(instance)
    except UnknownInstanceError:
        raise NotFoundError(f"unknown instance '{instance}'") from None
    return [next(n for n in scheduler.instances if n.lower() == instance.lower())]


@router.get("/status")
async def status(
    request: Request,
    caller: Annotated[Caller, Depends(require_caller)],
    instance: Annotated[str | None, Query()] = None,
) -> Response:
    """Authenticated. Per instance: last run (start, end, outcome, duration, counts per kind, API calls,
    retries, 429s, sanitized errors), recent runs, per-project outcomes, held-back removals, next run,
    the lease holder, and the progress of a crawl running on this replica (``running``)."""
    scheduler = _scheduler(request)
    db: Database = request.app.state.db
    names = _names(scheduler, instance)
    try:
        records = [await db.run(read_instance, name, lease_name(name)) for name in names]
    except Exception as exc:
        raise _store_down(exc) from None
    options = request.app.state.settings.scheduler
    payload = {
        "service": {
            "name": "spectrocloud-ingestor",
            "version": __version__,
            "replica": scheduler.replica_id,
            "startedAt": _iso(scheduler.started_at),
            "database": db.display_url,
        },
        "scheduler": {
            "enabled": options.enabled,
            "maxConcurrentCrawls": options.max_concurrent_crawls,
            "jitterSeconds": options.jitter_seconds,
            "leaseSeconds": options.lease_seconds,
        },
        "instances": [
            instance_status(name, scheduler, record) for name, record in zip(names, records, strict=True)
        ],
    }
    return scrubbed_json(payload)


def scrubbed_json(payload: Any, status_code: int = 200) -> Response:
    """JSON with every registered secret masked once more in the final text (errors were cleaned already)."""
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return Response(redact_text(text), status_code=status_code, media_type="application/json")


def _trigger_json(result: TriggerResult) -> dict[str, Any]:
    return {"instance": result.instance, "state": result.state, "holder": result.holder}


@router.post("/status/crawl", status_code=202)
async def trigger_crawl(
    request: Request,
    caller: Annotated[Caller, Depends(require_caller)],
    instance: Annotated[str | None, Query()] = None,
) -> JSONResponse:
    """Start a crawl now (authenticated: ``Authorization: Bearer <token>`` from ``auth.externalAccess``).

    Without ``instance`` every enabled instance is triggered. Answers 202 with ``started`` or ``running``
    (already crawling here), and 409 when another replica holds that instance's crawl lease.
    """
    scheduler = _scheduler(request)
    names = _names(scheduler, instance)
    try:
        results = [await scheduler.trigger(name) for name in names]
    except Exception as exc:
        raise _store_down(exc) from None
    if instance is not None and results[0].state == "busy":
        raise ConflictError(
            f"instance '{results[0].instance}' is being crawled by replica {results[0].holder}"
        )
    return JSONResponse(
        {"triggeredBy": caller.subject, "crawls": [_trigger_json(r) for r in results]}, status_code=202
    )
