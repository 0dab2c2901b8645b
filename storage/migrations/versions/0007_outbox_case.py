"""The case a queued notice to staff names, so the delivery worker checks need-to-know again
when it sends it.

Revision ID: 0007_outbox_case
Revises: 0006_named
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_outbox_case"
down_revision = "0006_named"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("case_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_outbox_case_id_cases"), "cases", ["case_id"], ["id"], ondelete="SET NULL")


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_outbox_case_id_cases"), type_="foreignkey")
        batch_op.drop_column("case_id")
