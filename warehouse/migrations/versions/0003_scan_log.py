"""The scan log: every scan made through the service, refused ones too.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scan_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("station", sa.String(length=64), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("entry", sa.String(length=8), nullable=True),
        sa.Column("scan_id", sa.String(length=64), nullable=True),
        sa.Column("raw", sa.String(length=512), nullable=False),
        sa.Column("raw_length", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("accepted", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("message", sa.String(length=300), nullable=False),
        sa.Column("ms", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_scan_log_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scan_log")),
        sa.UniqueConstraint("scan_id", name=op.f("uq_scan_log_scan_id")),
    )
    op.create_index("ix_scan_log_at", "scan_log", ["at"])


def downgrade() -> None:
    op.drop_index("ix_scan_log_at", table_name="scan_log")
    op.drop_table("scan_log")
