"""Shipments: an order may ship in parts (a channel that allows it), each part a shipment of
its own cartons; order lines count what has shipped; a channel says whether it ships partly;
SSCC serials come from a counter, so a relabelled carton gets a new one; a print job may be
cancelled.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "channel",
        sa.Column("ship_partial", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    with op.batch_alter_table("order_line") as batch_op:
        batch_op.add_column(
            sa.Column("shipped", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )
        batch_op.create_check_constraint(
            op.f("ck_order_line_shipped"), "shipped >= 0 AND reserved + shipped <= qty"
        )
    op.create_table(
        "shipment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("shipped_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('packing', 'packed', 'shipped')", name=op.f("ck_shipment_status")
        ),
        sa.CheckConstraint("number >= 1", name=op.f("ck_shipment_number")),
        sa.ForeignKeyConstraint(
            ["order_id"], ["customer_order.id"], name=op.f("fk_shipment_order_id_customer_order")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shipment")),
        sa.UniqueConstraint("order_id", "number", name=op.f("uq_shipment_order_id_number")),
    )
    op.create_index(op.f("ix_shipment_order_id"), "shipment", ["order_id"])
    # Each order that has cartons has had one shipment: its id is the order's, as the API
    # has said so far, and its cartons are its own.
    op.execute(
        "INSERT INTO shipment (id, order_id, number, status, created_at, shipped_at) "
        "SELECT o.id, o.id, 1, "
        "CASE o.status WHEN 'shipped' THEN 'shipped' WHEN 'packed' THEN 'packed' "
        "ELSE 'packing' END, MIN(c.created_at), "
        "CASE o.status WHEN 'shipped' THEN MAX(c.closed_at) END "
        "FROM customer_order o JOIN carton c ON c.order_id = o.id GROUP BY o.id, o.status"
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "SELECT setval(pg_get_serial_sequence('shipment', 'id'), "
            "COALESCE((SELECT MAX(id) FROM shipment), 0) + 1, false)"
        )
    op.execute(
        "UPDATE order_line SET shipped = COALESCE((SELECT SUM(i.qty) FROM carton_item i "
        "JOIN carton c ON c.id = i.carton_id WHERE i.order_line_id = order_line.id "
        "AND c.status = 'shipped'), 0)"
    )
    with op.batch_alter_table("carton") as batch_op:
        batch_op.add_column(sa.Column("shipment_id", sa.Integer(), nullable=True))
    op.execute("UPDATE carton SET shipment_id = order_id")
    with op.batch_alter_table("carton") as batch_op:
        batch_op.alter_column("shipment_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key(
            op.f("fk_carton_shipment_id_shipment"), "shipment", ["shipment_id"], ["id"]
        )
        batch_op.create_index(op.f("ix_carton_shipment_id"), ["shipment_id"])
    op.create_table(
        "counter",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_counter")),
    )
    # SSCCs so far were made from carton ids: new serials start past them.
    op.execute("INSERT INTO counter (name, value) SELECT 'sscc', COALESCE(MAX(id), 0) FROM carton")
    _print_job_statuses("('queued', 'sending', 'sent', 'replaced', 'cancelled')", 10)


def _print_job_statuses(listed: str, length: int) -> None:
    # SQLite cannot alter a CHECK: batch mode copies the table with the new one.
    with op.batch_alter_table("print_job") as batch_op:
        batch_op.drop_constraint(op.f("ck_print_job_status"), type_="check")
        batch_op.alter_column(
            "status", existing_type=sa.String(length=8 if length == 10 else 10),
            type_=sa.String(length=length), existing_nullable=False,
        )  # fmt: skip
        batch_op.create_check_constraint(op.f("ck_print_job_status"), f"status IN {listed}")


def downgrade() -> None:
    op.execute("UPDATE print_job SET status = 'replaced' WHERE status = 'cancelled'")
    _print_job_statuses("('queued', 'sending', 'sent', 'replaced')", 8)
    op.drop_table("counter")
    with op.batch_alter_table("carton") as batch_op:
        batch_op.drop_index(op.f("ix_carton_shipment_id"))
        batch_op.drop_constraint(op.f("fk_carton_shipment_id_shipment"), type_="foreignkey")
        batch_op.drop_column("shipment_id")
    op.drop_index(op.f("ix_shipment_order_id"), table_name="shipment")
    op.drop_table("shipment")
    with op.batch_alter_table("order_line") as batch_op:
        batch_op.drop_constraint(op.f("ck_order_line_shipped"), type_="check")
        batch_op.drop_column("shipped")
    op.drop_column("channel", "ship_partial")
