"""volunteers' debriefs after high or imminent chats

Revision ID: 0006_i18_debriefs
Revises: 0005_i18_outcomes
Create Date: 2026-12-04 04:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_i18_debriefs"
down_revision: str | None = "0005_i18_outcomes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "debriefs",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("conversation_id", sa.String(length=32), nullable=False),
        sa.Column("volunteer_id", sa.String(length=32), nullable=False),
        sa.Column("supervisor_id", sa.String(length=32), nullable=True),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("feeling", sa.String(length=16), nullable=False),
        sa.Column("wants", sa.JSON(), nullable=False),
        sa.Column("note", sa.String(length=1000), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("seen_by", sa.String(length=32), nullable=True),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_debriefs_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["supervisor_id"], ["staff_users.id"], name=op.f("fk_debriefs_supervisor_id_staff_users")
        ),
        sa.ForeignKeyConstraint(
            ["volunteer_id"], ["staff_users.id"], name=op.f("fk_debriefs_volunteer_id_staff_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_debriefs")),
        sa.UniqueConstraint("conversation_id", name=op.f("uq_debriefs_conversation_id")),
    )
    with op.batch_alter_table("debriefs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_debriefs_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_debriefs_volunteer_id"), ["volunteer_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("debriefs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_debriefs_volunteer_id"))
        batch_op.drop_index(batch_op.f("ix_debriefs_created_at"))
    op.drop_table("debriefs")
