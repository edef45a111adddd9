"""Cartons: what each box of an order holds, its weight, SSCC, tracking and label.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "carton",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("box", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("weight_g", sa.Integer(), nullable=True),
        sa.Column("expected_g", sa.Integer(), nullable=True),
        sa.Column("sscc", sa.String(length=18), nullable=True),
        sa.Column("tracking", sa.String(length=64), nullable=True),
        sa.Column("carrier_label", sa.LargeBinary(), nullable=True),
        sa.Column("carrier_label_format", sa.String(length=8), nullable=True),
        sa.Column("label_job_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('open', 'held', 'closed', 'shipped')", name=op.f("ck_carton_status")
        ),
        sa.CheckConstraint("number >= 1", name=op.f("ck_carton_number")),
        sa.ForeignKeyConstraint(
            ["label_job_id"], ["print_job.id"], name=op.f("fk_carton_label_job_id_print_job")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["customer_order.id"], name=op.f("fk_carton_order_id_customer_order")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carton")),
        sa.UniqueConstraint("order_id", "number", name=op.f("uq_carton_order_id_number")),
        sa.UniqueConstraint("sscc", name=op.f("uq_carton_sscc")),
        sa.UniqueConstraint("tracking", name=op.f("uq_carton_tracking")),
    )
    op.create_index("ix_carton_order_id", "carton", ["order_id"])

    op.create_table(
        "carton_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("carton_id", sa.Integer(), nullable=False),
        sa.Column("order_line_id", sa.Integer(), nullable=False),
        sa.Column("qty", sa.Integer(), nullable=False),
        sa.CheckConstraint("qty >= 1", name=op.f("ck_carton_item_qty")),
        sa.ForeignKeyConstraint(
            ["carton_id"],
            ["carton.id"],
            name=op.f("fk_carton_item_carton_id_carton"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["order_line_id"],
            ["order_line.id"],
            name=op.f("fk_carton_item_order_line_id_order_line"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carton_item")),
        sa.UniqueConstraint(
            "carton_id", "order_line_id", name=op.f("uq_carton_item_carton_id_order_line_id")
        ),
    )
    op.create_index("ix_carton_item_order_line_id", "carton_item", ["order_line_id"])


def downgrade() -> None:
    op.drop_table("carton_item")
    op.drop_table("carton")
