"""Entities keep their title and its case-folded form, indexed, so title look-ups (MCP tools) are seeks.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 500


def _title(body: Any, name: str) -> str:
    """``store.writer_entities.title_of``, frozen here: ``metadata.title``, else the name."""
    meta = body.get("metadata") if isinstance(body, dict) else None
    title = meta.get("title") if isinstance(meta, dict) else None
    return title if isinstance(title, str) and title.strip() else name


def upgrade() -> None:
    with op.batch_alter_table("entities") as batch:
        batch.add_column(sa.Column("title", sa.String(), nullable=True))
        batch.add_column(sa.Column("title_key", sa.String(), nullable=True))
    conn = op.get_bind()
    entities = sa.table(
        "entities",
        sa.column("instance", sa.String()),
        sa.column("ref", sa.String()),
        sa.column("name", sa.String()),
        sa.column("body", sa.JSON()),
        sa.column("title", sa.String()),
        sa.column("title_key", sa.String()),
    )
    rows = conn.execute(
        sa.select(entities.c.instance, entities.c.ref, entities.c.name, entities.c.body)
    ).all()
    update = (
        sa.update(entities)
        .where(entities.c.instance == sa.bindparam("b_instance"), entities.c.ref == sa.bindparam("b_ref"))
        .values(title=sa.bindparam("b_title"), title_key=sa.bindparam("b_key"))
    )
    values = []
    for row in rows:
        title = _title(row.body, row.name)
        values.append(
            {
                "b_instance": row.instance,
                "b_ref": row.ref,
                "b_title": title,
                "b_key": title.strip().casefold(),
            }
        )
    for start in range(0, len(values), BATCH):
        conn.execute(update, values[start : start + BATCH])
    with op.batch_alter_table("entities") as batch:
        batch.alter_column("title", existing_type=sa.String(), nullable=False)
        batch.alter_column("title_key", existing_type=sa.String(), nullable=False)
        batch.create_index(
            "ix_entities_instance_palette_kind_title_key", ["instance", "palette_kind", "title_key"]
        )


def downgrade() -> None:
    with op.batch_alter_table("entities") as batch:
        batch.drop_index("ix_entities_instance_palette_kind_title_key")
        batch.drop_column("title_key")
        batch.drop_column("title")
