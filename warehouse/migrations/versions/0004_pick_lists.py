"""Pick lists: their orders and totes, their picks, and units held at bins for them.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pick_list",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("picker_id", sa.Integer(), nullable=True),
        sa.Column("route_m", sa.Float(), nullable=False),
        sa.Column("route_method", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("kind IN ('order', 'batch', 'wave')", name=op.f("ck_pick_list_kind")),
        sa.CheckConstraint(
            "status IN ('open', 'picking', 'done', 'released')", name=op.f("ck_pick_list_status")
        ),
        sa.ForeignKeyConstraint(
            ["picker_id"], ["user_account.id"], name=op.f("fk_pick_list_picker_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pick_list")),
    )
    with op.batch_alter_table("pick_list", schema=None) as batch_op:
        batch_op.create_index("ix_pick_list_status", ["status"], unique=False)

    op.create_table(
        "pick_list_order",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pick_list_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("tote", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["customer_order.id"],
            name=op.f("fk_pick_list_order_order_id_customer_order"),
        ),
        sa.ForeignKeyConstraint(
            ["pick_list_id"],
            ["pick_list.id"],
            name=op.f("fk_pick_list_order_pick_list_id_pick_list"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pick_list_order")),
        sa.UniqueConstraint(
            "pick_list_id", "order_id", name=op.f("uq_pick_list_order_pick_list_id_order_id")
        ),
        sa.UniqueConstraint(
            "pick_list_id", "slot", name=op.f("uq_pick_list_order_pick_list_id_slot")
        ),
    )
    with op.batch_alter_table("pick_list_order", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pick_list_order_order_id"), ["order_id"], unique=False)

    op.create_table(
        "pick",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pick_list_id", sa.Integer(), nullable=False),
        sa.Column("order_line_id", sa.Integer(), nullable=False),
        sa.Column("stock_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("qty", sa.Integer(), nullable=False),
        sa.Column("picked", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.CheckConstraint("status IN ('open', 'picked', 'short')", name=op.f("ck_pick_status")),
        sa.CheckConstraint("picked >= 0 AND picked <= qty", name=op.f("ck_pick_picked")),
        sa.CheckConstraint("qty >= 1", name=op.f("ck_pick_qty")),
        sa.ForeignKeyConstraint(
            ["order_line_id"], ["order_line.id"], name=op.f("fk_pick_order_line_id_order_line")
        ),
        sa.ForeignKeyConstraint(
            ["pick_list_id"],
            ["pick_list.id"],
            name=op.f("fk_pick_pick_list_id_pick_list"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["stock_id"], ["stock.id"], name=op.f("fk_pick_stock_id_stock")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pick")),
    )
    with op.batch_alter_table("pick", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pick_order_line_id"), ["order_line_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_pick_pick_list_id"), ["pick_list_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_pick_stock_id"), ["stock_id"], unique=False)

    op.create_table(
        "count_task",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("reported_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["location_id"], ["location.id"], name=op.f("fk_count_task_location_id_location")
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["product.id"], name=op.f("fk_count_task_product_id_product")
        ),
        sa.ForeignKeyConstraint(
            ["reported_by"],
            ["user_account.id"],
            name=op.f("fk_count_task_reported_by_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_count_task")),
    )
    op.create_index("ix_count_task_done_at", "count_task", ["done_at"])
    # One statement both databases take: the CHECK needs no table rebuild on SQLite.
    op.execute(
        "ALTER TABLE stock ADD COLUMN allocated INTEGER NOT NULL DEFAULT 0"
        " CONSTRAINT ck_stock_allocated CHECK (allocated >= 0 AND allocated <= qty)"
    )


def downgrade() -> None:
    op.drop_index("ix_count_task_done_at", table_name="count_task")
    op.drop_table("count_task")
    op.drop_table("pick")
    op.drop_table("pick_list_order")
    op.drop_table("pick_list")
    with op.batch_alter_table("stock") as batch_op:
        batch_op.drop_column("allocated")
