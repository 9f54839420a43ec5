"""SQL of Palette sign-in flows: saved at ``start``, taken (read and deleted at once) by the callback.

Sync functions taking a ``Database``; async callers use ``await db.run(fn, ...)``. Rows hold the flow's
secrets only sealed (``ingestor.auth.sessions.SessionCipher``). Imports nothing of ours but ``store``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, insert, select

from ingestor.store.db import Database
from ingestor.store.models import signin_flows as table


@dataclass(frozen=True)
class FlowRow:
    """One sign-in flow in progress; ``sealed`` holds its nonce and PKCE verifier (left out of the repr)."""

    flow_id: str
    instance: str
    binding_hash: str
    sealed: bytes = field(repr=False)
    created_at: datetime
    expires_at: datetime


def save_flow(db: Database, row: FlowRow) -> None:
    """Store a new flow (ids are random: a clash is an error)."""
    values = {
        "flow_id": row.flow_id,
        "instance": row.instance,
        "binding_hash": row.binding_hash,
        "sealed": row.sealed,
        "created_at": row.created_at,
        "expires_at": row.expires_at,
    }
    with db.write() as conn:
        conn.execute(insert(table).values(values))


def take_flow(db: Database, flow_id: str, now: datetime) -> FlowRow | None:
    """The unexpired flow ``flow_id``, deleted in the same transaction: a second take finds nothing.

    Two replicas taking the same flow at once: only the one whose DELETE removed the row gets it.
    """
    with db.write() as conn:
        found = conn.execute(select(table).where(table.c.flow_id == flow_id)).first()
        if found is None:
            return None
        deleted = conn.execute(delete(table).where(table.c.flow_id == flow_id)).rowcount
    data = found._mapping
    if deleted != 1 or data["expires_at"] <= now:
        return None
    return FlowRow(
        flow_id=data["flow_id"],
        instance=data["instance"],
        binding_hash=data["binding_hash"],
        sealed=bytes(data["sealed"]),
        created_at=data["created_at"],
        expires_at=data["expires_at"],
    )


def purge_flows(db: Database, now: datetime) -> int:
    """Delete every expired flow; how many there were."""
    with db.write() as conn:
        return int(conn.execute(delete(table).where(table.c.expires_at <= now)).rowcount)
