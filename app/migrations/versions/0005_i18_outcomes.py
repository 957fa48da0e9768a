"""feedback and outcomes: anonymous answers, and a flag that a chat was answered

Revision ID: 0005_i18_outcomes
Revises: 0004_cue_marks
Create Date: 2026-12-04 04:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_i18_outcomes"
down_revision: str | None = "0004_cue_marks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "outcomes",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("week_start", sa.Date(), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("risk_bucket", sa.String(length=16), nullable=False),
        sa.Column("mood_start", sa.SmallInteger(), nullable=True),
        sa.Column("mood_end", sa.SmallInteger(), nullable=True),
        sa.Column("heard", sa.String(length=8), nullable=True),
        sa.Column("come_back", sa.String(length=8), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outcomes")),
    )
    with op.batch_alter_table("outcomes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outcomes_week_start"), ["week_start"], unique=False)
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "outcome_recorded", sa.Boolean(), server_default=sa.false(), nullable=False
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_column("outcome_recorded")
    with op.batch_alter_table("outcomes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outcomes_week_start"))
    op.drop_table("outcomes")
