"""warm transfer: hand-overs of a conversation and their staff-only notes

Revision ID: 0014_i18_transfer
Revises: 0013_i18_emergency_share
Create Date: 2026-12-04 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_i18_transfer"
down_revision: str | None = "0013_i18_emergency_share"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "conversation_transfers",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("conversation_id", sa.String(length=32), nullable=False),
        sa.Column("from_volunteer_id", sa.String(length=32), nullable=True),
        sa.Column("to_volunteer_id", sa.String(length=32), nullable=True),
        sa.Column("by_id", sa.String(length=32), nullable=True),
        sa.Column("by_role", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_conversation_transfers_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversation_transfers")),
    )
    with op.batch_alter_table("conversation_transfers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_conversation_transfers_conversation_id"),
            ["conversation_id"],
            unique=False,
        )


def downgrade() -> None:
    op.drop_table("conversation_transfers")
