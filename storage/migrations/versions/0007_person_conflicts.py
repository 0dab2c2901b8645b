"""Declared person conflicts matched once against the cases' people text (case_person_conflicts),
and the declarations already matched (person_conflicts_matched). Existing cases whose tip names
somebody are put on the pending list, since a migration has no keys to open the tips with: the
first access check after the upgrade matches them, and every existing person declaration with them.

Revision ID: 0007_person_conflicts
Revises: 0006_named
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_person_conflicts"
down_revision = "0007_outbox_case"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('case_person_conflicts',
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('declaration_id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_person_conflicts_case_id_cases'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['declaration_id'], ['conflict_declarations.id'],
                            name=op.f('fk_case_person_conflicts_declaration_id_conflict_declarations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_case_person_conflicts_staff_id_staff'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('case_id', 'declaration_id', name=op.f('pk_case_person_conflicts'))
    )
    with op.batch_alter_table('case_person_conflicts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_person_conflicts_declaration_id'), ['declaration_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_person_conflicts_staff_id'), ['staff_id'], unique=False)
    op.create_table('person_conflicts_matched',
    sa.Column('declaration_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['declaration_id'], ['conflict_declarations.id'],
                            name=op.f('fk_person_conflicts_matched_declaration_id_conflict_declarations'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('declaration_id', name=op.f('pk_person_conflicts_matched'))
    )
    # The first access check after the upgrade matches these with the keys (storage.models.named.settle).
    op.execute("INSERT INTO case_named_pending (case_id) SELECT cases.id FROM cases JOIN tips ON tips.id = cases.tip_id "
               "WHERE tips.people_enc IS NOT NULL AND cases.id NOT IN (SELECT case_id FROM case_named_pending)")


def downgrade() -> None:
    op.drop_table('person_conflicts_matched')
    with op.batch_alter_table('case_person_conflicts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_person_conflicts_staff_id'))
        batch_op.drop_index(batch_op.f('ix_case_person_conflicts_declaration_id'))
    op.drop_table('case_person_conflicts')
