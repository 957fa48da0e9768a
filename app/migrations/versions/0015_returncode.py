"""return codes: coming back without an account (issue #18 part 4)

Revision ID: 0015_i18_return_codes
Revises: 0014_i18_transfer
Create Date: 2026-12-04 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_i18_return_codes"
down_revision: str | None = "0014_i18_transfer"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "return_codes",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("plan", sa.JSON(), nullable=True),
        sa.Column("chats", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_return_codes")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_return_codes_code_hash")),
    )
    op.create_index(
        op.f("ix_return_codes_last_used_at"), "return_codes", ["last_used_at"], unique=False
    )
    op.create_table(
        "returning_seekers",
        sa.Column("seeker_id", sa.String(length=32), nullable=False),
        sa.Column("return_code_id", sa.String(length=32), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["return_code_id"],
            ["return_codes.id"],
            name=op.f("fk_returning_seekers_return_code_id_return_codes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["seeker_id"],
            ["seekers.id"],
            name=op.f("fk_returning_seekers_seeker_id_seekers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("seeker_id", name=op.f("pk_returning_seekers")),
    )
    op.create_index(
        op.f("ix_returning_seekers_return_code_id"),
        "returning_seekers",
        ["return_code_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_returning_seekers_return_code_id"), table_name="returning_seekers")
    op.drop_table("returning_seekers")
    op.drop_index(op.f("ix_return_codes_last_used_at"), table_name="return_codes")
    op.drop_table("return_codes")
