"""The inbox: platform posts stored (sealed) before they are acknowledged, until handled.

Revision ID: 0004_inbox
Revises: 0003_perf
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.base

revision = '0004_inbox'
down_revision = "0004_campaigns2"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'inbox',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('channel', sa.String(length=16), nullable=False),
        sa.Column('key_id', sa.String(length=32), nullable=False),
        sa.Column('sealed', sa.LargeBinary(), nullable=False),
        sa.Column('received_at', storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_inbox')),
    )
    with op.batch_alter_table('inbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inbox_received_at'), ['received_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('inbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inbox_received_at'))
    op.drop_table('inbox')
