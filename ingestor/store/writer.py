"""The one writer of crawl results: ``commit_run`` applies a whole crawl in ONE transaction.

Entities, change log, holds, run record with part outcomes, edges, profile versions, detail cache and the
instance state (``snapshot_version``) move together or not at all; retention runs after the commit.
A project-scoped run (``scopes``) writes only those projects' parts. Imports the planner and the tables;
nothing above ``store/``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import Connection, delete, func, insert, select, update

from ingestor.crawl.snapshot import PartOutcome, RunStats
from ingestor.store import models as m
from ingestor.store.db import Database, chunks, delete_by_key, upsert
from ingestor.store.inputs import MappingResultLike
from ingestor.store.plan import HeldRemoval, Plan, RemovalPolicy, StoredEntity, plan_changes
from ingestor.store.writer_entities import apply_entities, apply_holds, apply_parts, log_changes
from ingestor.store.writer_graph import apply_edges, apply_profile_versions

log = structlog.get_logger(__name__)

FULL_TRIGGERS = ("schedule", "manual", "start")
"""Triggers of crawls of a whole instance (the scheduler's interval check looks at these runs only)."""
PROJECT_TRIGGER = "project"
"""The trigger of a project-scoped crawl (after a creation): it commits only that project's parts."""
TRIGGERS = (*FULL_TRIGGERS, PROJECT_TRIGGER)
STATUSES = ("ok", "partial", "failed")
MAX_MESSAGE = 1000
MAX_PROBLEMS = 200


@dataclass(frozen=True)
class RunRecord:
    """One crawl run as the crawler saw it. Error texts must already be sanitized (no tokens, no bodies)."""

    instance: str
    replica_id: str
    trigger: str
    started_at: datetime
    finished_at: datetime
    stats: RunStats = field(default_factory=RunStats)
    status: str | None = None
    """``ok``, ``partial`` or ``failed``; derived from the part outcomes when ``None``."""
    error_class: str | None = None
    error_message: str | None = None
    problems: tuple[Mapping[str, str], ...] = ()
    """What the mapping left out or flagged; at most ``MAX_PROBLEMS`` are stored."""


@dataclass(frozen=True)
class DetailCacheEntry:
    """A detail payload the crawler may reuse while ``last_modified`` stays the same."""

    palette_kind: str
    uid: str
    last_modified: str | None
    payload: Mapping[str, Any]


@dataclass(frozen=True)
class Retention:
    """``database.retention``: runs kept per instance and days of change log."""

    runs: int = 500
    change_days: int = 90


@dataclass(frozen=True)
class CommitResult:
    run_id: int
    status: str
    snapshot_version: int
    added: int
    modified: int
    removed: int
    held: int
    released: int

    @property
    def changed(self) -> bool:
        return bool(self.added or self.modified or self.removed)


def derive_status(outcomes: Sequence[PartOutcome]) -> str:
    """``ok`` when every part succeeded, ``failed`` when none did (or there were none), else ``partial``."""
    oks = [o.ok for o in outcomes]
    if oks and all(oks):
        return "ok"
    return "partial" if any(oks) else "failed"


def commit_run(
    db: Database,
    run: RunRecord,
    result: MappingResultLike | None,
    outcomes: Sequence[PartOutcome],
    *,
    policy: RemovalPolicy | None = None,
    detail_cache: Iterable[DetailCacheEntry] = (),
    retention: Retention | None = None,
    scopes: Collection[str] | None = None,
) -> CommitResult:
    """Record one crawl and apply its plan atomically; ``result`` is ``None`` when nothing could be mapped.

    Failed parts (and a missing result) leave the previous entities, edges and profile versions untouched.
    ``scopes`` (a project-scoped crawl): only parts of these scopes are evaluated and get their
    ``crawl_parts`` rows; every other entity, edge, profile version, hold and part state stays as it is,
    the status comes from their outcomes alone, and the instance's last success does not move (it stays
    the last crawl of the whole instance).
    """
    inside = None if scopes is None else frozenset(scopes)
    status = run.status or derive_status(_within(outcomes, inside))
    _validate(run, status)
    now = run.finished_at
    with db.write() as conn:
        state_version = _lock_state(conn, run.instance, now)
        plan = _plan(conn, run.instance, result, outcomes, policy, inside)
        run_id = _insert_run(conn, run, status)
        _insert_outcomes(conn, run_id, outcomes)
        apply_entities(conn, run.instance, plan, run_id, now)
        log_changes(conn, run.instance, plan, run_id, now)
        apply_holds(conn, run.instance, plan, run_id, now)
        failed = {(o.scope, o.kind): False for o in _within(outcomes, inside)}
        applied = plan.part_ok if result is not None else failed
        apply_parts(conn, run.instance, applied, run_id, now)
        if result is not None:
            apply_edges(conn, run.instance, result.edges, plan.frozen_refs, plan.only_refs)
            versions = result.profile_versions
            apply_profile_versions(conn, run.instance, versions, plan.frozen_refs, plan.only_refs)
        _apply_detail_cache(conn, run.instance, list(detail_cache), plan.removals, now)
        version = state_version + 1 if plan.changes_entities else state_version
        _finish(conn, run, run_id, status, plan, version, applied=result is not None and inside is None)
    outcome = CommitResult(
        run_id=run_id,
        status=status,
        snapshot_version=version,
        added=len(plan.additions),
        modified=len(plan.modifications),
        removed=len(plan.removals),
        held=len(plan.holds),
        released=len(plan.releases),
    )
    log.info("store.committed", instance=run.instance, trigger=run.trigger, **outcome.__dict__)
    if retention is not None:
        apply_retention(db, run.instance, retention, now, inside)
    return outcome


def _within(outcomes: Sequence[PartOutcome], scopes: frozenset[str] | None) -> list[PartOutcome]:
    """The outcomes a run is judged by: all of them, or those of its scopes."""
    return [o for o in outcomes if scopes is None or o.scope in scopes]


def apply_retention(
    db: Database,
    instance: str,
    retention: Retention,
    now: datetime,
    scopes: frozenset[str] | None = None,
) -> None:
    """Drop runs beyond the newest ``retention.runs`` and change log rows older than ``change_days``;
    forget unused part states (of ``scopes`` only, after a scoped run)."""
    try:
        with db.write() as conn:
            _prune_runs(conn, instance, retention.runs)
            changes = m.entity_changes.c
            since = now - timedelta(days=retention.change_days)
            conn.execute(delete(m.entity_changes).where(changes.instance == instance, changes.at < since))
            _prune_parts(conn, instance, scopes)
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("PRAGMA optimize")  # fresh planner statistics (PostgreSQL: autovacuum)
    except Exception as exc:  # retention is housekeeping: a failure must not undo or fail the commit
        log.warning("store.retention_failed", instance=instance, error_class=type(exc).__name__)


def _prune_runs(conn: Connection, instance: str, keep: int) -> None:
    r = m.crawl_runs.c
    newest = select(r.id).where(r.instance == instance).order_by(r.id.desc())
    cutoff = conn.execute(newest.offset(keep - 1).limit(1)).scalar_one_or_none()
    if cutoff is None:
        return
    old = select(r.id).where(r.instance == instance, r.id < cutoff)
    conn.execute(delete(m.crawl_part_outcomes).where(m.crawl_part_outcomes.c.run_id.in_(old)))
    conn.execute(delete(m.crawl_runs).where(r.instance == instance, r.id < cutoff))


def _prune_parts(conn: Connection, instance: str, scopes: frozenset[str] | None = None) -> None:
    """Forget part states no stored entity refers to any more (a deleted project, a switched-off kind)."""
    e, p = m.entities.c, m.crawl_parts.c
    query = select(e.part_scope, e.part_kind).where(e.instance == instance).distinct()
    used = {(r.part_scope, r.part_kind) for r in conn.execute(query)}
    known = {(r.scope, r.kind) for r in conn.execute(select(p.scope, p.kind).where(p.instance == instance))}
    if scopes is not None:
        known = {part for part in known if part[0] in scopes}
    delete_by_key(
        conn, m.crawl_parts, ("instance", "scope", "kind"), [(instance, *k) for k in sorted(known - used)]
    )


def _validate(run: RunRecord, status: str) -> None:
    if run.trigger not in TRIGGERS:
        raise ValueError(f"trigger must be one of {TRIGGERS}")
    if status not in STATUSES:
        raise ValueError(f"status must be one of {STATUSES}")
    if run.finished_at < run.started_at:
        raise ValueError("a run cannot finish before it starts")


def _clip(text: str | None) -> str | None:
    return None if text is None else text[:MAX_MESSAGE]


def _lock_state(conn: Connection, instance: str, now: datetime) -> int:
    """Create the instance's state row if needed and lock it (serialises writers of one instance)."""
    stmt = upsert(conn, m.instance_state).values(instance=instance, snapshot_version=0, updated_at=now)
    conn.execute(stmt.on_conflict_do_nothing(index_elements=["instance"]))
    query = select(m.instance_state.c.snapshot_version).where(m.instance_state.c.instance == instance)
    return int(conn.execute(query.with_for_update()).scalar_one())


def _plan(
    conn: Connection,
    instance: str,
    result: MappingResultLike | None,
    outcomes: Sequence[PartOutcome],
    policy: RemovalPolicy | None,
    scopes: frozenset[str] | None,
) -> Plan:
    e = m.entities.c
    columns = (e.ref, e.part_scope, e.part_kind, e.content_hash, e.name, e.kind, e.palette_kind, e.key)
    rows = conn.execute(select(*columns, e.project_uid).where(e.instance == instance))
    stored = [
        StoredEntity(
            r.ref,
            (r.part_scope, r.part_kind),
            r.content_hash,
            r.name,
            r.kind,
            r.palette_kind,
            r.key,
            r.project_uid,
        )
        for r in rows
    ]
    if result is None:
        return Plan(frozen_refs=frozenset(s.ref for s in stored))
    h = m.held_removals.c
    held = [
        HeldRemoval(r.ref, (r.part_scope, r.part_kind), r.streak, r.reason)
        for r in conn.execute(
            select(h.ref, h.part_scope, h.part_kind, h.streak, h.reason).where(h.instance == instance)
        )
    ]
    return plan_changes(stored, result.entities, outcomes, held, policy, scopes)


def _insert_run(conn: Connection, run: RunRecord, status: str) -> int:
    s = run.stats
    values = {
        "instance": run.instance,
        "replica_id": run.replica_id,
        "trigger": run.trigger,
        "status": status,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "duration_seconds": s.duration_seconds,
        "calls": s.calls,
        "retries": s.retries,
        "rate_limited": s.rate_limited,
        "errors": s.errors,
        "detail_calls": s.detail_calls,
        "stale_details": s.stale_details,
        "counts": {},
        "added": 0,
        "modified": 0,
        "removed": 0,
        "held": 0,
        "snapshot_version": 0,
        "error_class": _clip(run.error_class),
        "error_message": _clip(run.error_message),
        "problems": [
            {key: _clip(str(value)) or "" for key, value in problem.items()}
            for problem in run.problems[:MAX_PROBLEMS]
        ],
    }
    return int(conn.execute(insert(m.crawl_runs).values(**values).returning(m.crawl_runs.c.id)).scalar_one())


def _insert_outcomes(conn: Connection, run_id: int, outcomes: Sequence[PartOutcome]) -> None:
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for o in outcomes:
        previous = rows.get((o.scope, o.kind))
        if previous is not None and not previous["ok"]:
            continue  # the same part reported twice: a failure wins, as in the planner
        rows[(o.scope, o.kind)] = {
            "run_id": run_id,
            "scope": o.scope,
            "kind": o.kind,
            "ok": o.ok,
            "items": o.items,
            "error_class": _clip(o.error_class),
            "error_message": _clip(o.error),
        }
    if rows:
        conn.execute(insert(m.crawl_part_outcomes), list(rows.values()))


def _apply_detail_cache(
    conn: Connection,
    instance: str,
    entries: Sequence[DetailCacheEntry],
    removals: Sequence[StoredEntity],
    now: datetime,
) -> None:
    gone = [(instance, r.palette_kind, r.key) for r in removals]
    delete_by_key(conn, m.detail_cache, ("instance", "palette_kind", "uid"), gone)
    if not entries:
        return
    latest = {(x.palette_kind, x.uid): x for x in entries}
    rows = [
        {
            "instance": instance,
            "palette_kind": x.palette_kind,
            "uid": x.uid,
            "last_modified": x.last_modified,
            "payload": dict(x.payload),
            "fetched_at": now,
        }
        for x in latest.values()
    ]
    stmt = upsert(conn, m.detail_cache)
    stmt = stmt.on_conflict_do_update(
        index_elements=["instance", "palette_kind", "uid"],
        set_={name: stmt.excluded[name] for name in ("last_modified", "payload", "fetched_at")},
    )
    for batch in chunks(rows):
        conn.execute(stmt, list(batch))


def _finish(
    conn: Connection, run: RunRecord, run_id: int, status: str, plan: Plan, version: int, *, applied: bool
) -> None:
    """Complete the run row (counts of what is served now) and move the instance state."""
    e = m.entities.c
    counts = {
        kind: int(n)
        for kind, n in conn.execute(
            select(e.palette_kind, func.count()).where(e.instance == run.instance).group_by(e.palette_kind)
        )
    }
    conn.execute(
        update(m.crawl_runs)
        .where(m.crawl_runs.c.id == run_id)
        .values(
            counts=dict(sorted(counts.items())),
            added=len(plan.additions),
            modified=len(plan.modifications),
            removed=len(plan.removals),
            held=len(plan.holds),
            snapshot_version=version,
        )
    )
    values: dict[str, Any] = {
        "snapshot_version": version,
        "last_run_id": run_id,
        "last_run_at": run.finished_at,
        "last_run_status": status,
        "updated_at": run.finished_at,
    }
    if applied and status != "failed":  # data of at least one part of a whole-instance crawl was committed
        values.update(last_success_run_id=run_id, last_success_at=run.finished_at)
    conn.execute(update(m.instance_state).where(m.instance_state.c.instance == run.instance).values(**values))
