"""a debrief per volunteer of a chat: one who handed a high-risk chat on may debrief too, and
their part of it counts in their activity, and a cool-down remembers its chat

Revision ID: 0016_debrief_per_volunteer
Revises: 0015_i18_return_codes
Create Date: 2026-12-07 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_debrief_per_volunteer"
down_revision: str | None = "0015_i18_return_codes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("conversation_transfers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("from_started_at", sa.DateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("cooldown_conversation_id", sa.String(length=32), nullable=True)
        )
    with op.batch_alter_table("debriefs", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("uq_debriefs_conversation_id"), type_="unique")
        batch_op.create_unique_constraint(
            op.f("uq_debriefs_conversation_id_volunteer_id"), ["conversation_id", "volunteer_id"]
        )


def downgrade() -> None:
    # Keeps each chat's first debrief: the one-per-chat rule cannot hold the others.
    op.execute(
        "DELETE FROM debriefs WHERE id NOT IN (SELECT id FROM (SELECT d.id FROM debriefs d"
        " WHERE d.created_at = (SELECT MIN(e.created_at) FROM debriefs e"
        " WHERE e.conversation_id = d.conversation_id)) AS firsts)"
    )
    with op.batch_alter_table("debriefs", schema=None) as batch_op:
        batch_op.drop_constraint(
            op.f("uq_debriefs_conversation_id_volunteer_id"), type_="unique"
        )
        batch_op.create_unique_constraint(op.f("uq_debriefs_conversation_id"), ["conversation_id"])
    with op.batch_alter_table("conversation_transfers", schema=None) as batch_op:
        batch_op.drop_column("from_started_at")
    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.drop_column("cooldown_conversation_id")
