"""Joint case units (室组地联动) with their members and regions, cases given to them; the 签收
deadline of a campaign member.

Revision ID: 0004_campaigns2
Revises: 0003_perf
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.base

revision = '0004_campaigns2'
down_revision = "0004_pace"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('joint_units',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('lead_office_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['lead_office_id'], ['offices.id'], name=op.f('fk_joint_units_lead_office_id_offices')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_joint_units')),
    sa.UniqueConstraint('code', name=op.f('uq_joint_units_code'))
    )
    op.create_table('joint_unit_members',
    sa.Column('joint_unit_id', sa.Integer(), nullable=False),
    sa.Column('office_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['joint_unit_id'], ['joint_units.id'], name=op.f('fk_joint_unit_members_joint_unit_id_joint_units'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['office_id'], ['offices.id'], name=op.f('fk_joint_unit_members_office_id_offices')),
    sa.PrimaryKeyConstraint('joint_unit_id', 'office_id', name=op.f('pk_joint_unit_members'))
    )
    with op.batch_alter_table('joint_unit_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_joint_unit_members_office_id'), ['office_id'], unique=False)

    op.create_table('joint_unit_regions',
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.Column('joint_unit_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['joint_unit_id'], ['joint_units.id'], name=op.f('fk_joint_unit_regions_joint_unit_id_joint_units'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['region_id'], ['regions.id'], name=op.f('fk_joint_unit_regions_region_id_regions')),
    sa.PrimaryKeyConstraint('region_id', name=op.f('pk_joint_unit_regions'))
    )
    with op.batch_alter_table('joint_unit_regions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_joint_unit_regions_joint_unit_id'), ['joint_unit_id'], unique=False)

    op.create_table('case_joint_units',
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('joint_unit_id', sa.Integer(), nullable=False),
    sa.Column('assignment_id', sa.Integer(), nullable=True),
    sa.Column('given_at', storage.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['assignment_id'], ['assignments.id'], name=op.f('fk_case_joint_units_assignment_id_assignments'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_joint_units_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['joint_unit_id'], ['joint_units.id'], name=op.f('fk_case_joint_units_joint_unit_id_joint_units')),
    sa.PrimaryKeyConstraint('case_id', name=op.f('pk_case_joint_units'))
    )
    with op.batch_alter_table('case_joint_units', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_joint_units_joint_unit_id'), ['joint_unit_id'], unique=False)

    with op.batch_alter_table('subgroup_members', schema=None) as batch_op:
        batch_op.add_column(sa.Column('deadline_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_subgroup_members_deadline_id'), ['deadline_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_subgroup_members_deadline_id_deadlines'), 'deadlines', ['deadline_id'], ['id'], ondelete='SET NULL')



def downgrade() -> None:
    with op.batch_alter_table('subgroup_members', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_subgroup_members_deadline_id_deadlines'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_subgroup_members_deadline_id'))
        batch_op.drop_column('deadline_id')

    with op.batch_alter_table('case_joint_units', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_joint_units_joint_unit_id'))

    op.drop_table('case_joint_units')
    with op.batch_alter_table('joint_unit_regions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_joint_unit_regions_joint_unit_id'))

    op.drop_table('joint_unit_regions')
    with op.batch_alter_table('joint_unit_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_joint_unit_members_office_id'))

    op.drop_table('joint_unit_members')
    op.drop_table('joint_units')
