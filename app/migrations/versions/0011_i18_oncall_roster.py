"""the on-call roster: supervisors' shifts

Revision ID: 0011_i18_oncall_roster
Revises: 0010_i16_login_delay
Create Date: 2026-12-04 11:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_i18_oncall_roster"
down_revision: str | None = "0010_i16_login_delay"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "oncall_shifts",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("staff_id", sa.String(length=32), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff_users.id"],
            name=op.f("fk_oncall_shifts_staff_id_staff_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oncall_shifts")),
    )
    with op.batch_alter_table("oncall_shifts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_oncall_shifts_staff_id"), ["staff_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_oncall_shifts_starts_at"), ["starts_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_oncall_shifts_ends_at"), ["ends_at"], unique=False)


def downgrade() -> None:
    op.drop_table("oncall_shifts")
