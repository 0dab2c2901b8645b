"""Receipt throttles get a growing wait and expire; chat preferences remember the day they were
last used, so they expire too.

Revision ID: 0003_sec_reporter
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.base

revision = "0003_sec_reporter"
down_revision = "0003_casework_a"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("receipt_throttles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("blocked_until", storage.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_receipt_throttles_window_start"), ["window_start"], unique=False)
    with op.batch_alter_table("chat_preferences", schema=None) as batch_op:
        batch_op.add_column(sa.Column("used_on", storage.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_chat_preferences_used_on"), ["used_on"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("chat_preferences", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_chat_preferences_used_on"))
        batch_op.drop_column("used_on")
    with op.batch_alter_table("receipt_throttles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_receipt_throttles_window_start"))
        batch_op.drop_column("blocked_until")
