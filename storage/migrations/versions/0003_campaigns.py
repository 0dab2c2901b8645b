"""Campaigns (专项检查 / 交叉巡察): targets, subgroups and their members, tasks, progress reports,
two-way evaluations.

Revision ID: 0003_campaigns
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.base

revision = '0003_campaigns'
down_revision = '0003_sec_reporter'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('campaigns',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=32), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('joint_group_id', sa.Integer(), nullable=True),
    sa.Column('organiser', sa.String(length=200), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('subgroup_count', sa.Integer(), nullable=False),
    sa.Column('liaison_share', sa.Float(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('proposal', sa.JSON(), nullable=False),
    sa.Column('created_by_staff_id', sa.Integer(), nullable=True),
    sa.Column('created_at', storage.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('confirmed_by_staff_id', sa.Integer(), nullable=True),
    sa.Column('confirmed_at', storage.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ended_at', storage.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['confirmed_by_staff_id'], ['staff.id'], name=op.f('fk_campaigns_confirmed_by_staff_id_staff')),
    sa.ForeignKeyConstraint(['created_by_staff_id'], ['staff.id'], name=op.f('fk_campaigns_created_by_staff_id_staff')),
    sa.ForeignKeyConstraint(['joint_group_id'], ['joint_groups.id'], name=op.f('fk_campaigns_joint_group_id_joint_groups')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaigns')),
    sa.UniqueConstraint('reference', name=op.f('uq_campaigns_reference'))
    )
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaigns_state'), ['state'], unique=False)

    op.create_table('subgroups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_subgroups_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subgroups')),
    sa.UniqueConstraint('campaign_id', 'number', name=op.f('uq_subgroups_campaign_id'))
    )
    with op.batch_alter_table('subgroups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subgroups_campaign_id'), ['campaign_id'], unique=False)

    op.create_table('campaign_targets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('region_id', sa.Integer(), nullable=True),
    sa.Column('unit_id', sa.Integer(), nullable=True),
    sa.Column('subgroup_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_campaign_targets_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['region_id'], ['regions.id'], name=op.f('fk_campaign_targets_region_id_regions')),
    sa.ForeignKeyConstraint(['subgroup_id'], ['subgroups.id'], name=op.f('fk_campaign_targets_subgroup_id_subgroups'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_campaign_targets_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_targets'))
    )
    with op.batch_alter_table('campaign_targets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaign_targets_campaign_id'), ['campaign_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_campaign_targets_subgroup_id'), ['subgroup_id'], unique=False)

    op.create_table('evaluations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('subgroup_id', sa.Integer(), nullable=False),
    sa.Column('direction', sa.String(length=24), nullable=False),
    sa.Column('rater_staff_id', sa.Integer(), nullable=False),
    sa.Column('quality', sa.Integer(), nullable=False),
    sa.Column('ability', sa.Integer(), nullable=False),
    sa.Column('conduct', sa.Integer(), nullable=False),
    sa.Column('key_id', sa.String(length=32), nullable=True),
    sa.Column('note_enc', sa.LargeBinary(), nullable=True),
    sa.Column('at', storage.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_evaluations_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['rater_staff_id'], ['staff.id'], name=op.f('fk_evaluations_rater_staff_id_staff')),
    sa.ForeignKeyConstraint(['subgroup_id'], ['subgroups.id'], name=op.f('fk_evaluations_subgroup_id_subgroups'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evaluations')),
    sa.UniqueConstraint('subgroup_id', 'direction', name=op.f('uq_evaluations_subgroup_id'))
    )
    with op.batch_alter_table('evaluations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evaluations_campaign_id'), ['campaign_id'], unique=False)

    op.create_table('subgroup_members',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subgroup_id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('acknowledged_at', storage.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_subgroup_members_staff_id_staff')),
    sa.ForeignKeyConstraint(['subgroup_id'], ['subgroups.id'], name=op.f('fk_subgroup_members_subgroup_id_subgroups'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subgroup_members')),
    sa.UniqueConstraint('subgroup_id', 'staff_id', name=op.f('uq_subgroup_members_subgroup_id'))
    )
    with op.batch_alter_table('subgroup_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subgroup_members_staff_id'), ['staff_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_subgroup_members_subgroup_id'), ['subgroup_id'], unique=False)

    op.create_table('campaign_tasks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subgroup_id', sa.Integer(), nullable=False),
    sa.Column('target_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('deadline_id', sa.Integer(), nullable=True),
    sa.Column('done_at', storage.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['deadline_id'], ['deadlines.id'], name=op.f('fk_campaign_tasks_deadline_id_deadlines'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['subgroup_id'], ['subgroups.id'], name=op.f('fk_campaign_tasks_subgroup_id_subgroups'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['target_id'], ['campaign_targets.id'], name=op.f('fk_campaign_tasks_target_id_campaign_targets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_tasks')),
    sa.UniqueConstraint('subgroup_id', 'target_id', 'kind', name=op.f('uq_campaign_tasks_subgroup_id'))
    )
    with op.batch_alter_table('campaign_tasks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaign_tasks_deadline_id'), ['deadline_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_campaign_tasks_subgroup_id'), ['subgroup_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_campaign_tasks_target_id'), ['target_id'], unique=False)

    op.create_table('progress_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('key_id', sa.String(length=32), nullable=True),
    sa.Column('note_enc', sa.LargeBinary(), nullable=True),
    sa.Column('file_name', sa.String(length=200), nullable=True),
    sa.Column('file_type', sa.String(length=100), nullable=True),
    sa.Column('file_enc', sa.LargeBinary(), nullable=True),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('at', storage.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_progress_reports_case_id_cases'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_progress_reports_staff_id_staff')),
    sa.ForeignKeyConstraint(['task_id'], ['campaign_tasks.id'], name=op.f('fk_progress_reports_task_id_campaign_tasks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_progress_reports'))
    )
    with op.batch_alter_table('progress_reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_progress_reports_task_id'), ['task_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('progress_reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_progress_reports_task_id'))

    op.drop_table('progress_reports')
    with op.batch_alter_table('campaign_tasks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaign_tasks_target_id'))
        batch_op.drop_index(batch_op.f('ix_campaign_tasks_subgroup_id'))
        batch_op.drop_index(batch_op.f('ix_campaign_tasks_deadline_id'))

    op.drop_table('campaign_tasks')
    with op.batch_alter_table('subgroup_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subgroup_members_subgroup_id'))
        batch_op.drop_index(batch_op.f('ix_subgroup_members_staff_id'))

    op.drop_table('subgroup_members')
    with op.batch_alter_table('evaluations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evaluations_campaign_id'))

    op.drop_table('evaluations')
    with op.batch_alter_table('campaign_targets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaign_targets_subgroup_id'))
        batch_op.drop_index(batch_op.f('ix_campaign_targets_campaign_id'))

    op.drop_table('campaign_targets')
    with op.batch_alter_table('subgroups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subgroups_campaign_id'))

    op.drop_table('subgroups')
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaigns_state'))

    op.drop_table('campaigns')
