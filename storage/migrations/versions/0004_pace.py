"""Delivery pacing shared between instances: one row per channel and per chat being served.

Revision ID: 0004_pace
Revises: 0003_perf
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.base

revision = '0004_pace'
down_revision = "0004_names"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('delivery_pace',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('next_at', storage.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_delivery_pace'))
    )
    with op.batch_alter_table('delivery_pace', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_delivery_pace_next_at'), ['next_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('delivery_pace', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_delivery_pace_next_at'))
    op.drop_table('delivery_pace')
