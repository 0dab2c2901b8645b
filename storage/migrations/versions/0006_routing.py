"""Indexes for the team proposal: declarations by unit and office spells by office, so the
conflicts of a case's units are found without scanning the organisation's declarations or
office history.

Revision ID: 0006_routing
Revises: 0006_inbox_claim
"""

from __future__ import annotations

from alembic import op

revision = "0006_routing"
down_revision = "0006_inbox_claim"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("conflict_declarations", schema=None) as batch_op:
        batch_op.create_index("ix_conflict_declarations_unit_id", ["unit_id"], unique=False)
    with op.batch_alter_table("staff_office_spells", schema=None) as batch_op:
        batch_op.create_index("ix_staff_office_spells_office_id", ["office_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("staff_office_spells", schema=None) as batch_op:
        batch_op.drop_index("ix_staff_office_spells_office_id")
    with op.batch_alter_table("conflict_declarations", schema=None) as batch_op:
        batch_op.drop_index("ix_conflict_declarations_unit_id")
