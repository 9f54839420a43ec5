"""The SQL ``SessionRepository``: adapts ``store.sessions`` (sync, on the store's threads) to ``auth``.

Lives in the surface layer because ``auth`` may not import ``store``. No SQL here.
"""

from __future__ import annotations

from datetime import datetime

from ingestor.auth.sessions import SealedSession
from ingestor.store import sessions
from ingestor.store.db import Database


class SqlSessionRepository:
    """Sealed Palette sessions in the store's ``palette_sessions`` table, shared by every replica."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def __repr__(self) -> str:
        return f"SqlSessionRepository({self._db!r})"

    async def save(self, session: SealedSession) -> None:
        await self._db.run(sessions.save_session, _to_row(session))

    async def load(self, user_ref: str, instance: str) -> SealedSession | None:
        return _from_row(await self._db.run(sessions.load_session, user_ref, instance))

    async def find_by_email_hash(self, instance: str, email_hash: str) -> SealedSession | None:
        return _from_row(await self._db.run(sessions.find_by_email_hash, instance, email_hash))

    async def delete(self, user_ref: str, instance: str, *, updated_at: datetime | None = None) -> bool:
        return await self._db.run(sessions.delete_session, user_ref, instance, updated_at=updated_at)

    async def delete_user(self, user_ref: str) -> int:
        return await self._db.run(sessions.delete_user_sessions, user_ref)

    async def purge_expired(self, now: datetime) -> int:
        return await self._db.run(sessions.purge_expired, now)

    async def count(self) -> int:
        return await self._db.run(sessions.count_sessions)

    async def trim_oldest(self, keep: int) -> int:
        return await self._db.run(sessions.trim_oldest, keep)


def _to_row(session: SealedSession) -> sessions.SessionRow:
    return sessions.SessionRow(
        user_ref=session.user_ref,
        instance=session.instance,
        email_hash=session.email_hash,
        ciphertext=session.ciphertext,
        expires_at=session.expires_at,
        created_at=session.created_at,
        updated_at=session.updated_at,
    )


def _from_row(row: sessions.SessionRow | None) -> SealedSession | None:
    if row is None:
        return None
    return SealedSession(
        user_ref=row.user_ref,
        instance=row.instance,
        email_hash=row.email_hash,
        ciphertext=row.ciphertext,
        expires_at=row.expires_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
