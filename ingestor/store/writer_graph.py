"""Part of the writer: edges and profile versions, diffed against the stored rows (only ``commit_run`` calls).

Rows owned by a frozen ref (an entity of a failed part, or held back; in a scoped plan also every ref outside
it) keep their stored values; every other row becomes exactly what the new mapping says. Runs inside the
writer's transaction; imports only ``store``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Table, bindparam, delete, insert, select, update

from ingestor.store import models as m
from ingestor.store.db import chunks
from ingestor.store.inputs import EdgeLike, ProfileVersionLike

EDGE_KEY = ("src_ref", "relation", "dst_uid")
EDGE_ATTRS = ("src_kind", "src_uid", "dst_ref", "profile_key", "version")
VERSION_KEY = ("version_uid",)
VERSION_ATTRS = ("profile_key", "profile_ref", "name", "version", "scope", "project_uid")

Row = tuple[Any, ...]


def _keeper(frozen: frozenset[str], only: frozenset[str] | None) -> Callable[[str], bool]:
    """Whether a ref's rows stay as stored: it is frozen, or a scoped plan does not cover it."""
    if only is None:
        return frozen.__contains__
    return lambda ref: ref in frozen or ref not in only


def apply_edges(
    conn: Connection,
    instance: str,
    new: Sequence[EdgeLike],
    frozen: frozenset[str],
    only: frozenset[str] | None = None,
) -> None:
    """Make the instance's edges: kept ones for frozen sources (and, in a scoped plan, for every source
    outside ``only``), the new mapping's for all others."""
    kept = _keeper(frozen, only)
    old = _load(conn, m.edges, instance, EDGE_KEY, EDGE_ATTRS)
    final = {key: attrs for key, attrs in old.items() if kept(key[0])}
    for e in new:
        if not kept(e.src_ref):
            final.setdefault(
                (e.src_ref, e.relation, e.dst_uid),
                (e.src_kind, e.src_uid, e.dst_ref, e.profile_key, e.version),
            )
    _sync(conn, m.edges, instance, EDGE_KEY, EDGE_ATTRS, old, final)


def apply_profile_versions(
    conn: Connection,
    instance: str,
    new: Sequence[ProfileVersionLike],
    frozen: frozenset[str],
    only: frozenset[str] | None = None,
) -> None:
    """Make the instance's profile versions: kept ones for frozen families (and, in a scoped plan, for
    every family outside ``only``), the new mapping's for others."""
    kept = _keeper(frozen, only)
    old = _load(conn, m.profile_versions, instance, VERSION_KEY, VERSION_ATTRS)
    final = {key: attrs for key, attrs in old.items() if kept(attrs[1])}
    for v in new:
        if not kept(v.profile_ref):
            final.setdefault(
                (v.version_uid,), (v.profile_key, v.profile_ref, v.name, v.version, v.scope, v.project_uid)
            )
    _sync(conn, m.profile_versions, instance, VERSION_KEY, VERSION_ATTRS, old, final)


def _load(
    conn: Connection, table: Table, instance: str, key: Sequence[str], attrs: Sequence[str]
) -> dict[Row, Row]:
    columns = [table.c[name] for name in (*key, *attrs)]
    rows = conn.execute(select(*columns).where(table.c.instance == instance))
    return {tuple(r[: len(key)]): tuple(r[len(key) :]) for r in rows}


def _sync(
    conn: Connection,
    table: Table,
    instance: str,
    key: Sequence[str],
    attrs: Sequence[str],
    old: Mapping[Row, Row],
    final: Mapping[Row, Row],
) -> None:
    """Delete, insert and update only the rows that differ."""
    gone = [k for k in old if k not in final]
    added = [k for k in final if k not in old]
    changed = [k for k in final if k in old and old[k] != final[k]]
    match = [table.c.instance == bindparam("b_instance")] + [table.c[n] == bindparam(f"b_{n}") for n in key]
    if gone:
        rows = [{"b_instance": instance, **{f"b_{n}": v for n, v in zip(key, k, strict=True)}} for k in gone]
        for batch in chunks(rows):
            conn.execute(delete(table).where(*match), list(batch))
    if added:
        rows = [_row(instance, key, attrs, k, final[k]) for k in added]
        for batch in chunks(rows):
            conn.execute(insert(table), list(batch))
    if changed:
        stmt = update(table).where(*match).values({n: bindparam(n) for n in attrs})
        rows = [
            {
                "b_instance": instance,
                **{f"b_{n}": v for n, v in zip(key, k, strict=True)},
                **dict(zip(attrs, final[k], strict=True)),
            }
            for k in changed
        ]
        for batch in chunks(rows):
            conn.execute(stmt, list(batch))


def _row(instance: str, key: Sequence[str], attrs: Sequence[str], k: Row, values: Row) -> dict[str, Any]:
    return {"instance": instance, **dict(zip(key, k, strict=True)), **dict(zip(attrs, values, strict=True))}
