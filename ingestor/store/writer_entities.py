"""Part of the writer: entity rows, the change log, held-back removals and part states (``commit_run`` only).

Applies a ``Plan`` inside the writer's transaction. Unchanged entities are not rewritten (their freshness
is their part's ``last_ok_at`` in ``crawl_parts``): a crawl writes O(changes + parts) rows. Imports ``store``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

from ingestor.crawl.snapshot import PartKey
from ingestor.store import models as m
from ingestor.store.db import chunks, delete_by_key, upsert
from ingestor.store.inputs import EntityLike
from ingestor.store.plan import Plan


def title_of(body: Mapping[str, Any], name: str) -> str:
    """What an entity is called: its ``metadata.title``, else its name (stored for indexed look-ups)."""
    meta = body.get("metadata")
    title = meta.get("title") if isinstance(meta, Mapping) else None
    return title if isinstance(title, str) and title.strip() else name


def _entity_values(entity: EntityLike, digest: str) -> dict[str, Any]:
    title = title_of(entity.body, entity.name)
    return {
        "name": entity.name,
        "title": title,
        "title_key": title.strip().casefold(),
        "kind": entity.kind,
        "palette_kind": entity.palette_kind,
        "key": entity.key,
        "project_uid": entity.project_uid,
        "part_scope": entity.part[0],
        "part_kind": entity.part[1],
        "body": dict(entity.body),
        "content_hash": digest,
    }


def apply_entities(conn: Connection, instance: str, plan: Plan, run_id: int, now: datetime) -> None:
    """Insert additions, rewrite modifications, delete removals."""
    e = m.entities.c
    if plan.additions:
        seen = {"first_seen": now, "last_seen": now, "changed_at": now, "run_id": run_id}
        rows = [
            {"instance": instance, "ref": a.entity.ref, **_entity_values(a.entity, a.content_hash), **seen}
            for a in plan.additions
        ]
        for batch in chunks(rows):
            conn.execute(insert(m.entities), list(batch))
    if plan.modifications:
        columns = _entity_values(plan.modifications[0].entity, "")
        stmt = (
            update(m.entities)
            .where(e.instance == bindparam("b_instance"), e.ref == bindparam("b_ref"))
            .values({name: bindparam(name) for name in columns})
            .values(last_seen=now, changed_at=now, run_id=run_id)
        )
        rows = [
            {"b_instance": instance, "b_ref": c.entity.ref, **_entity_values(c.entity, c.content_hash)}
            for c in plan.modifications
        ]
        for batch in chunks(rows):
            conn.execute(stmt, list(batch))
    delete_by_key(conn, m.entities, ("instance", "ref"), [(instance, r.ref) for r in plan.removals])


def log_changes(conn: Connection, instance: str, plan: Plan, run_id: int, now: datetime) -> None:
    """One change log row per addition, modification and removal."""
    base = {"instance": instance, "run_id": run_id, "at": now}
    rows = [
        _change(base, "added", a.entity.ref, a.entity.kind, a.entity.palette_kind, a.entity.project_uid)
        | {"old_hash": None, "new_hash": a.content_hash}
        for a in plan.additions
    ]
    rows += [
        _change(base, "modified", c.entity.ref, c.entity.kind, c.entity.palette_kind, c.entity.project_uid)
        | {"old_hash": c.old.content_hash, "new_hash": c.content_hash}
        for c in plan.modifications
    ]
    rows += [
        _change(base, "removed", r.ref, r.kind, r.palette_kind, r.project_uid)
        | {"old_hash": r.content_hash, "new_hash": None}
        for r in plan.removals
    ]
    for batch in chunks(rows):
        conn.execute(insert(m.entity_changes), list(batch))


def _change(
    base: Mapping[str, Any], change: str, ref: str, kind: str, palette_kind: str, project_uid: str | None
) -> dict[str, Any]:
    return {
        **base,
        "change": change,
        "ref": ref,
        "kind": kind,
        "palette_kind": palette_kind,
        "project_uid": project_uid,
    }


def apply_holds(conn: Connection, instance: str, plan: Plan, run_id: int, now: datetime) -> None:
    """End released holds, start or extend the plan's holds (``since`` keeps the start of a hold)."""
    ended = [(instance, r.ref) for r in plan.releases] + [(instance, r.ref) for r in plan.removals]
    delete_by_key(conn, m.held_removals, ("instance", "ref"), ended)
    if not plan.holds:
        return
    _mark_last_sighting(conn, instance, plan)
    rows = [
        {
            "instance": instance,
            "ref": hold.ref,
            "part_scope": hold.part[0],
            "part_kind": hold.part[1],
            "streak": hold.streak,
            "reason": hold.reason,
            "since": now,
            "since_run_id": run_id,
            "run_id": run_id,
        }
        for hold in plan.holds
    ]
    stmt = upsert(conn, m.held_removals)
    stmt = stmt.on_conflict_do_update(
        index_elements=["instance", "ref"],
        set_={
            name: stmt.excluded[name] for name in ("part_scope", "part_kind", "streak", "reason", "run_id")
        },
    )
    for batch in chunks(rows):
        conn.execute(stmt, list(batch))


def _mark_last_sighting(conn: Connection, instance: str, plan: Plan) -> None:
    """A newly held entity was last seen at its part's previous complete crawl: pin that on its row.

    Must run before ``apply_parts`` moves the parts' ``last_ok_at`` to this run.
    """
    started = [h for h in plan.holds if h.ref in plan.started_holds]
    if not started:
        return
    previous = _last_ok(conn, instance)
    e = m.entities.c
    stmt = (
        update(m.entities)
        .where(e.instance == instance, e.ref == bindparam("b_ref"))
        .values(last_seen=bindparam("b_seen"), run_id=bindparam("b_run"))
    )
    rows = [
        {"b_ref": h.ref, "b_seen": previous[h.part][0], "b_run": previous[h.part][1]}
        for h in started
        if h.part in previous
    ]
    for batch in chunks(rows):
        conn.execute(stmt, list(batch))


def _last_ok(conn: Connection, instance: str) -> dict[PartKey, tuple[datetime, int]]:
    p = m.crawl_parts.c
    query = select(p.scope, p.kind, p.last_ok_at, p.last_ok_run_id).where(
        p.instance == instance, p.last_ok_at.is_not(None)
    )
    return {(r.scope, r.kind): (r.last_ok_at, int(r.last_ok_run_id)) for r in conn.execute(query)}


def apply_parts(
    conn: Connection, instance: str, states: Mapping[PartKey, bool], run_id: int, now: datetime
) -> None:
    """Record each evaluated part's outcome; an applied (ok) part also moves its ``last_ok_*``."""
    for ok in (True, False):
        rows = [
            {
                "instance": instance,
                "scope": scope,
                "kind": kind,
                "ok": ok,
                "last_run_id": run_id,
                "last_run_at": now,
                "last_ok_run_id": run_id if ok else None,
                "last_ok_at": now if ok else None,
            }
            for (scope, kind), state in sorted(states.items())
            if state is ok
        ]
        if not rows:
            continue
        stmt = upsert(conn, m.crawl_parts)
        moved = ("ok", "last_run_id", "last_run_at", *(("last_ok_run_id", "last_ok_at") if ok else ()))
        stmt = stmt.on_conflict_do_update(
            index_elements=["instance", "scope", "kind"], set_={name: stmt.excluded[name] for name in moved}
        )
        for batch in chunks(rows):
            conn.execute(stmt, list(batch))
