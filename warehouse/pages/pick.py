"""The picking desk: open lists and who holds them, the bins to count and each picker's figures
today; an abandoned list is released here. (Walking a list is the pick flow: pages.flows.)"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, url_for
from werkzeug.wrappers import Response as BaseResponse

from warehouse import counting, figures, pick_lists, picking
from warehouse.errors import WarehouseError
from warehouse.models import utcnow
from warehouse.pages.shared import page
from warehouse.web import db, requires, transaction, writes_late

bp = Blueprint("pick", __name__)


@bp.route("/pick/supervise")
@requires("picking.plan")
def supervise() -> tuple[str, int]:
    """Open lists and who holds them, bins to count, and each picker's figures today."""
    return _supervise_page()


def _supervise_page(status: int = 200, **values: Any) -> tuple[str, int]:
    today = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    return page(
        "pick_supervise.html",
        status,
        pick_lists=pick_lists.find_pick_lists(db()),
        count_tasks=counting.open_count_tasks(db()),
        pickers=figures.picker_figures(db(), today),
        **values,
    )


@bp.route("/pick/<int:pick_list_id>/release", methods=["POST"])
@requires("picking.plan")
@writes_late
def release(pick_list_id: int) -> BaseResponse | tuple[str, int]:
    """Release an abandoned list: its unpicked units are free for other lists."""
    try:
        with transaction() as session:
            picking.release_pick_list(session, pick_list_id)
    except WarehouseError as refused:
        return _supervise_page(409, error=refused.message)
    return redirect(url_for("pages.pick.supervise"))
