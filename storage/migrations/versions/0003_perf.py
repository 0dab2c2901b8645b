"""Indexes for team proposals: staff by office, offices by joint group, offices by stationed unit.

Revision ID: 0003_perf
Revises: 0002
"""

from __future__ import annotations

from alembic import op

revision = '0003_perf'
down_revision = '0003_campaigns'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_office_id'), ['office_id'], unique=False)
    with op.batch_alter_table('offices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_offices_joint_group_id'), ['joint_group_id'], unique=False)
    with op.batch_alter_table('office_units', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_office_units_unit_id'), ['unit_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('office_units', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_office_units_unit_id'))
    with op.batch_alter_table('offices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_offices_joint_group_id'))
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_office_id'))
