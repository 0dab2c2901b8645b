"""The inbox's claim: which instance works a stored row, and until when, so that several
instances never work one row at once.

Revision ID: 0006_inbox_claim
Revises: 0005_pacing
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.base

revision = "0006_inbox_claim"
down_revision = "0005_pacing"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('inbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_by', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('claimed_until', storage.base.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('inbox', schema=None) as batch_op:
        batch_op.drop_column('claimed_until')
        batch_op.drop_column('claimed_by')
