"""login delays: failed logins in a row per username (known or not), instead of a lockout

Revision ID: 0010_i16_login_delay
Revises: 0009_i16_flagged_pages
Create Date: 2026-12-04 11:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_i16_login_delay"
down_revision: str | None = "0009_i16_flagged_pages"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "login_failure_runs",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_login_failure_runs")),
    )
    op.create_index(
        op.f("ix_login_failure_runs_last_failure_at"),
        "login_failure_runs",
        ["last_failure_at"],
        unique=False,
    )
    # The lockout's columns: a throttled_until in the future would keep refusing the right
    # password after the upgrade.
    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.drop_column("throttled_until")
        batch_op.drop_column("failed_logins")


def downgrade() -> None:
    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("throttled_until", sa.DateTime(timezone=True), nullable=True))
    op.drop_index(op.f("ix_login_failure_runs_last_failure_at"), table_name="login_failure_runs")
    op.drop_table("login_failure_runs")
