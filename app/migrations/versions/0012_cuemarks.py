"""cue marks keep the flag's lexicon families

Revision ID: 0012_cuemarks
Revises: 0011_i18_oncall_roster
Create Date: 2026-12-04 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_cuemarks"
down_revision: str | None = "0011_i18_oncall_roster"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Marks made before this keep an empty list: app.risk.feedback reads their families from
    # their pattern references instead.
    with op.batch_alter_table("cue_marks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("families", sa.JSON(), server_default="[]", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("cue_marks", schema=None) as batch_op:
        batch_op.drop_column("families")
