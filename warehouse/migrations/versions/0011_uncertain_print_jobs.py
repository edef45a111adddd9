"""Print jobs that may have printed: a label that went out without a clean finish waits for a
person's word ("uncertain") instead of being sent again.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def _print_job_statuses(listed: str) -> None:
    # SQLite cannot alter a CHECK: batch mode copies the table with the new one.
    with op.batch_alter_table("print_job") as batch_op:
        batch_op.drop_constraint(op.f("ck_print_job_status"), type_="check")
        batch_op.create_check_constraint(op.f("ck_print_job_status"), f"status IN {listed}")


def upgrade() -> None:
    _print_job_statuses("('queued', 'sending', 'sent', 'uncertain', 'replaced', 'cancelled')")


def downgrade() -> None:
    # Never sent again by itself: called off is the nearest the older states come.
    op.execute("UPDATE print_job SET status = 'cancelled' WHERE status = 'uncertain'")
    _print_job_statuses("('queued', 'sending', 'sent', 'replaced', 'cancelled')")
