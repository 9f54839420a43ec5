"""The initial store: runs, parts, entities, changes, holds, edges, profile versions, cache, state, leases.

Revision ID: 0001
Revises:
Create Date: 2025-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _ts(name: str, nullable: bool = False) -> sa.Column[sa.DateTime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _str(name: str, nullable: bool = False) -> sa.Column[sa.String]:
    return sa.Column(name, sa.String(), nullable=nullable)


def _int(name: str, nullable: bool = False) -> sa.Column[sa.Integer]:
    return sa.Column(name, sa.Integer(), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "crawl_runs",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        _str("instance"),
        _str("replica_id"),
        _str("trigger"),
        _str("status"),
        _ts("started_at"),
        _ts("finished_at"),
        sa.Column("duration_seconds", sa.Float(), nullable=False),
        _int("calls"),
        _int("retries"),
        _int("rate_limited"),
        _int("errors"),
        _int("detail_calls"),
        _int("stale_details"),
        sa.Column("counts", sa.JSON(), nullable=False),
        _int("added"),
        _int("modified"),
        _int("removed"),
        _int("held"),
        _int("snapshot_version"),
        _str("error_class", nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_crawl_runs"),
    )
    op.create_index("ix_crawl_runs_instance_id", "crawl_runs", ["instance", "id"])

    op.create_table(
        "crawl_part_outcomes",
        sa.Column("run_id", BigId, nullable=False),
        _str("scope"),
        _str("kind"),
        sa.Column("ok", sa.Boolean(), nullable=False),
        _int("items"),
        _str("error_class", nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"], ["crawl_runs.id"], name="fk_crawl_part_outcomes_run_id_crawl_runs", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("run_id", "scope", "kind", name="pk_crawl_part_outcomes"),
    )

    op.create_table(
        "crawl_parts",
        _str("instance"),
        _str("scope"),
        _str("kind"),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("last_run_id", sa.BigInteger(), nullable=False),
        _ts("last_run_at"),
        sa.Column("last_ok_run_id", sa.BigInteger(), nullable=True),
        _ts("last_ok_at", nullable=True),
        sa.PrimaryKeyConstraint("instance", "scope", "kind", name="pk_crawl_parts"),
    )

    op.create_table(
        "entities",
        _str("instance"),
        _str("ref"),
        _str("name"),
        _str("kind"),
        _str("palette_kind"),
        _str("key"),
        _str("project_uid", nullable=True),
        _str("part_scope"),
        _str("part_kind"),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        _ts("first_seen"),
        _ts("last_seen"),
        _ts("changed_at"),
        sa.Column("run_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("instance", "ref", name="pk_entities"),
    )
    op.create_index("ix_entities_instance_palette_kind_key", "entities", ["instance", "palette_kind", "key"])
    op.create_index("ix_entities_instance_project_uid", "entities", ["instance", "project_uid"])

    op.create_table(
        "entity_changes",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        _str("instance"),
        sa.Column("run_id", sa.BigInteger(), nullable=False),
        _ts("at"),
        _str("change"),
        _str("ref"),
        _str("kind"),
        _str("palette_kind"),
        _str("project_uid", nullable=True),
        sa.Column("old_hash", sa.String(length=64), nullable=True),
        sa.Column("new_hash", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_entity_changes"),
    )
    op.create_index("ix_entity_changes_instance_id", "entity_changes", ["instance", "id"])
    op.create_index(
        "ix_entity_changes_instance_project_uid_id", "entity_changes", ["instance", "project_uid", "id"]
    )
    op.create_index("ix_entity_changes_at", "entity_changes", ["at"])

    op.create_table(
        "held_removals",
        _str("instance"),
        _str("ref"),
        _str("part_scope"),
        _str("part_kind"),
        _int("streak"),
        sa.Column("reason", sa.Text(), nullable=False),
        _ts("since"),
        sa.Column("since_run_id", sa.BigInteger(), nullable=False),
        sa.Column("run_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("instance", "ref", name="pk_held_removals"),
    )

    op.create_table(
        "edges",
        _str("instance"),
        _str("src_ref"),
        _str("relation"),
        _str("dst_uid"),
        _str("src_kind"),
        _str("src_uid"),
        _str("dst_ref", nullable=True),
        _str("profile_key", nullable=True),
        _str("version", nullable=True),
        sa.PrimaryKeyConstraint("instance", "src_ref", "relation", "dst_uid", name="pk_edges"),
    )
    op.create_index("ix_edges_instance_profile_key", "edges", ["instance", "profile_key"])
    op.create_index("ix_edges_instance_dst_uid", "edges", ["instance", "dst_uid"])

    op.create_table(
        "profile_versions",
        _str("instance"),
        _str("version_uid"),
        _str("profile_key"),
        _str("profile_ref"),
        _str("name"),
        _str("version", nullable=True),
        _str("scope"),
        _str("project_uid", nullable=True),
        sa.PrimaryKeyConstraint("instance", "version_uid", name="pk_profile_versions"),
    )
    op.create_index(
        "ix_profile_versions_instance_profile_key", "profile_versions", ["instance", "profile_key"]
    )

    op.create_table(
        "detail_cache",
        _str("instance"),
        _str("palette_kind"),
        _str("uid"),
        _str("last_modified", nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        _ts("fetched_at"),
        sa.PrimaryKeyConstraint("instance", "palette_kind", "uid", name="pk_detail_cache"),
    )

    op.create_table(
        "instance_state",
        _str("instance"),
        _int("snapshot_version"),
        sa.Column("last_run_id", sa.BigInteger(), nullable=True),
        _ts("last_run_at", nullable=True),
        _str("last_run_status", nullable=True),
        sa.Column("last_success_run_id", sa.BigInteger(), nullable=True),
        _ts("last_success_at", nullable=True),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("instance", name="pk_instance_state"),
    )

    op.create_table(
        "leases",
        _str("name"),
        _str("holder"),
        _ts("acquired_at"),
        _ts("renewed_at"),
        _ts("expires_at"),
        sa.PrimaryKeyConstraint("name", name="pk_leases"),
    )


def downgrade() -> None:
    for table in (
        "leases",
        "instance_state",
        "detail_cache",
        "profile_versions",
        "edges",
        "held_removals",
        "entity_changes",
        "entities",
        "crawl_parts",
        "crawl_part_outcomes",
        "crawl_runs",
    ):
        op.drop_table(table)
