"""Index-driven look-ups for agents and the console: an entity by title/uid/ref, and a profile's users.

Each is one statement (plus a count) in one read transaction, built once and reused with bound
parameters: no scan of a kind's entities, no second round trip for freshness. Imports only ``store``.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Select,
    String,
    Subquery,
    and_,
    bindparam,
    func,
    literal_column,
    null,
    select,
    union,
    union_all,
)

from ingestor.store import models as m
from ingestor.store.db import Database
from ingestor.store.queries import confirmation
from ingestor.store.rows import EntityRow, ProfileUsage

USES_PROFILE_VERSION = "uses-profile-version"
NAMESPACE = "default"
"""Every entity we emit lives in the default namespace (``catalog.naming``)."""


@dataclass(frozen=True)
class Matches:
    """Entities matching a look-up: how many there are and the first ``limit`` of them."""

    total: int
    rows: list[EntityRow]


def find_entities(
    db: Database,
    instances: Sequence[str],
    palette_kind: str,
    wanted: str,
    *,
    project_uid: str | None = None,
    limit: int = 20,
) -> Matches:
    """Stored ``palette_kind`` entities of ``instances`` called ``wanted``.

    Matches the title case-insensitively, the Palette uid (the key; for a profile any version's uid), the
    name and the entity ref (``resource:default/<name>``); ``project_uid`` narrows. Every branch is an
    index seek: (instance, palette_kind, title_key), (instance, palette_kind, key), the primary key, and
    profile_versions' primary key.
    """
    if not instances:
        return Matches(0, [])
    folded = wanted.strip().casefold()
    params = {
        "instances": list(instances),
        "palette_kind": palette_kind,
        "title_key": folded,
        "wanted": wanted.strip(),
        "refs": [folded, *(f"{kind}:{NAMESPACE}/{folded}" for kind in ("resource", "system"))],
        "project_uid": project_uid,
    }
    statement, count = _find_statements(project_uid is not None)
    with db.read() as conn:
        total = int(conn.execute(count, params).scalar_one())
        rows = conn.execute(statement, {**params, "limit": limit}).all() if total else []
    return Matches(total, [_entity(r) for r in rows])


@functools.cache
def _find_statements(by_project: bool) -> tuple[Select[Any], Select[Any]]:
    e, p = m.entities.c, m.profile_versions.c
    instances: BindParameter[str] = bindparam("instances", expanding=True)
    scope: list[ColumnElement[bool]] = [
        e.instance.in_(instances),
        e.palette_kind == bindparam("palette_kind"),
    ]
    if by_project:
        scope.append(e.project_uid == bindparam("project_uid"))
    keys = (e.instance, e.ref)
    by_version = (
        select(*keys)
        .select_from(m.profile_versions)
        .join(m.entities, (e.instance == p.instance) & (e.key == p.profile_key))
        .where(p.instance.in_(instances), p.version_uid == bindparam("wanted"), *scope)
    )
    hits = union(
        select(*keys).where(e.title_key == bindparam("title_key"), *scope),
        select(*keys).where(e.key == bindparam("wanted"), *scope),
        select(*keys).where(e.ref.in_(bindparam("refs", expanding=True)), *scope),
        by_version,
    ).subquery("hits")
    count = select(func.count()).select_from(hits)
    rows = (
        _with_freshness(select(m.entities).select_from(hits).join(m.entities, _same(hits, e.instance, e.ref)))
        .order_by(e.instance, e.ref)
        .limit(bindparam("limit"))
    )
    return rows, count


def _same(hits: Subquery, instance: Any, ref: Any) -> ColumnElement[bool]:
    return and_(hits.c.instance == instance, hits.c.ref == ref)


def _with_freshness(query: Select[Any]) -> Select[Any]:
    """``query`` (over entities) plus the entity's part state and hold, for ``confirmation``."""
    e, c, h = m.entities.c, m.crawl_parts.c, m.held_removals.c
    return (
        query.add_columns(
            c.ok.label("part_ok"),
            c.last_ok_at.label("part_ok_at"),
            c.last_ok_run_id.label("part_ok_run"),
            h.ref.label("held_ref"),
        )
        .outerjoin(
            m.crawl_parts, (c.instance == e.instance) & (c.scope == e.part_scope) & (c.kind == e.part_kind)
        )
        .outerjoin(m.held_removals, (h.instance == e.instance) & (h.ref == e.ref))
    )


def _confirmed(r: Any, seen: Any, run_id: Any) -> tuple[Any, Any, bool]:
    part = None if r.part_ok is None else (r.part_ok, r.part_ok_at, r.part_ok_run)
    return confirmation(seen, run_id, held=r.held_ref is not None, part=part)


def _entity(r: Any) -> EntityRow:
    seen, run_id, stale = _confirmed(r, r.last_seen, r.run_id)
    return EntityRow(
        instance=r.instance,
        ref=r.ref,
        name=r.name,
        kind=r.kind,
        palette_kind=r.palette_kind,
        key=r.key,
        project_uid=r.project_uid,
        part=(r.part_scope, r.part_kind),
        body=r.body,
        content_hash=r.content_hash,
        first_seen=r.first_seen,
        last_seen=seen,
        changed_at=r.changed_at,
        run_id=int(run_id),
        stale=stale,
    )


def clusters_using_profile(
    db: Database, instance: str, profile: str, *, state_annotations: Sequence[str] = ()
) -> list[ProfileUsage]:
    """Every cluster, virtual cluster and group using ANY version of the family of ``profile``.

    ``profile`` is a family key or any version uid of the family. One statement whose edge branches are
    index lookups on edges (instance, profile_key) and (instance, dst_uid), joined to each user's entity
    (title, state: the first of ``state_annotations`` present), its part state and hold (freshness).
    """
    statement = _usage_statement(tuple(state_annotations))
    with db.read() as conn:
        rows = conn.execute(statement, {"instance": instance, "profile": profile}).all()
    return [_usage(instance, r) for r in rows]


@functools.lru_cache(maxsize=16)
def _usage_statement(state_annotations: tuple[str, ...]) -> Select[Any]:
    p, n = m.profile_versions.c, m.entities.c
    instance = bindparam("instance", type_=String)
    hits = _family_edges(instance, bindparam("profile", type_=String))
    h = hits.c
    states = [n.body[("metadata", "annotations", key)].as_string() for key in state_annotations]
    state = func.coalesce(*states) if len(states) > 1 else states[0] if states else null()
    query = (
        select(
            h.src_ref,
            h.src_kind,
            h.src_uid,
            h.dst_uid,
            h.version,
            h.profile_key,
            p.version.label("pv_version"),
            p.profile_key.label("pv_key"),
            p.profile_ref,
            n.name,
            n.title,
            n.project_uid,
            n.run_id,
            n.last_seen,
            n.part_scope,
            state.label("state"),
        )
        .select_from(hits)
        .outerjoin(m.profile_versions, (p.instance == instance) & (p.version_uid == h.dst_uid))
        .outerjoin(m.entities, (n.instance == instance) & (n.ref == h.src_ref))
        .order_by(h.src_kind, h.src_ref, h.dst_uid)
    )
    return _with_freshness(query)


def _usage(instance: str, r: Any) -> ProfileUsage:
    seen, run_id, stale = r.last_seen, r.run_id, False
    if r.part_scope is not None:
        seen, run_id, stale = _confirmed(r, seen, run_id)
    return ProfileUsage(
        instance=instance,
        src_ref=r.src_ref,
        src_kind=r.src_kind,
        src_uid=r.src_uid,
        name=r.name,
        project_uid=r.project_uid,
        version_uid=r.dst_uid,
        version=r.version if r.version is not None else r.pv_version,
        profile_key=r.profile_key if r.profile_key is not None else r.pv_key,
        profile_ref=r.profile_ref,
        run_id=None if run_id is None else int(run_id),
        seen_at=seen,
        stale=stale,
        title=r.title,
        state=r.state,
    )


def _family_edges(instance: Any, profile: Any) -> Subquery:
    """``uses-profile-version`` edges to the family of ``profile``, found by index lookups only.

    Family keys: ``profile`` itself and the family of the version uid ``profile``; version uids: ``profile``
    itself and every stored version of those families. Edges match by (instance, profile_key) or
    (instance, dst_uid), so a family whose versions were never stored is still found by its key. The uid
    branch skips edges the key branch already found, so the branches are disjoint (UNION ALL: no dedupe).
    """
    e, p = m.edges.c, m.profile_versions.c
    keys = union(
        select(profile.label("key")),
        select(p.profile_key).where(p.instance == instance, p.version_uid == profile),
    ).subquery()
    versions = union(
        select(profile.label("uid")),
        select(p.version_uid)
        .select_from(keys)
        .join(m.profile_versions, (p.instance == instance) & (p.profile_key == keys.c.key)),
    ).subquery()
    columns = (e.src_ref, e.src_kind, e.src_uid, e.dst_uid, e.version, e.profile_key)
    relation: ColumnElement[str] = literal_column(f"'{USES_PROFILE_VERSION}'")
    by_key = (e.instance == instance) & (e.relation == relation) & (e.profile_key == keys.c.key)
    by_uid = (
        (e.instance == instance)
        & (e.relation == relation)
        & (e.dst_uid == versions.c.uid)
        & (e.profile_key.is_(None) | e.profile_key.not_in(select(keys.c.key)))
    )
    return union_all(
        select(*columns).select_from(keys).join(m.edges, by_key),
        select(*columns).select_from(versions).join(m.edges, by_uid),
    ).subquery()
