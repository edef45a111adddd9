"""Events without a position yet: an index of just those, so that the deliverer's every
pass finds them (or that there are none) without reading every event ever written.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("channel_event", schema=None) as batch_op:
        batch_op.create_index(
            "ix_channel_event_unplaced",
            ["id"],
            unique=False,
            sqlite_where=sa.text("seq IS NULL"),
            postgresql_where=sa.text("seq IS NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("channel_event", schema=None) as batch_op:
        batch_op.drop_index("ix_channel_event_unplaced")
