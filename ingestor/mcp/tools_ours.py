"""Our own tools, answered from the store only: the change log and the crawl status of every instance.

Neither calls Palette nor the scheduler (which MCP does not reach): what they report is what the crawls
committed. Stored error texts were cleaned before storage and are scrubbed once more here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import structlog
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from ingestor.auth.permissions import VIEW_CLUSTER_INFO
from ingestor.config.models import EnvironmentSettings
from ingestor.logging import redact_text
from ingestor.mcp.common import READ_ONLY, ProjectUid, iso
from ingestor.mcp.context import McpDeps
from ingestor.store import queries
from ingestor.store.db import Database, instance_key
from ingestor.store.rows import ChangeRow, HeldRow, InstanceState, PartStateRow, RunRow

log = structlog.get_logger(__name__)

DEFAULT_SINCE = "24h"
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
RECENT_RUNS = 5
_DURATION = re.compile(r"^\s*(\d{1,7})\s*([smhdw])\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}

AnyInstance = Annotated[
    str | None,
    Field(
        description="Configured Palette instance (spectrocloud.environments[].name); default: every instance"
    ),
]
Since = Annotated[
    str | None,
    Field(
        description="Changes after this time: ISO 8601 (UTC if no offset) or a duration back from now"
        ' ("24h", "30m", "7d")'
    ),
]
Limit = Annotated[int, Field(description=f"Most changes to return (1-{MAX_LIMIT}, oldest first)")]


class ChangeItem(BaseModel):
    at: str
    instance: str
    ref: str
    kind: str | None = None
    paletteKind: str | None = None  # noqa: N815
    change: str = Field(description="added, modified or removed")
    projectUid: str | None = None  # noqa: N815
    runId: int  # noqa: N815


class ChangeList(BaseModel):
    since: str
    changes: list[ChangeItem]
    truncated: bool = Field(description="More changes than limit exist after since: narrow the window")


class SnapshotInfo(BaseModel):
    present: bool
    version: int
    lastSuccessAt: str | None = None  # noqa: N815
    lastSuccessRunId: int | None = None  # noqa: N815


class FailedPart(BaseModel):
    scope: str
    kind: str
    errorClass: str | None = None  # noqa: N815
    error: str | None = None


class RunInfo(BaseModel):
    id: int
    status: str
    trigger: str
    startedAt: str  # noqa: N815
    finishedAt: str  # noqa: N815
    durationSeconds: float  # noqa: N815
    counts: dict[str, int]
    added: int
    modified: int
    removed: int
    held: int
    errors: int
    error: str | None = None
    failedParts: list[FailedPart] = Field(default_factory=list)  # noqa: N815


class StalePart(BaseModel):
    scope: str
    kind: str
    lastRunAt: str  # noqa: N815
    lastOkAt: str | None = None  # noqa: N815


class HeldRemoval(BaseModel):
    ref: str
    scope: str
    kind: str
    streak: int
    reason: str
    since: str


class InstanceCrawlStatus(BaseModel):
    name: str
    catalogEnabled: bool  # noqa: N815
    refreshIntervalSeconds: int  # noqa: N815
    snapshot: SnapshotInfo
    lastRun: RunInfo | None = None  # noqa: N815
    recentRuns: list[RunInfo]  # noqa: N815
    nextRunEstimate: str | None = Field(  # noqa: N815
        None, description="Last run start + refresh interval (the scheduler's jitter and lease may shift it)"
    )
    staleParts: list[StalePart]  # noqa: N815
    heldRemovals: list[HeldRemoval]  # noqa: N815


class CrawlStatus(BaseModel):
    instances: list[InstanceCrawlStatus]


@dataclass(frozen=True)
class _Record:
    state: InstanceState | None
    runs: list[RunRow]
    parts: list[PartStateRow]
    held: list[HeldRow]


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _clean(text: str | None) -> str | None:
    return None if text is None else redact_text(text)


def parse_since(value: str | None, now: datetime) -> datetime:
    """``value`` as an aware UTC time: ISO 8601 or a duration back from ``now``; ToolError when neither."""
    text = (value or DEFAULT_SINCE).strip()
    match = _DURATION.match(text)
    if match:
        try:
            return now - timedelta(seconds=int(match.group(1)) * _UNIT_SECONDS[match.group(2).lower()])
        except OverflowError:
            raise ToolError(f"Invalid input: since reaches too far back (got {text!r})") from None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ToolError(
            f'Invalid input: since must be an ISO 8601 time or a duration such as "24h" (got {text[:40]!r})'
        ) from None
    return _utc(parsed)


def _change(row: ChangeRow) -> ChangeItem:
    return ChangeItem(
        at=iso(row.at) or "",
        instance=row.instance,
        ref=row.ref,
        kind=row.kind,
        paletteKind=row.palette_kind,
        change=row.change,
        projectUid=row.project_uid,
        runId=row.run_id,
    )


def _run(run: RunRow) -> RunInfo:
    error = None
    if run.error_class is not None or run.error_message is not None:
        error = _clean(": ".join(p for p in (run.error_class, run.error_message) if p))
    return RunInfo(
        id=run.id,
        status=run.status,
        trigger=run.trigger,
        startedAt=iso(run.started_at) or "",
        finishedAt=iso(run.finished_at) or "",
        durationSeconds=round(run.duration_seconds, 3),
        counts=dict(run.counts),
        added=run.added,
        modified=run.modified,
        removed=run.removed,
        held=run.held,
        errors=run.errors,
        error=error,
        failedParts=[
            FailedPart(scope=o.scope, kind=o.kind, errorClass=o.error_class, error=_clean(o.error))
            for o in run.outcomes
            if not o.ok
        ],
    )


def _read(db: Database, instance: str) -> _Record:
    """Every store read one instance's status needs (sync; run with ``db.run``)."""
    return _Record(
        state=queries.instance_state(db, instance),
        runs=queries.recent_runs(db, instance, limit=RECENT_RUNS),
        parts=queries.part_states(db, instance),
        held=queries.held_removals(db, instance),
    )


def _status(env: EnvironmentSettings, catalog_enabled: bool, record: _Record) -> InstanceCrawlStatus:
    state = record.state
    interval = env.catalog_provider.refresh_interval_seconds
    runs = [_run(r) for r in record.runs]
    last = record.runs[0] if record.runs else None
    estimate = (
        iso(_utc(last.started_at) + timedelta(seconds=interval))
        if last is not None and catalog_enabled
        else None
    )
    return InstanceCrawlStatus(
        name=instance_key(env.name),
        catalogEnabled=catalog_enabled,
        refreshIntervalSeconds=interval,
        snapshot=SnapshotInfo(
            present=bool(state and state.has_snapshot),
            version=state.snapshot_version if state else 0,
            lastSuccessAt=iso(state.last_success_at) if state else None,
            lastSuccessRunId=state.last_success_run_id if state else None,
        ),
        lastRun=runs[0] if runs else None,
        recentRuns=runs,
        nextRunEstimate=estimate,
        staleParts=[
            StalePart(
                scope=p.scope, kind=p.kind, lastRunAt=iso(p.last_run_at) or "", lastOkAt=iso(p.last_ok_at)
            )
            for p in record.parts
            if not p.ok
        ],
        heldRemovals=[
            HeldRemoval(
                ref=h.ref,
                scope=h.part[0],
                kind=h.part[1],
                streak=h.streak,
                reason=_clean(h.reason) or "",
                since=iso(h.since) or "",
            )
            for h in record.held
        ],
    )


async def _store(deps: McpDeps, fn: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return await deps.db.run(fn, *args, **kwargs)
    except Exception as exc:
        log.error("mcp.store_unavailable", error_class=type(exc).__name__)
        raise ToolError("Palette unavailable: the snapshot store is not reachable; try again later") from None


def register(server: MCPServer, deps: McpDeps) -> None:
    """Register ``get_spectrocloud_changes`` and ``get_spectrocloud_crawl_status``."""

    @server.tool(
        name="get_spectrocloud_changes",
        title="Get SpectroCloud Changes",
        description=(
            "What the crawls saw change (entities added, modified, removed), oldest first, from the store; "
            'optionally for one instance or project and after a time or duration (default "24h").'
        ),
        annotations=READ_ONLY,
    )
    async def get_spectrocloud_changes(
        instanceName: AnyInstance = None,  # noqa: N803
        projectUid: ProjectUid = None,  # noqa: N803
        since: Since = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> ChangeList:
        await deps.require(VIEW_CLUSTER_INFO)
        if not 1 <= limit <= MAX_LIMIT:
            raise ToolError(f"Invalid input: limit must be between 1 and {MAX_LIMIT}")
        instance = None if instanceName is None else instance_key(deps.instance(instanceName).name)
        after = parse_since(since, datetime.now(UTC))
        rows: list[ChangeRow] = await _store(
            deps,
            queries.changes,
            instance,
            since=after,
            project_uid=projectUid or None,
            limit=limit + 1,
        )
        return ChangeList(
            since=iso(after) or "", changes=[_change(r) for r in rows[:limit]], truncated=len(rows) > limit
        )

    @server.tool(
        name="get_spectrocloud_crawl_status",
        title="Get SpectroCloud Crawl Status",
        description=(
            "Per configured instance, from the store: the snapshot, the last crawl runs (outcome, times, "
            "counts, failed parts), parts served from an older crawl, removals held back, next run estimate."
        ),
        annotations=READ_ONLY,
    )
    async def get_spectrocloud_crawl_status(instanceName: AnyInstance = None) -> CrawlStatus:  # noqa: N803
        await deps.require(VIEW_CLUSTER_INFO)
        envs = (
            list(deps.settings.spectrocloud.environments)
            if instanceName is None
            else [deps.instance(instanceName)]
        )
        out = []
        for env in envs:
            record: _Record = await _store(deps, _read, instance_key(env.name))
            enabled = deps.settings.spectrocloud.enabled and env.catalog_provider.enabled
            out.append(_status(env, enabled, record))
        return CrawlStatus(instances=out)
