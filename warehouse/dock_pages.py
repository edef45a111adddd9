"""The dock: scan an order's packing slip, then each of its cartons' labels as they are
loaded; a label of another order, or one scanned twice, is refused (swapped labels). The
order ships when its last label is scanned; a supervisor may confirm it by hand.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request
from sqlalchemy import select

from warehouse import shipping
from warehouse.errors import InvalidInput, WarehouseError
from warehouse.floor import act_on_scan, floor_page, refusal, scanned
from warehouse.models import Carton, Order
from warehouse.roles import allowed
from warehouse.scanning import Answer
from warehouse.web import current_user, db, no_store, requires, write_now, writes_late

bp = Blueprint("dock", __name__, template_folder="templates")


def _dock_page(order_id: int | None, status: int = 200, **values: Any) -> tuple[str, int]:
    order = db().get(Order, order_id, populate_existing=True) if order_id else None
    cartons = (
        db()
        .scalars(
            select(Carton)
            .where(Carton.order_id == order_id)
            .order_by(Carton.number)
            .execution_options(populate_existing=True)
        )
        .all()
        if order
        else []
    )
    user = current_user()
    return floor_page(
        "dock.html", status, order=order, cartons=cartons,
        can_confirm=user is not None and allowed(user.role, "shipments.confirm"), **values,
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

    def load() -> Answer:
        answer = scanned(raw)
        if answer["kind"] == "order":
            return {"kind": "dock", "order": answer["order"]["id"]}
        if order_id is None:
            raise InvalidInput(
                "Scan the order's packing slip first.", field="code", code="no_order"
            )
        label = answer.get("gs1", {}).get("sscc") or answer["code"]
        carton = shipping.load_carton(db(), current_user(), order_id, label)
        return {"kind": "dock", "order": order_id, "carton": carton.number}

    outcome = act_on_scan("dock", raw, load)
    if outcome.refused is not None:
        return _dock_page(order_id, 422, error=refusal(outcome))
    answer = outcome.answer or {}
    if "carton" not in answer:
        return _dock_page(answer["order"], outcome="good")
    order = db().get(Order, answer["order"], populate_existing=True)
    shipped = order is not None and order.status == "shipped"
    notice = f"Carton {answer['carton']} loaded." + (" The order has shipped." if shipped else "")
    return _dock_page(answer["order"], outcome="good", notice=notice)


def _confirm_by_hand(order_id: int) -> tuple[str, int]:
    user = current_user()
    if user is None or not allowed(user.role, "shipments.confirm"):
        return _dock_page(order_id, 403, error="Only a supervisor may confirm by hand.")
    try:
        shipping.ship_by_hand(write_now(), user, order_id)
    except WarehouseError as refused:
        db().rollback()
        return _dock_page(order_id, refused.status, error=refused.message)
    db().commit()
    return _dock_page(order_id, outcome="good", notice="Shipped, confirmed by hand.")


bp.after_request(no_store)
