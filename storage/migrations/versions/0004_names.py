"""English names and aliases of units, joint groups and offices (found by search, shown in English).

Revision ID: 0004_names
Revises: 0003_perf
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004_names'
down_revision = '0003_perf'
branch_labels = None
depends_on = None

TABLES = ('units', 'joint_groups', 'offices')


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('name_en', sa.String(length=200), nullable=True))
            batch_op.add_column(sa.Column('aliases', sa.Text(), server_default='', nullable=False))


def downgrade() -> None:
    for table in reversed(TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('aliases')
            batch_op.drop_column('name_en')
