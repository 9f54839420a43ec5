"""The store's tables (SQLAlchemy Core); Alembic migrations in ``migrations/`` must match them exactly.

Every row is keyed by ``instance`` (the environment name, ``""`` when unnamed). Timestamps are UTC.
Imports nothing of ours; only ``store/`` imports SQLAlchemy.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    TypeDecorator,
)

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on both backends (SQLite keeps no zone: stored as naive UTC, read back aware)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use timezone-aware UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# 64-bit ids on PostgreSQL; SQLite only auto-increments an INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def _instance() -> Column[Any]:
    return Column("instance", String, nullable=False)


crawl_runs = Table(
    "crawl_runs",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    _instance(),
    Column("replica_id", String, nullable=False),
    Column("trigger", String, nullable=False),
    Column("status", String, nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime, nullable=False),
    Column("duration_seconds", Float, nullable=False),
    Column("calls", Integer, nullable=False),
    Column("retries", Integer, nullable=False),
    Column("rate_limited", Integer, nullable=False),
    Column("errors", Integer, nullable=False),
    Column("detail_calls", Integer, nullable=False),
    Column("stale_details", Integer, nullable=False),
    Column("counts", JSON, nullable=False),
    Column("added", Integer, nullable=False),
    Column("modified", Integer, nullable=False),
    Column("removed", Integer, nullable=False),
    Column("held", Integer, nullable=False),
    Column("snapshot_version", Integer, nullable=False),
    Column("error_class", String, nullable=True),
    Column("error_message", Text, nullable=True),
    # Objects the mapping left out or flagged (capped list of {paletteKind, key, name, reason, level}).
    Column("problems", JSON, nullable=True),
    Index("ix_crawl_runs_instance_id", "instance", "id"),
)

crawl_part_outcomes = Table(
    "crawl_part_outcomes",
    metadata,
    Column("run_id", BigId, ForeignKey("crawl_runs.id", ondelete="CASCADE"), nullable=False),
    Column("scope", String, nullable=False),
    Column("kind", String, nullable=False),
    Column("ok", Boolean, nullable=False),
    Column("items", Integer, nullable=False),
    Column("error_class", String, nullable=True),
    Column("error_message", Text, nullable=True),
    PrimaryKeyConstraint("run_id", "scope", "kind"),
)

crawl_parts = Table(
    "crawl_parts",
    metadata,
    _instance(),
    Column("scope", String, nullable=False),
    Column("kind", String, nullable=False),
    Column("ok", Boolean, nullable=False),
    Column("last_run_id", BigInteger, nullable=False),
    Column("last_run_at", UtcDateTime, nullable=False),
    Column("last_ok_run_id", BigInteger, nullable=True),
    Column("last_ok_at", UtcDateTime, nullable=True),
    PrimaryKeyConstraint("instance", "scope", "kind"),
)
"""Per part: whether its last crawl was applied, and when it last was. An entity's data is as fresh as its
part's ``last_ok_at`` (unless held back), so unchanged entities need no write per crawl."""

entities = Table(
    "entities",
    metadata,
    _instance(),
    Column("ref", String, nullable=False),
    Column("name", String, nullable=False),
    # ``metadata.title`` (else the name) and its case-folded form: title look-ups are an index seek.
    Column("title", String, nullable=False),
    Column("title_key", String, nullable=False),
    Column("kind", String, nullable=False),
    Column("palette_kind", String, nullable=False),
    Column("key", String, nullable=False),
    Column("project_uid", String, nullable=True),
    Column("part_scope", String, nullable=False),
    Column("part_kind", String, nullable=False),
    Column("body", JSON, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("first_seen", UtcDateTime, nullable=False),
    # last_seen / run_id are written with the row (and when a hold starts); queries report the later of
    # these and the part's last_ok_at / last_ok_run_id for entities that are not held back.
    Column("last_seen", UtcDateTime, nullable=False),
    Column("changed_at", UtcDateTime, nullable=False),
    Column("run_id", BigInteger, nullable=False),
    PrimaryKeyConstraint("instance", "ref"),
    Index("ix_entities_instance_palette_kind_key", "instance", "palette_kind", "key"),
    Index("ix_entities_instance_project_uid", "instance", "project_uid"),
    Index("ix_entities_instance_palette_kind_title_key", "instance", "palette_kind", "title_key"),
)

entity_changes = Table(
    "entity_changes",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    _instance(),
    Column("run_id", BigInteger, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("change", String, nullable=False),
    Column("ref", String, nullable=False),
    Column("kind", String, nullable=False),
    Column("palette_kind", String, nullable=False),
    Column("project_uid", String, nullable=True),
    Column("old_hash", String(64), nullable=True),
    Column("new_hash", String(64), nullable=True),
    Index("ix_entity_changes_instance_id", "instance", "id"),
    Index("ix_entity_changes_instance_project_uid_id", "instance", "project_uid", "id"),
    Index("ix_entity_changes_at", "at"),
)

held_removals = Table(
    "held_removals",
    metadata,
    _instance(),
    Column("ref", String, nullable=False),
    Column("part_scope", String, nullable=False),
    Column("part_kind", String, nullable=False),
    Column("streak", Integer, nullable=False),
    Column("reason", Text, nullable=False),
    Column("since", UtcDateTime, nullable=False),
    Column("since_run_id", BigInteger, nullable=False),
    Column("run_id", BigInteger, nullable=False),
    PrimaryKeyConstraint("instance", "ref"),
)

edges = Table(
    "edges",
    metadata,
    _instance(),
    Column("src_ref", String, nullable=False),
    Column("relation", String, nullable=False),
    Column("dst_uid", String, nullable=False),
    Column("src_kind", String, nullable=False),
    Column("src_uid", String, nullable=False),
    Column("dst_ref", String, nullable=True),
    Column("profile_key", String, nullable=True),
    Column("version", String, nullable=True),
    PrimaryKeyConstraint("instance", "src_ref", "relation", "dst_uid"),
    Index("ix_edges_instance_profile_key", "instance", "profile_key"),
    Index("ix_edges_instance_dst_uid", "instance", "dst_uid"),
)

profile_versions = Table(
    "profile_versions",
    metadata,
    _instance(),
    Column("version_uid", String, nullable=False),
    Column("profile_key", String, nullable=False),
    Column("profile_ref", String, nullable=False),
    Column("name", String, nullable=False),
    Column("version", String, nullable=True),
    Column("scope", String, nullable=False),
    Column("project_uid", String, nullable=True),
    PrimaryKeyConstraint("instance", "version_uid"),
    Index("ix_profile_versions_instance_profile_key", "instance", "profile_key"),
)

detail_cache = Table(
    "detail_cache",
    metadata,
    _instance(),
    Column("palette_kind", String, nullable=False),
    Column("uid", String, nullable=False),
    Column("last_modified", String, nullable=True),
    Column("payload", JSON, nullable=False),
    Column("fetched_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("instance", "palette_kind", "uid"),
)

instance_state = Table(
    "instance_state",
    metadata,
    Column("instance", String, primary_key=True),
    Column("snapshot_version", Integer, nullable=False),
    Column("last_run_id", BigInteger, nullable=True),
    Column("last_run_at", UtcDateTime, nullable=True),
    Column("last_run_status", String, nullable=True),
    Column("last_success_run_id", BigInteger, nullable=True),
    Column("last_success_at", UtcDateTime, nullable=True),
    Column("updated_at", UtcDateTime, nullable=False),
)

leases = Table(
    "leases",
    metadata,
    Column("name", String, primary_key=True),
    Column("holder", String, nullable=False),
    Column("acquired_at", UtcDateTime, nullable=False),
    Column("renewed_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
)

palette_sessions = Table(
    "palette_sessions",
    metadata,
    # The caller's Backstage user entity ref, lower-cased; one Palette session per user and instance.
    Column("user_ref", String(255), nullable=False),
    Column("instance", String(255), nullable=False),
    # Hex SHA-256 of the lower-cased e-mail (never the e-mail itself), for look-ups by verified e-mail.
    Column("email_hash", String(64), nullable=True),
    # The Palette session token sealed by ``auth.sessions.SessionCipher`` (AES-GCM, bound to the key).
    Column("ciphertext", LargeBinary, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("user_ref", "instance"),
    Index("ix_palette_sessions_instance_email_hash", "instance", "email_hash"),
    Index("ix_palette_sessions_expires_at", "expires_at"),
)
"""Per-user Palette session tokens, encrypted at rest and shared by every replica (compat S10)."""

signin_flows = Table(
    "signin_flows",
    metadata,
    # A random id; the browser holds it in ``state`` (signed) and the flow cookie (its binding secret).
    Column("flow_id", String(64), primary_key=True),
    Column("instance", String(255), nullable=False),
    # Hex SHA-256 of the browser-binding secret kept in the flow cookie.
    Column("binding_hash", String(64), nullable=False),
    # Nonce, PKCE verifier, return target and initiating user, sealed like the sessions (AES-GCM).
    Column("sealed", LargeBinary, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Index("ix_signin_flows_expires_at", "expires_at"),
)
"""Palette sign-in flows between ``start`` and the callback: single use (taken = deleted), shared."""
