"""Pack stations: the order on each bench, its scale reading and its last scan's outcome;
a print job may be replaced (a label superseded before it was sent).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pack_station",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("scale_g", sa.Integer(), nullable=True),
        sa.Column("scale_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=8), nullable=False),
        sa.Column("message", sa.String(length=300), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["customer_order.id"],
            name=op.f("fk_pack_station_order_id_customer_order"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_pack_station_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_pack_station")),
    )
    _print_job_statuses("('queued', 'sending', 'sent', 'replaced')")


def _print_job_statuses(listed: str) -> None:
    # SQLite cannot alter a CHECK: batch mode copies the table with the new one.
    with op.batch_alter_table("print_job") as batch_op:
        batch_op.drop_constraint(op.f("ck_print_job_status"), type_="check")
        batch_op.create_check_constraint(op.f("ck_print_job_status"), f"status IN {listed}")


def downgrade() -> None:
    op.execute("UPDATE print_job SET status = 'sent' WHERE status = 'replaced'")
    _print_job_statuses("('queued', 'sending', 'sent')")
    op.drop_table("pack_station")
