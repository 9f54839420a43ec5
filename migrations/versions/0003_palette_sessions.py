"""Per-user Palette session tokens, encrypted at rest, keyed by (user entity ref, instance).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "palette_sessions",
        sa.Column("user_ref", sa.String(length=255), nullable=False),
        sa.Column("instance", sa.String(length=255), nullable=False),
        sa.Column("email_hash", sa.String(length=64), nullable=True),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_ref", "instance", name="pk_palette_sessions"),
    )
    op.create_index("ix_palette_sessions_instance_email_hash", "palette_sessions", ["instance", "email_hash"])
    op.create_index("ix_palette_sessions_expires_at", "palette_sessions", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_palette_sessions_expires_at", table_name="palette_sessions")
    op.drop_index("ix_palette_sessions_instance_email_hash", table_name="palette_sessions")
    op.drop_table("palette_sessions")
