"""Who is named in a case's report, matched once against staff names (case_named_staff), and the
cases waiting to be matched again (case_named_pending): every existing case whose tip names
somebody, since a migration has no keys to open the tips with.

Revision ID: 0006_named
Revises: 0006_routing
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_named"
down_revision = "0006_routing"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('case_named_staff',
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_named_staff_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_case_named_staff_staff_id_staff'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('case_id', 'staff_id', name=op.f('pk_case_named_staff'))
    )
    with op.batch_alter_table('case_named_staff', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_named_staff_staff_id'), ['staff_id'], unique=False)
    op.create_table('case_named_pending',
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_named_pending_case_id_cases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('case_id', name=op.f('pk_case_named_pending'))
    )
    # The first access check after the upgrade matches these with the keys (storage.models.named.settle).
    op.execute("INSERT INTO case_named_pending (case_id) SELECT cases.id FROM cases JOIN tips ON tips.id = cases.tip_id "
               "WHERE tips.people_enc IS NOT NULL")


def downgrade() -> None:
    op.drop_table('case_named_pending')
    with op.batch_alter_table('case_named_staff', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_named_staff_staff_id'))
    op.drop_table('case_named_staff')
