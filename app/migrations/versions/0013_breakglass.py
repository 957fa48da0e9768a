"""consented emergency shares (break-glass)

Revision ID: 0013_i18_emergency_share
Revises: 0012_cuemarks
Create Date: 2026-12-04 15:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_i18_emergency_share"
down_revision: str | None = "0012_cuemarks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "emergency_shares",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("escalation_id", sa.String(length=32), nullable=False),
        sa.Column("conversation_id", sa.String(length=32), nullable=False),
        sa.Column("supervisor_id", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("has_phone", sa.Boolean(), nullable=False),
        sa.Column("has_location", sa.Boolean(), nullable=False),
        sa.Column("sealed", sa.Text(), nullable=True),
        sa.Column("delete_by", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_reason", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_emergency_shares_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["escalation_id"],
            ["escalations.id"],
            name=op.f("fk_emergency_shares_escalation_id_escalations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_emergency_shares")),
    )
    op.create_index(
        "ix_emergency_shares_status_delete_by",
        "emergency_shares",
        ["status", "delete_by"],
        unique=False,
    )
    op.create_index(
        op.f("ix_emergency_shares_escalation_id"),
        "emergency_shares",
        ["escalation_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_emergency_shares_conversation_id"),
        "emergency_shares",
        ["conversation_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_emergency_shares_conversation_id"), table_name="emergency_shares")
    op.drop_index(op.f("ix_emergency_shares_escalation_id"), table_name="emergency_shares")
    op.drop_index("ix_emergency_shares_status_delete_by", table_name="emergency_shares")
    op.drop_table("emergency_shares")
