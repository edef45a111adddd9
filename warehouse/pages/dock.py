"""The dock: scan an order's packing slip, then each of its cartons' labels as they are
loaded; a label of another order, or one scanned twice, is refused (swapped labels). The
order ships when its last label is scanned; a supervisor may confirm it by hand.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from warehouse import shipping
from warehouse.errors import InvalidInput, WarehouseError
from warehouse.models import OrderStatus
from warehouse.orders import find_order
from warehouse.pages.handheld import act_on_scan, page, scanned, signed_in
from warehouse.roles import allowed
from warehouse.scanning import Logged
from warehouse.web import current_user, db, requires, transaction, writes_late

bp = Blueprint("dock", __name__)


def _dock_page(order_id: int | None, status: int = 200, **values: Any) -> tuple[str, int]:
    order = find_order(db(), order_id) if order_id else None
    shipment = shipping.current_shipment(db(), order.id) if order else None
    cartons = shipping.shipment_cartons(db(), shipment.id) if shipment else []
    return page(
        "dock.html", status, order=order, shipment=shipment, cartons=cartons,
        can_confirm=allowed(signed_in().role, "shipments.confirm"), **values,
    )  # fmt: skip


@bp.route("/dock", methods=["GET", "POST"])
@requires("shipments.ship")
@writes_late
def dock() -> tuple[str, int]:
    """Scan the order (its packing slip), then each carton's label as it is loaded."""
    if request.method == "GET":
        return _dock_page(None)
    form = request.form
    order_id = int(form["order"]) if form.get("order", "").isdigit() else None
    if form.get("action") == "confirm" and order_id:
        return _confirm_by_hand(order_id)
    raw = form.get("code", "")

    def load() -> Logged:
        scan = scanned(raw)
        if scan.order is not None:
            return {"kind": "dock", "order": scan.order.id}
        if order_id is None:
            raise InvalidInput(
                "Scan the order's packing slip first.", field="code", code="no_order"
            )
        label = (scan.gs1.sscc if scan.gs1 else None) or scan.code
        carton = shipping.load_carton(db(), current_user(), order_id, label)
        return {"kind": "dock", "order": order_id, "carton": carton.number}

    outcome = act_on_scan("dock", raw, load)
    if outcome.refused is not None:
        return _dock_page(order_id, 422, error=outcome.refused.message)
    done = outcome.answer_or_raise()
    if "carton" not in done:
        return _dock_page(done["order"], outcome="good")
    order = find_order(db(), done["order"])
    shipped = order is not None and order.status == OrderStatus.SHIPPED
    notice = f"Carton {done['carton']} loaded." + (" The order has shipped." if shipped else "")
    return _dock_page(done["order"], outcome="good", notice=notice)


def _confirm_by_hand(order_id: int) -> tuple[str, int]:
    user = signed_in()
    if not allowed(user.role, "shipments.confirm"):
        return _dock_page(order_id, 403, error="Only a supervisor may confirm by hand.")
    try:
        with transaction() as session:
            shipping.ship_by_hand(session, user, shipping.packed_shipment(session, order_id).id)
    except WarehouseError as refused:
        return _dock_page(order_id, refused.status, error=refused.message)
    return _dock_page(order_id, outcome="good", notice="Shipped, confirmed by hand.")
