"""Schema upgrades: ``upgrade(url)`` for ``ingestor db upgrade`` and ``serve`` start, safe with many replicas.

PostgreSQL: a session advisory lock serialises concurrent upgrades and the whole upgrade is one transaction.
SQLite: the upgrade runs in one ``BEGIN IMMEDIATE`` transaction (the database's own write lock).
Imports nothing of ours outside ``store/``; only ``store/`` imports Alembic.
"""

from __future__ import annotations

from pathlib import Path

import structlog
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from ingestor.store.db import SQLITE_IMMEDIATE, Database, masked

log = structlog.get_logger(__name__)

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
# A fixed 64-bit key for pg_advisory_lock, shared by every replica of this service.
ADVISORY_LOCK_KEY = 0x5C0A_1DB5_70E2_0001


def alembic_config() -> Config:
    """An Alembic configuration pointing at our migrations, with no ini file and no logging setup."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    """The newest revision shipped with this code."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError(f"no migrations found in {MIGRATIONS}")
    return head


def current_revision(db: Database) -> str | None:
    """The revision the database is at (``None`` for an empty database)."""
    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(url: str | Database, revision: str = "head") -> None:
    """Bring the database to ``revision``; concurrent callers wait for each other, then find nothing to do."""
    db = url if isinstance(url, Database) else Database(url, pool_size=1)
    try:
        _upgrade(db, revision)
    finally:
        if db is not url:
            db.close()


def _upgrade(db: Database, revision: str) -> None:
    config = alembic_config()
    with db.engine.connect() as conn:
        postgres = db.dialect == "postgresql"
        if postgres:
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
            conn.commit()
        try:
            before = MigrationContext.configure(conn).get_current_revision()
            conn.rollback()
            if not postgres:
                conn = conn.execution_options(**{SQLITE_IMMEDIATE: True})
            with conn.begin():
                config.attributes["connection"] = conn
                command.upgrade(config, revision)
            after = MigrationContext.configure(conn).get_current_revision()
            conn.rollback()
            log.info("store.migrated", url=masked(db.url), before=before, after=after)
        finally:
            if postgres:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_LOCK_KEY})
                conn.commit()
