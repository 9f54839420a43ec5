"""Console page: the overview at ``/`` (every instance's crawls, health and a chart of recent runs), the same
data as JSON at ``/console/api/overview`` (for the page's refresh), and the "crawl now" button's state.

Reads the store through ``store.queries``/``store.lease`` and the scheduler; never imports ``api``. Every
error text shown was sanitized before storage and is scrubbed again here.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import Response
from markupsafe import Markup

from ingestor.console import charts
from ingestor.console.app import ConsoleDeps, page, page_headers
from ingestor.console.identity import Operator
from ingestor.logging import redact_text
from ingestor.scheduler import lease_name
from ingestor.store.reports import InstanceRecord, latest_outcomes, read_instance
from ingestor.store.rows import RunRow

log = structlog.get_logger(__name__)

RECENT_RUNS = 30
TENANT = "tenant"
CRAWL_NOTICES = {
    "started": ("ok", "A crawl of {instance} started; this page refreshes when it finishes."),
    "running": (
        "warn",
        "A crawl of {instance} is already running here; this page refreshes when it finishes.",
    ),
    "busy": ("warn", "Another replica is crawling {instance} right now (it holds the crawl lease)."),
}
PALETTE_KIND_OF_PART = {
    "projects": "project",
    "clusters": "cluster",
    "virtualClusters": "virtual-cluster",
    "clusterGroups": "cluster-group",
    "clusterProfiles": "cluster-profile",
}
"""Part kind -> the palette kind it fetches (``catalog.inventory.PART_KINDS`` reversed)."""
UNNAMED = "_"
"""The catalog pages' path segment for the unnamed instance."""
STATUS_TONE = {"ok": "ok", "partial": "warn", "failed": "bad"}


def _clean(text: str | None) -> str | None:
    return None if text is None else redact_text(text)


def scope_name(record: InstanceRecord, scope: str) -> str:
    return "(tenant)" if scope == TENANT else record.project_names.get(scope, scope)


def entity_href(instance: str, part_kind: str, ref: str) -> str | None:
    """The catalog page of a held entity: ``/entities/<instance, "_" if unnamed>/<palette kind>/<name>``
    (the catalog page's scheme); its palette kind is the one its part fetches. ``None`` if unknown."""
    palette_kind = PALETTE_KIND_OF_PART.get(part_kind)
    name = ref.partition(":")[2].rpartition("/")[2]
    if palette_kind is None or not name:
        return None
    return "/entities/" + "/".join(quote(s, safe="") for s in (instance or UNNAMED, palette_kind, name))


def run_summary(record: InstanceRecord, run: RunRow) -> dict[str, Any]:
    """One run as the page shows it (errors scrubbed; failed parts named by project)."""
    return {
        "id": run.id,
        "status": run.status,
        "tone": STATUS_TONE.get(run.status, "bad"),
        "trigger": run.trigger,
        "replica": run.replica_id,
        "startedAt": run.started_at,
        "finishedAt": run.finished_at,
        "durationSeconds": round(run.duration_seconds, 3),
        "counts": dict(sorted(run.counts.items())),
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
            {
                "scope": scope_name(record, o.scope),
                "kind": o.kind,
                "errorClass": o.error_class,
                "error": _clean(o.error),
            }
            for o in run.outcomes
            if not o.ok
        ],
    }


def project_outcomes(record: InstanceRecord) -> list[dict[str, Any]]:
    """Per scope, each part's latest outcome (the last full crawl with later project crawls laid over it)
    and its last success; failing scopes first, then the tenant, then projects by name."""
    ok_at = {(p.scope, p.kind): p.last_ok_at for p in record.parts}
    latest = latest_outcomes(record)
    scopes: dict[str, list[dict[str, Any]]] = {}
    for (scope, kind), o in sorted(latest.items()):
        scopes.setdefault(scope, []).append(
            {
                "kind": kind,
                "ok": o.ok,
                "items": o.items,
                "errorClass": o.error_class,
                "error": _clean(o.error),
                "lastOkAt": ok_at.get((scope, kind)),
            }
        )
    out = [
        {
            "scope": TENANT if scope == TENANT else "project",
            "uid": None if scope == TENANT else scope,
            "name": scope_name(record, scope),
            "ok": all(p["ok"] for p in parts),
            "items": sum(p["items"] for p in parts),
            "parts": parts,
        }
        for scope, parts in scopes.items()
    ]
    return sorted(out, key=lambda s: (s["ok"], s["scope"] != TENANT, str(s["name"]).lower()))


def health(record: InstanceRecord) -> tuple[str, str, str]:
    """(state, tone, headline): what a reader must know first, with the reason when something is wrong."""
    state = record.state
    last = record.runs[0] if record.runs else None
    if last is None:
        return "never", "warn", "No crawl has completed yet: there is no data for this instance so far."
    reason = _clean(last.error_message) or last.error_class or "see the failed parts below"
    if state is None or not state.has_snapshot:
        return "no-snapshot", "bad", f"No crawl has succeeded yet, so nothing is served. Last error: {reason}"
    if last.status == "failed":
        since = state.last_success_at.strftime("%Y-%m-%d %H:%M:%S UTC") if state.last_success_at else "?"
        return "failing", "bad", f"The last crawl failed ({reason}); serving the snapshot of {since}."
    if last.status == "partial":
        return "partial", "warn", "The last crawl was partial: failed parts keep their previous data (stale)."
    return "ok", "ok", "The last crawl succeeded."


def instance_view(deps: ConsoleDeps, name: str, record: InstanceRecord) -> dict[str, Any]:
    """Everything the page shows about one instance (the JSON route drops the chart)."""
    scheduler = deps.scheduler
    env = scheduler.environment(name)
    state, tone, headline = health(record)
    held = [
        {
            "ref": h.ref,
            "href": entity_href(name, h.part[1], h.ref),
            "scope": scope_name(record, h.part[0]),
            "kind": h.part[1],
            "streak": h.streak,
            "reason": _clean(h.reason),
            "since": h.since,
        }
        for h in record.held
    ]
    holder = record.lease_holder
    return {
        "name": name,
        "label": name or "(unnamed)",
        "paletteUrl": env.url,
        "refreshIntervalSeconds": env.catalog_provider.refresh_interval_seconds,
        "state": state,
        "tone": tone,
        "headline": headline,
        "snapshot": {
            "present": bool(record.state and record.state.has_snapshot),
            "version": record.state.snapshot_version if record.state else 0,
            "lastSuccessAt": record.state.last_success_at if record.state else None,
            "lastSuccessRunId": record.state.last_success_run_id if record.state else None,
        },
        "crawling": scheduler.running(name),
        "schedulerEnabled": deps.settings.scheduler.enabled,
        "nextRunAt": scheduler.next_run_at(name),
        "leaseHolder": holder if holder not in (None, scheduler.replica_id) else None,
        "lastSkip": scheduler.last_skip(name),
        "lastRun": run_summary(record, record.runs[0]) if record.runs else None,
        "recentRuns": [run_summary(record, run) for run in record.runs],
        "projects": project_outcomes(record),
        "heldRemovals": held,
        "problems": [{k: _clean(v) for k, v in p.items()} for p in record.runs[0].problems]
        if record.runs
        else [],
    }


def chart_points(record: InstanceRecord) -> list[charts.RunPoint]:
    """The recent runs, oldest first, for the charts."""
    return [
        charts.RunPoint(run.id, run.started_at, run.trigger, run.status, run.duration_seconds, run.calls)
        for run in reversed(record.runs)
    ]


def instance_charts(record: InstanceRecord, index: int) -> list[Markup]:
    """The duration and API-call panels of one instance's recent runs (none before the first run)."""
    points = chart_points(record)
    if not points:
        return []
    return [
        Markup(charts.runs_chart(points, metric, chart_id=f"chart-{metric.key}-{index}"))
        for metric in charts.METRICS
    ]


def digest(views: list[dict[str, Any]]) -> str:
    """Changes whenever a card would: a new run, a crawl starting or ending, held removals, the snapshot."""
    return ";".join(
        f"{v['name']}:{v['lastRun']['id'] if v['lastRun'] else 0}:{int(v['crawling'])}:"
        f"{v['snapshot']['version']}:{len(v['heldRemovals'])}"
        for v in views
    )


async def crawl_permission(deps: ConsoleDeps, operator: Operator) -> tuple[bool, str | None]:
    """Whether the "crawl now" button is enabled, else why not."""
    if not operator.signed_in:
        return False, "Sign in to start a crawl."
    if not await deps.may_crawl(operator):
        return False, "Starting a crawl needs the permission spectrocloud.ingestor.crawl."
    return True, None


def crawl_notice(request: Request, names: list[str]) -> dict[str, str] | None:
    """The notice after "crawl now" redirected here (``?crawl=<state>&instance=<name>``)."""
    state = request.query_params.get("crawl")
    instance = request.query_params.get("instance", "")
    if state not in CRAWL_NOTICES or instance not in names:
        return None
    tone, text = CRAWL_NOTICES[state]
    return {"tone": tone, "text": text.format(instance=instance or "(unnamed)")}


async def read_all(deps: ConsoleDeps) -> list[tuple[str, InstanceRecord]]:
    return [
        (name, await deps.db.run(read_instance, name, lease_name(name), runs=RECENT_RUNS))
        for name in deps.scheduler.instances
    ]


def store_error(deps: ConsoleDeps, request: Request, operator: Operator, exc: Exception) -> Response:
    log.error("console.overview_store_unavailable", error_class=type(exc).__name__)
    return deps.render(
        request,
        operator,
        "message.html",
        status=500,
        title="The store cannot be read",
        message=(
            f"The snapshot store did not answer ({type(exc).__name__}), so the overview cannot show what "
            "the crawls did. Nothing is shown in its place; try again shortly and check the service's logs."
        ),
    )


def when(value: datetime | None) -> str:
    return "—" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def relative(value: datetime | None, now: datetime) -> str:
    """``3 min ago`` / ``in 9 min``."""
    if value is None:
        return ""
    seconds = (value - now).total_seconds()
    amount = abs(seconds)
    if amount < 60:
        text = f"{amount:.0f} s"
    elif amount < 3600:
        text = f"{amount / 60:.0f} min"
    elif amount < 172800:
        text = f"{amount / 3600:.1f} h"
    else:
        text = f"{amount / 86400:.0f} days"
    return f"in {text}" if seconds > 0 else f"{text} ago"


def duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.2f} s" if seconds < 10 else f"{seconds:.1f} s"
    return f"{int(seconds // 60)} min {seconds % 60:.0f} s"


def jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    return value


def register(router: APIRouter, deps: ConsoleDeps) -> None:
    """Add the overview page and its JSON to the console router."""

    async def overview(request: Request, operator: Operator) -> Response:
        try:
            records = await read_all(deps)
        except Exception as exc:
            return store_error(deps, request, operator, exc)
        views = [instance_view(deps, name, record) for name, record in records]
        for index, (view, (_, record)) in enumerate(zip(views, records, strict=True)):
            view["charts"] = instance_charts(record, index)
        allowed, reason = await crawl_permission(deps, operator)
        return deps.render(
            request,
            operator,
            "overview.html",
            cards=views,
            digest=digest(views),
            notice=crawl_notice(request, deps.scheduler.instances),
            crawl_allowed=allowed,
            crawl_reason=reason,
            now=datetime.now(UTC),
            when=when,
            relative=relative,
            duration=duration,
        )

    async def overview_json(request: Request) -> Response:
        """What the overview shows, as JSON (gated like the page; errors as JSON)."""
        operator = await deps.operator(request)
        if not operator.signed_in and not deps.anonymous_read:
            return _json({"error": "sign in to read the console"}, 401)
        try:
            records = await read_all(deps)
        except Exception as exc:
            log.error("console.overview_store_unavailable", error_class=type(exc).__name__)
            return _json({"error": f"the snapshot store did not answer ({type(exc).__name__})"}, 503)
        views = [instance_view(deps, name, record) for name, record in records]
        allowed, reason = await crawl_permission(deps, operator)
        payload = {
            "generatedAt": datetime.now(UTC),
            "digest": digest(views),
            "crawl": {"allowed": allowed, "reason": reason},
            "instances": views,
        }
        return _json(payload)

    router.add_api_route("/", page(deps, overview), methods=["GET"])
    router.add_api_route("/console/api/overview", overview_json, methods=["GET"])


def _json(payload: Any, status: int = 200) -> Response:
    text = json.dumps(jsonable(payload), ensure_ascii=False, separators=(",", ":"))
    return Response(
        redact_text(text), status_code=status, media_type="application/json", headers=page_headers()
    )
