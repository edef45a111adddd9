"""Count reviews: a count that finds a difference beyond the configured threshold waits for a
second count or a supervisor before it is booked.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "count_review",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("lot", sa.String(length=40), nullable=False),
        sa.Column("expiry", sa.Date(), nullable=True),
        sa.Column("counted", sa.Integer(), nullable=False),
        sa.Column("on_books", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("counted_by", sa.Integer(), nullable=True),
        sa.Column("counted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'booked', 'rejected', 'recounted')",
            name=op.f("ck_count_review_status"),
        ),
        sa.CheckConstraint("counted >= 0", name=op.f("ck_count_review_counted")),
        sa.ForeignKeyConstraint(
            ["location_id"], ["location.id"], name=op.f("fk_count_review_location_id_location")
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["product.id"], name=op.f("fk_count_review_product_id_product")
        ),
        sa.ForeignKeyConstraint(
            ["counted_by"],
            ["user_account.id"],
            name=op.f("fk_count_review_counted_by_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["decided_by"],
            ["user_account.id"],
            name=op.f("fk_count_review_decided_by_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_count_review")),
    )
    op.create_index(op.f("ix_count_review_status"), "count_review", ["status"])


def downgrade() -> None:
    op.drop_index(op.f("ix_count_review_status"), table_name="count_review")
    op.drop_table("count_review")
