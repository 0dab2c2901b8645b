"""Invite-code throttling (per chat and global).

Revision ID: 0003_sec_accounts
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.base

revision = '0003_sec_accounts'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'bind_throttles',
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('window_start', storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('tries', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_bind_throttles')),
    )


def downgrade() -> None:
    op.drop_table('bind_throttles')
