"""SQL of the Palette session table: sealed per-user tokens keyed by (user entity ref, instance).

Sync functions taking a ``Database``; async callers use ``await db.run(fn, ...)``. Rows hold ciphertext
only: sealing and opening live in ``ingestor.auth.sessions``. Imports nothing of ours but ``store``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, func, select, tuple_

from ingestor.store.db import Database, upsert
from ingestor.store.models import palette_sessions as table

_KEY = ("user_ref", "instance")


@dataclass(frozen=True)
class SessionRow:
    """One stored Palette session; ``ciphertext`` is the sealed token (left out of the repr)."""

    user_ref: str
    instance: str
    email_hash: str | None
    ciphertext: bytes = field(repr=False)
    expires_at: datetime
    created_at: datetime
    updated_at: datetime


def save_session(db: Database, row: SessionRow) -> None:
    """Insert or replace the session of (user_ref, instance); a replaced row keeps its ``created_at``."""
    values = {
        "user_ref": row.user_ref,
        "instance": row.instance,
        "email_hash": row.email_hash,
        "ciphertext": row.ciphertext,
        "expires_at": row.expires_at,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }
    with db.write() as conn:
        stmt = upsert(conn, table).values(values)
        changed = {name: stmt.excluded[name] for name in values if name not in (*_KEY, "created_at")}
        conn.execute(stmt.on_conflict_do_update(index_elements=list(_KEY), set_=changed))


def load_session(db: Database, user_ref: str, instance: str) -> SessionRow | None:
    """The session of (user_ref, instance), expired or not."""
    query = select(table).where(table.c.user_ref == user_ref, table.c.instance == instance)
    with db.read() as conn:
        return _row(conn.execute(query).first())


def find_by_email_hash(db: Database, instance: str, email_hash: str) -> SessionRow | None:
    """The most recently saved session of ``instance`` whose e-mail hash matches, expired or not."""
    query = (
        select(table)
        .where(table.c.instance == instance, table.c.email_hash == email_hash)
        .order_by(table.c.updated_at.desc(), table.c.user_ref)
        .limit(1)
    )
    with db.read() as conn:
        return _row(conn.execute(query).first())


def delete_session(db: Database, user_ref: str, instance: str, *, updated_at: datetime | None = None) -> bool:
    """Delete one session; with ``updated_at``, only if it was not saved again since (a replica may have
    just stored a fresh one). Whether a row was deleted."""
    stmt = delete(table).where(table.c.user_ref == user_ref, table.c.instance == instance)
    if updated_at is not None:
        stmt = stmt.where(table.c.updated_at == updated_at)
    with db.write() as conn:
        return conn.execute(stmt).rowcount > 0


def delete_user_sessions(db: Database, user_ref: str) -> int:
    """Delete every session of one user (sign-out); how many were deleted."""
    with db.write() as conn:
        return int(conn.execute(delete(table).where(table.c.user_ref == user_ref)).rowcount)


def purge_expired(db: Database, now: datetime) -> int:
    """Delete every session with ``expires_at <= now``; how many were deleted."""
    with db.write() as conn:
        return int(conn.execute(delete(table).where(table.c.expires_at <= now)).rowcount)


def count_sessions(db: Database) -> int:
    """How many sessions are stored (expired ones included)."""
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def trim_oldest(db: Database, keep: int) -> int:
    """Delete all but the ``keep`` most recently saved sessions; how many were deleted."""
    if keep < 0:
        raise ValueError("keep must not be negative")
    oldest = (
        select(table.c.user_ref, table.c.instance)
        .order_by(table.c.updated_at.desc(), table.c.user_ref, table.c.instance)
        .offset(keep)
    )
    stmt = delete(table).where(tuple_(table.c.user_ref, table.c.instance).in_(oldest))
    with db.write() as conn:
        return int(conn.execute(stmt).rowcount)


def _row(found: Row[Any] | None) -> SessionRow | None:
    if found is None:
        return None
    data = found._mapping
    return SessionRow(
        user_ref=data["user_ref"],
        instance=data["instance"],
        email_hash=data["email_hash"],
        ciphertext=bytes(data["ciphertext"]),
        expires_at=data["expires_at"],
        created_at=data["created_at"],
        updated_at=data["updated_at"],
    )
