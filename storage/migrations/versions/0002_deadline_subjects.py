"""Deadlines have a subject (a case, a member's 签收, later other work items); the work
deadline lives only in the deadlines table.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.base

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('deadlines', schema=None) as batch_op:
        batch_op.add_column(sa.Column('subject', sa.String(length=24), server_default='case', nullable=False))
        batch_op.alter_column('case_id', existing_type=sa.Integer(), nullable=True)
        batch_op.create_index(batch_op.f('ix_deadlines_subject'), ['subject'], unique=False)
    op.execute("UPDATE deadlines SET subject = 'member' WHERE member_id IS NOT NULL")
    with op.batch_alter_table('escalations', schema=None) as batch_op:
        batch_op.alter_column('case_id', existing_type=sa.Integer(), nullable=True)
    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.drop_column('deadline_at')


def downgrade() -> None:
    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('deadline_at', storage.base.UTCDateTime(timezone=True), nullable=True))
    op.execute("DELETE FROM escalations WHERE case_id IS NULL")
    with op.batch_alter_table('escalations', schema=None) as batch_op:
        batch_op.alter_column('case_id', existing_type=sa.Integer(), nullable=False)
    op.execute("DELETE FROM deadlines WHERE case_id IS NULL")
    with op.batch_alter_table('deadlines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deadlines_subject'))
        batch_op.alter_column('case_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('subject')
