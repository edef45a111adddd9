"""The supervisors' order pages: how many orders each channel has in each status, the
exceptions to act on (short picks, held cartons, labels not printed, counts to decide), orders
by channel and status with a search by external id, and one order with what each line holds
and waits for."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from warehouse import channels, figures, orders
from warehouse.models import OrderStatus
from warehouse.web import db, requires

bp = Blueprint("orders", __name__)


@bp.route("/orders")
@requires("orders.supervise")
def order_list() -> str:
    """Orders by channel and status, with a search by external id."""
    channel = request.args.get("channel") or None
    status = request.args.get("status") or None
    search = request.args.get("q", "").strip() or None
    wanted = OrderStatus(status) if status in tuple(OrderStatus) else None
    # A status no order can have finds none.
    found = [] if status and wanted is None else orders.find_orders(db(), channel, wanted, search)
    return render_template(
        "orders.html",
        orders=found,
        channels=channels.list_channels(db()),
        statuses=list(OrderStatus),
        chosen={"channel": channel, "status": status, "q": search or ""},
        counts=figures.order_counts(db()),
        exceptions=figures.exceptions(db()),
    )


@bp.route("/orders/<int:order_id>")
@requires("orders.supervise")
def order_detail(order_id: int) -> str:
    """One order: ship-to, and each line with what it holds and what it waits for."""
    return render_template("order.html", order=orders.get_order(db(), order_id))
