"""Casework: extension and suspension requests, 提级/下转 transfers, a case's level and
suspension, members who left a team (回避) or were loaned from another group, per-case and
pending conflict declarations, and each person's office history.

Revision ID: 0003_casework_b
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.base

revision = '0003_casework_b'
down_revision = '0003_sec_access'
branch_labels = None
depends_on = None

UTC_DT = storage.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table('case_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('working_days', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('requested_by_staff_id', sa.Integer(), nullable=True),
    sa.Column('requested_at', UTC_DT, nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('decided_by_staff_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', UTC_DT, nullable=True),
    sa.Column('decision_reason', sa.Text(), nullable=False),
    sa.Column('resumed_at', UTC_DT, nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_requests_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['decided_by_staff_id'], ['staff.id'], name=op.f('fk_case_requests_decided_by_staff_id_staff')),
    sa.ForeignKeyConstraint(['requested_by_staff_id'], ['staff.id'], name=op.f('fk_case_requests_requested_by_staff_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_requests'))
    )
    with op.batch_alter_table('case_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_requests_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_requests_status'), ['status'], unique=False)

    op.create_table('case_transfers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('direction', sa.String(length=8), nullable=False),
    sa.Column('from_group_id', sa.Integer(), nullable=True),
    sa.Column('to_group_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('by_staff_id', sa.Integer(), nullable=True),
    sa.Column('at', UTC_DT, nullable=False),
    sa.ForeignKeyConstraint(['by_staff_id'], ['staff.id'], name=op.f('fk_case_transfers_by_staff_id_staff')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_transfers_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['from_group_id'], ['joint_groups.id'], name=op.f('fk_case_transfers_from_group_id_joint_groups')),
    sa.ForeignKeyConstraint(['to_group_id'], ['joint_groups.id'], name=op.f('fk_case_transfers_to_group_id_joint_groups')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_transfers'))
    )
    with op.batch_alter_table('case_transfers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_transfers_case_id'), ['case_id'], unique=False)

    op.create_table('staff_office_spells',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('office_id', sa.Integer(), nullable=False),
    sa.Column('since', UTC_DT, nullable=True),
    sa.Column('until', UTC_DT, nullable=True),
    sa.ForeignKeyConstraint(['office_id'], ['offices.id'], name=op.f('fk_staff_office_spells_office_id_offices')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_staff_office_spells_staff_id_staff'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_office_spells'))
    )
    with op.batch_alter_table('staff_office_spells', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_office_spells_staff_id'), ['staff_id'], unique=False)
    # Everyone's current office is their first known spell.
    op.execute("INSERT INTO staff_office_spells (staff_id, office_id) SELECT id, office_id FROM staff "
               "WHERE office_id IS NOT NULL")

    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('level', sa.String(length=16), server_default='group', nullable=False))
        batch_op.add_column(sa.Column('suspended_at', UTC_DT, nullable=True))
    with op.batch_alter_table('assignment_members', schema=None) as batch_op:
        batch_op.add_column(sa.Column('left_at', UTC_DT, nullable=True))
        batch_op.add_column(sa.Column('loan_reason', sa.Text(), server_default='', nullable=False))
    with op.batch_alter_table('conflict_declarations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('case_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('status', sa.String(length=16), server_default='confirmed', nullable=False))
        batch_op.add_column(sa.Column('declared_at', UTC_DT, nullable=True))
        batch_op.add_column(sa.Column('decided_by_staff_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_conflict_declarations_case_id'), ['case_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_conflict_declarations_case_id_cases'), 'cases', ['case_id'], ['id'],
                                    ondelete='CASCADE')
        batch_op.create_foreign_key(batch_op.f('fk_conflict_declarations_decided_by_staff_id_staff'), 'staff',
                                    ['decided_by_staff_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('conflict_declarations', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_conflict_declarations_decided_by_staff_id_staff'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_conflict_declarations_case_id_cases'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_conflict_declarations_case_id'))
        batch_op.drop_column('decided_by_staff_id')
        batch_op.drop_column('declared_at')
        batch_op.drop_column('status')
        batch_op.drop_column('case_id')
    with op.batch_alter_table('assignment_members', schema=None) as batch_op:
        batch_op.drop_column('loan_reason')
        batch_op.drop_column('left_at')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('suspended_at')
        batch_op.drop_column('level')
    with op.batch_alter_table('staff_office_spells', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_office_spells_staff_id'))
    op.drop_table('staff_office_spells')
    with op.batch_alter_table('case_transfers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_transfers_case_id'))
    op.drop_table('case_transfers')
    with op.batch_alter_table('case_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_requests_status'))
        batch_op.drop_index(batch_op.f('ix_case_requests_case_id'))
    op.drop_table('case_requests')
