"""Reads of the snapshot store for the surfaces and the crawler; never writes.

Every function takes the ``Database`` first and is sync (async callers use ``await db.run(fn, ...)``).
Imports only ``store``; returns the plain rows of ``store.rows``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, func, select

from ingestor.crawl.snapshot import PartKey
from ingestor.store import models as m
from ingestor.store.db import Database, chunks
from ingestor.store.rows import (
    CachedDetail,
    ChangeRow,
    EntityRow,
    EntitySnapshot,
    HeldRow,
    InstanceState,
    PartOutcomeRow,
    PartStateRow,
    ProfileVersionRow,
    RunRow,
)


def ping(db: Database) -> bool:
    """Readiness: the database answers ``SELECT 1``."""
    return db.ping()


def snapshot_versions(db: Database) -> dict[str, int]:
    """``snapshot_version`` of every instance the store knows (cheap: check before reading entities)."""
    with db.read() as conn:
        return _versions(conn)


def _versions(conn: Connection, instance: str | None = None) -> dict[str, int]:
    s = m.instance_state.c
    query = select(s.instance, s.snapshot_version)
    if instance is not None:
        query = query.where(s.instance == instance)
    return {name: int(version) for name, version in conn.execute(query)}


def current_entities(
    db: Database,
    instance: str | None = None,
    *,
    project_uid: str | None = None,
    kind: str | None = None,
    palette_kind: str | None = None,
) -> EntitySnapshot:
    """The served entities by (instance, ref), with the snapshot versions read in the same transaction."""
    e = m.entities.c
    query = select(m.entities)
    if instance is not None:
        query = query.where(e.instance == instance)
    if project_uid is not None:
        query = query.where(e.project_uid == project_uid)
    if kind is not None:
        query = query.where(e.kind == kind)
    if palette_kind is not None:
        query = query.where(e.palette_kind == palette_kind)
    with db.read() as conn:
        versions = _versions(conn, instance)
        fresh = _freshness(conn, instance)
        rows = conn.execute(query.order_by(e.instance, e.ref)).all()
    return EntitySnapshot(versions, [_entity(r._mapping, fresh) for r in rows])


@dataclass(frozen=True)
class _Freshness:
    """Part states and held refs, to tell when each entity was last confirmed (see ``models.crawl_parts``)."""

    parts: dict[tuple[str, str, str], tuple[bool, datetime | None, int | None]]
    held: set[tuple[str, str]]

    def of(self, instance: str, ref: str, part: PartKey, seen: Any, run_id: Any) -> tuple[Any, Any, bool]:
        state = self.parts.get((instance, *part))
        return confirmation(seen, run_id, held=(instance, ref) in self.held, part=state)


def confirmation(
    seen: Any, run_id: Any, *, held: bool, part: tuple[bool, datetime | None, int | None] | None
) -> tuple[Any, Any, bool]:
    """``(last seen, its run, stale)`` of an entity from its row, hold and part state ``(ok, at, run)``.

    A held entity keeps its own sighting and is stale; otherwise its part's last complete crawl counts when
    later, and it is stale while its part's last crawl failed.
    """
    if held:
        return seen, run_id, True
    if part is None:
        return seen, run_id, False
    ok, ok_at, ok_run = part
    if ok_at is not None and (seen is None or ok_at > seen):
        seen, run_id = ok_at, ok_run
    return seen, run_id, not ok


def _freshness(conn: Connection, instance: str | None) -> _Freshness:
    p, h = m.crawl_parts.c, m.held_removals.c
    parts = select(p.instance, p.scope, p.kind, p.ok, p.last_ok_at, p.last_ok_run_id)
    held = select(h.instance, h.ref)
    if instance is not None:
        parts, held = parts.where(p.instance == instance), held.where(h.instance == instance)
    return _Freshness(
        {(r.instance, r.scope, r.kind): (r.ok, r.last_ok_at, r.last_ok_run_id) for r in conn.execute(parts)},
        {(r.instance, r.ref) for r in conn.execute(held)},
    )


def _entity(r: Any, fresh: _Freshness) -> EntityRow:
    part = (r["part_scope"], r["part_kind"])
    seen, run_id, stale = fresh.of(r["instance"], r["ref"], part, r["last_seen"], r["run_id"])
    return EntityRow(
        instance=r["instance"],
        ref=r["ref"],
        name=r["name"],
        kind=r["kind"],
        palette_kind=r["palette_kind"],
        key=r["key"],
        project_uid=r["project_uid"],
        part=part,
        body=r["body"],
        content_hash=r["content_hash"],
        first_seen=r["first_seen"],
        last_seen=seen,
        changed_at=r["changed_at"],
        run_id=int(run_id),
        stale=stale,
    )


def known_names(db: Database, instance: str) -> dict[tuple[str, str], str]:
    """``(palette_kind, key) -> name`` of the entities stored for ``instance`` (names never change)."""
    e = m.entities.c
    with db.read() as conn:
        rows = conn.execute(select(e.palette_kind, e.key, e.name).where(e.instance == instance))
        return {(r.palette_kind, r.key): r.name for r in rows}


def instance_states(db: Database) -> list[InstanceState]:
    """The state row of every instance, by name."""
    s = m.instance_state.c
    with db.read() as conn:
        rows = conn.execute(select(m.instance_state).order_by(s.instance)).all()
    return [_state(r._mapping) for r in rows]


def instance_state(db: Database, instance: str) -> InstanceState | None:
    s = m.instance_state.c
    with db.read() as conn:
        row = conn.execute(select(m.instance_state).where(s.instance == instance)).one_or_none()
    return None if row is None else _state(row._mapping)


def _state(r: Any) -> InstanceState:
    return InstanceState(
        instance=r["instance"],
        snapshot_version=int(r["snapshot_version"]),
        last_run_id=r["last_run_id"],
        last_run_at=r["last_run_at"],
        last_run_status=r["last_run_status"],
        last_success_run_id=r["last_success_run_id"],
        last_success_at=r["last_success_at"],
    )


def has_snapshot(db: Database, instance: str) -> bool:
    """Whether a crawl of ``instance`` has ever committed data (status ``ok`` or ``partial``)."""
    state = instance_state(db, instance)
    return state is not None and state.has_snapshot


def recent_runs(
    db: Database,
    instance: str | None = None,
    *,
    limit: int = 20,
    triggers: Collection[str] | None = None,
) -> list[RunRow]:
    """The newest runs first (per instance, or across all), each with its part outcomes; ``triggers``
    keeps only runs of those triggers (``writer.FULL_TRIGGERS``: crawls of whole instances)."""
    r = m.crawl_runs.c
    query = select(m.crawl_runs).order_by(r.id.desc()).limit(limit)
    if instance is not None:
        query = query.where(r.instance == instance)
    if triggers is not None:
        query = query.where(r.trigger.in_(sorted(set(triggers))))
    with db.read() as conn:
        runs = conn.execute(query).all()
        outcomes = _outcomes(conn, [int(run.id) for run in runs])
    return [_run(run._mapping, outcomes.get(int(run.id), ())) for run in runs]


def last_run(db: Database, instance: str, *, triggers: Collection[str] | None = None) -> RunRow | None:
    """The newest run of ``instance`` (of one of ``triggers`` when given)."""
    runs = recent_runs(db, instance, limit=1, triggers=triggers)
    return runs[0] if runs else None


def _outcomes(conn: Connection, run_ids: Sequence[int]) -> dict[int, tuple[PartOutcomeRow, ...]]:
    o = m.crawl_part_outcomes.c
    found: dict[int, list[PartOutcomeRow]] = {}
    for ids in chunks(run_ids):
        query = select(m.crawl_part_outcomes).where(o.run_id.in_(ids)).order_by(o.run_id, o.scope, o.kind)
        for row in conn.execute(query):
            found.setdefault(int(row.run_id), []).append(
                PartOutcomeRow(row.scope, row.kind, row.ok, row.items, row.error_class, row.error_message)
            )
    return {run_id: tuple(rows) for run_id, rows in found.items()}


def _run(r: Any, outcomes: tuple[PartOutcomeRow, ...]) -> RunRow:
    fields = {name: r[name] for name in RunRow.__dataclass_fields__ if name != "outcomes"}
    fields["id"] = int(fields["id"])
    fields["problems"] = list(fields["problems"] or [])
    return RunRow(**fields, outcomes=outcomes)


def part_states(db: Database, instance: str | None = None) -> list[PartStateRow]:
    """Every known part with its last outcome and last complete crawl (for the status page)."""
    p = m.crawl_parts.c
    query = select(m.crawl_parts).order_by(p.instance, p.scope, p.kind)
    if instance is not None:
        query = query.where(p.instance == instance)
    with db.read() as conn:
        rows = conn.execute(query).all()
    return [PartStateRow(**{**r._mapping, "last_run_id": int(r.last_run_id)}) for r in rows]


def held_removals(db: Database, instance: str | None = None) -> list[HeldRow]:
    """Removals waiting for confirmation, with the reason shown on the status page."""
    h = m.held_removals.c
    query = select(m.held_removals).order_by(h.instance, h.ref)
    if instance is not None:
        query = query.where(h.instance == instance)
    with db.read() as conn:
        rows = conn.execute(query).all()
    return [
        HeldRow(
            r.instance,
            r.ref,
            (r.part_scope, r.part_kind),
            r.streak,
            r.reason,
            r.since,
            r.since_run_id,
            r.run_id,
        )
        for r in rows
    ]


def changes(
    db: Database,
    instance: str | None = None,
    *,
    since: datetime | None = None,
    after_run: int | None = None,
    after_id: int | None = None,
    project_uid: str | None = None,
    kind: str | None = None,
    limit: int = 1000,
    newest_first: bool = False,
) -> list[ChangeRow]:
    """Change log rows, oldest first (``newest_first``: the latest ``limit``, newest first): after a time,
    a run or a change id (for feeds); ``kind`` is a Palette kind or a Backstage kind (case-insensitive)."""
    c = m.entity_changes.c
    order = c.id.desc() if newest_first else c.id
    query: Select[Any] = select(m.entity_changes).order_by(order).limit(limit)
    if kind is not None:
        query = query.where((c.palette_kind == kind) | (func.lower(c.kind) == kind.lower()))
    if instance is not None:
        query = query.where(c.instance == instance)
    if since is not None:
        query = query.where(c.at > since)
    if after_run is not None:
        query = query.where(c.run_id > after_run)
    if after_id is not None:
        query = query.where(c.id > after_id)
    if project_uid is not None:
        query = query.where(c.project_uid == project_uid)
    with db.read() as conn:
        rows = conn.execute(query).all()
    return [ChangeRow(**{**r._mapping, "id": int(r.id), "run_id": int(r.run_id)}) for r in rows]


def newest_change_id(db: Database) -> int:
    """The highest change id of the whole log (0 when it is empty): where a live feed starts."""
    with db.read() as conn:
        return int(conn.execute(select(func.max(m.entity_changes.c.id))).scalar() or 0)


def cached_details(
    db: Database, instance: str, palette_kind: str, uids: Iterable[str] | None = None
) -> dict[str, CachedDetail]:
    """The detail cache of one kind (optionally only ``uids``); compare ``last_modified`` before fetching."""
    c = m.detail_cache.c
    base = select(m.detail_cache).where(c.instance == instance, c.palette_kind == palette_kind)
    found: dict[str, CachedDetail] = {}
    with db.read() as conn:
        queries = (
            [base] if uids is None else [base.where(c.uid.in_(ids)) for ids in chunks(sorted(set(uids)))]
        )
        for query in queries:
            for r in conn.execute(query):
                found[r.uid] = CachedDetail(r.uid, r.last_modified, r.payload, r.fetched_at)
    return found


def profile_versions(db: Database, instance: str, profile_key: str) -> list[ProfileVersionRow]:
    """Every stored version of one profile family."""
    p = m.profile_versions.c
    query = select(m.profile_versions).where(p.instance == instance, p.profile_key == profile_key)
    with db.read() as conn:
        rows = conn.execute(query.order_by(p.version, p.version_uid)).all()
    return [
        ProfileVersionRow(
            r.version_uid, r.profile_key, r.profile_ref, r.name, r.version, r.scope, r.project_uid
        )
        for r in rows
    ]
