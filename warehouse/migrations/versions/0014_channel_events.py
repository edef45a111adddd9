"""Channel events: the outbox and what each channel was last told, channel settings (fees,
handling time, events URL), carriers on cartons, unsellable locations and stock, and when
each order last changed.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "channel_feed",
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("available", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_id"], ["channel.id"], name=op.f("fk_channel_feed_channel_id_channel")
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["product.id"], name=op.f("fk_channel_feed_product_id_product")
        ),
        sa.PrimaryKeyConstraint("channel_id", "product_id", name=op.f("pk_channel_feed")),
    )
    op.create_table(
        "channel_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=40), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("product_id", sa.Integer(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_try_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'sending', 'delivered', 'dead', 'pull')",
            name=op.f("ck_channel_event_status"),
        ),
        sa.ForeignKeyConstraint(
            ["channel_id"], ["channel.id"], name=op.f("fk_channel_event_channel_id_channel")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["customer_order.id"],
            name=op.f("fk_channel_event_order_id_customer_order"),
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["product.id"], name=op.f("fk_channel_event_product_id_product")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_event")),
        sa.UniqueConstraint("event_id", name=op.f("uq_channel_event_event_id")),
    )
    with op.batch_alter_table("channel_event", schema=None) as batch_op:
        batch_op.create_index(
            "ix_channel_event_channel_id_product_id_status",
            ["channel_id", "product_id", "status"],
            unique=False,
        )
        batch_op.create_index("ix_channel_event_channel_id_seq", ["channel_id", "seq"], unique=True)
        batch_op.create_index("ix_channel_event_order_id", ["order_id"], unique=False)
        batch_op.create_index(
            "ix_channel_event_status_next_try_at", ["status", "next_try_at"], unique=False
        )

    with op.batch_alter_table("carton", schema=None) as batch_op:
        batch_op.add_column(sa.Column("carrier", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("service", sa.String(length=64), nullable=True))

    with op.batch_alter_table("channel", schema=None) as batch_op:
        batch_op.add_column(sa.Column("handling_hours", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "fee_percent", sa.Numeric(precision=5, scale=2), nullable=False, server_default="0"
            )
        )
        batch_op.add_column(
            sa.Column(
                "fee_fixed", sa.Numeric(precision=12, scale=2), nullable=False, server_default="0"
            )
        )
        batch_op.add_column(sa.Column("events_url", sa.String(length=500), nullable=True))
    # The same random bytes in standard base64, as Standard Webhooks' libraries decode them.
    op.execute(
        "UPDATE channel SET webhook_secret = REPLACE(REPLACE(webhook_secret, '-', '+'), '_', '/')"
    )

    with op.batch_alter_table("customer_order", schema=None) as batch_op:
        batch_op.add_column(sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("told_status", sa.String(length=16), nullable=True))
        batch_op.add_column(
            sa.Column("told_waiting", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("told_shipped", sa.Integer(), nullable=False, server_default="0")
        )
    # Orders taken before: counted as told, so the first change after is told as a change.
    op.execute(
        "UPDATE customer_order SET updated_at = created_at, told_status = status, "
        "told_waiting = (SELECT COALESCE(SUM(CASE WHEN backordered THEN qty - shipped - reserved"
        " ELSE 0 END), 0) FROM order_line WHERE order_id = customer_order.id), "
        "told_shipped = (SELECT COALESCE(SUM(shipped), 0) FROM order_line"
        " WHERE order_id = customer_order.id)"
    )
    with op.batch_alter_table("customer_order", schema=None) as batch_op:
        batch_op.alter_column("updated_at", nullable=False)
        batch_op.create_index("ix_customer_order_updated_at", ["updated_at"], unique=False)

    with op.batch_alter_table("location", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("sellable", sa.Boolean(), nullable=False, server_default=sa.true())
        )
    with op.batch_alter_table("product", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("unsellable", sa.Integer(), nullable=False, server_default="0")
        )
    # Quarantine was on hand and for sale; from now on it is on hand only.
    op.execute("UPDATE location SET sellable = false WHERE code LIKE 'QUAR%'")
    op.execute(
        "UPDATE product SET unsellable = (SELECT COALESCE(SUM(stock.qty), 0) FROM stock "
        "JOIN location ON location.id = stock.location_id "
        "WHERE stock.product_id = product.id AND NOT location.sellable)"
    )


def downgrade() -> None:
    with op.batch_alter_table("product", schema=None) as batch_op:
        batch_op.drop_column("unsellable")
    with op.batch_alter_table("location", schema=None) as batch_op:
        batch_op.drop_column("sellable")
    with op.batch_alter_table("customer_order", schema=None) as batch_op:
        batch_op.drop_index("ix_customer_order_updated_at")
        batch_op.drop_column("told_shipped")
        batch_op.drop_column("told_waiting")
        batch_op.drop_column("told_status")
        batch_op.drop_column("updated_at")
    with op.batch_alter_table("channel", schema=None) as batch_op:
        batch_op.drop_column("events_url")
        batch_op.drop_column("fee_fixed")
        batch_op.drop_column("fee_percent")
        batch_op.drop_column("handling_hours")
    with op.batch_alter_table("carton", schema=None) as batch_op:
        batch_op.drop_column("service")
        batch_op.drop_column("carrier")
    op.drop_table("channel_event")
    op.drop_table("channel_feed")
