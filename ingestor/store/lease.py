"""Named leases in SQL (the crawl/leader lease): one holder at a time across replicas; expired ones are free.

Each operation is ONE conditional statement (INSERT ... ON CONFLICT DO UPDATE ... WHERE, or UPDATE ... WHERE),
atomic on SQLite and PostgreSQL alike. Times come from the caller's clock (pass ``now`` in tests).
The only writer of the ``leases`` table; imports only ``store``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import case, delete, select, update

from ingestor.store import models as m
from ingestor.store.db import Database, upsert, utcnow


def try_acquire(db: Database, name: str, holder: str, ttl: float, now: datetime | None = None) -> bool:
    """Take the lease (or extend it, if ``holder`` has it) unless another holder has an unexpired one."""
    now = now or utcnow()
    lease = m.leases.c
    with db.write() as conn:
        stmt = upsert(conn, m.leases).values(
            name=name, holder=holder, acquired_at=now, renewed_at=now, expires_at=now + timedelta(seconds=ttl)
        )
        new = stmt.excluded
        stmt = stmt.on_conflict_do_update(
            index_elements=["name"],
            set_={
                "holder": new.holder,
                "acquired_at": case((lease.holder == new.holder, lease.acquired_at), else_=new.acquired_at),
                "renewed_at": new.renewed_at,
                "expires_at": new.expires_at,
            },
            # the row is taken over only when it is ours already or has expired
            where=(lease.holder == new.holder) | (lease.expires_at <= new.renewed_at),
        )
        taken = conn.execute(stmt.returning(lease.holder)).scalar_one_or_none()
    return bool(taken == holder)


def renew(db: Database, name: str, holder: str, ttl: float, now: datetime | None = None) -> bool:
    """Extend a lease ``holder`` still has (also just after expiry, if nobody took it over meanwhile)."""
    now = now or utcnow()
    lease = m.leases.c
    with db.write() as conn:
        result = conn.execute(
            update(m.leases)
            .where(lease.name == name, lease.holder == holder)
            .values(renewed_at=now, expires_at=now + timedelta(seconds=ttl))
        )
        return result.rowcount == 1


def release(db: Database, name: str, holder: str) -> bool:
    """Give the lease up; only its holder can. Returns whether anything was released."""
    lease = m.leases.c
    with db.write() as conn:
        return conn.execute(delete(m.leases).where(lease.name == name, lease.holder == holder)).rowcount == 1


def holder_of(db: Database, name: str, now: datetime | None = None) -> str | None:
    """Who holds an unexpired lease ``name`` now, if anyone."""
    now = now or utcnow()
    lease = m.leases.c
    with db.read() as conn:
        row = conn.execute(select(lease.holder, lease.expires_at).where(lease.name == name)).one_or_none()
    return row.holder if row is not None and row.expires_at > now else None
