"""Every unit a case was about before it was moved (conflicts on them still apply).

Revision ID: 0003_sec_access
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.base

revision = '0003_sec_access'
down_revision = '0003_sec_accounts'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'case_units',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('moved_by_staff_id', sa.Integer(), nullable=True),
        sa.Column('at', storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_units_case_id_cases'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['moved_by_staff_id'], ['staff.id'], name=op.f('fk_case_units_moved_by_staff_id_staff')),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_case_units_unit_id_units')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_case_units')),
    )
    with op.batch_alter_table('case_units', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_units_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_units_unit_id'), ['unit_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('case_units', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_units_unit_id'))
        batch_op.drop_index(batch_op.f('ix_case_units_case_id'))
    op.drop_table('case_units')
