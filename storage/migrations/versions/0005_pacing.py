"""Delivery pacing shared between instances as a sliding window: the channel's recent sends.

Revision ID: 0005_pacing
Revises: 0004_inbox
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.base

revision = "0005_pacing"
down_revision = "0004_inbox"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('delivery_sends',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('started_at', storage.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('answered_at', storage.base.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delivery_sends'))
    )
    with op.batch_alter_table('delivery_sends', schema=None) as batch_op:
        batch_op.create_index('ix_delivery_sends_channel_id', ['channel', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('delivery_sends', schema=None) as batch_op:
        batch_op.drop_index('ix_delivery_sends_channel_id')
    op.drop_table('delivery_sends')
