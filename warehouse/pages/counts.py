"""The supervisors' counts page: counts whose difference is too large for one person's count,
approved (booked) or turned down, and the bins to count after short picks."""

from __future__ import annotations

from flask import Blueprint, request

from warehouse import counting
from warehouse.errors import WarehouseError
from warehouse.pages.shared import page, signed_in, whole_number
from warehouse.web import config, db, requires, transaction, writes_late

bp = Blueprint("counts", __name__)


def _counts_page(status: int = 200, **values: object) -> tuple[str, int]:
    return page(
        "counts.html", status, reviews=counting.pending_reviews(db()),
        count_tasks=counting.open_count_tasks(db()), **values,
    )  # fmt: skip


@bp.route("/counts", methods=["GET", "POST"])
@requires("counts.approve")
@writes_late
def counts() -> tuple[str, int]:
    """Counts waiting for a decision, and bins to count."""
    if request.method == "GET":
        return _counts_page()
    try:
        review_id = whole_number(request.form.get("review"), "review", 1)
        with transaction() as session:
            if request.form.get("action") == "reject":
                counting.reject(session, signed_in(), review_id)
                done = f"Count {review_id} turned down: the books stay."
            else:
                counted = counting.approve(
                    session, signed_in(), review_id, most=config().receiving.max_units
                )
                done = f"Count {review_id} booked: {counted.sku} {counted.difference:+d}."
    except WarehouseError as refused:
        return _counts_page(refused.status, error=refused.message)
    return _counts_page(notice=done)
