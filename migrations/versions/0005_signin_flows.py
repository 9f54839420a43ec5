"""Palette sign-in flows in progress (single-use, shared by replicas).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "signin_flows",
        sa.Column("flow_id", sa.String(length=64), nullable=False),
        sa.Column("instance", sa.String(length=255), nullable=False),
        sa.Column("binding_hash", sa.String(length=64), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("flow_id", name="pk_signin_flows"),
    )
    op.create_index("ix_signin_flows_expires_at", "signin_flows", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_signin_flows_expires_at", table_name="signin_flows")
    op.drop_table("signin_flows")
