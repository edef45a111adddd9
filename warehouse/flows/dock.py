"""The dock: scan an order's packing slip, then each carton's label as it is loaded; a label of
another order, or one scanned twice, is refused (swapped labels). The shipment leaves with its
last label; a supervisor may confirm the hand-over by hand.

State: {"order": order id or absent}.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from warehouse import shipping
from warehouse.config import Config
from warehouse.errors import Conflict, Forbidden, InvalidInput
from warehouse.flows.core import Flow, State, Step, Values, unknown_action
from warehouse.models import CartonStatus, OrderStatus, ShipmentStatus, User
from warehouse.orders import get_order
from warehouse.roles import allowed
from warehouse.scanning import Resolved


def _left(session: Session, order_id: int, said: str) -> Step:
    """What the dock says once a carton is loaded: the shipment, and the order, shipped or not."""
    shipment = shipping.current_shipment(session, order_id)
    if shipment is None or shipment.status != ShipmentStatus.SHIPPED:
        return Step({"order": order_id}, f"{said} Scan the next carton's label.")
    if get_order(session, order_id).status == OrderStatus.SHIPPED:
        return Step({}, f"{said} Order {order_id} has shipped.")
    return Step(
        {},
        f"{said} Shipment {shipment.number} of order {order_id} has shipped; the rest of the "
        "order follows when it arrives.",
    )


def on_scan(session: Session, user: User, state: State, scanned: Resolved, config: Config) -> Step:
    if scanned.order is not None:
        shipping.packed_shipment(session, scanned.order.id)  # refused when nothing waits
        return Step(
            {"order": scanned.order.id},
            f"Order {scanned.order.id}: scan each carton's label as it is loaded.",
        )
    label = (scanned.gs1.sscc if scanned.gs1 else None) or scanned.code
    if not state.get("order"):
        carton = shipping.labelled(session, label)
        if carton is not None and carton.status == CartonStatus.SHIPPED:
            raise Conflict(
                f"Carton {carton.number} of order {carton.order_id} has shipped already.",
                code="already_shipped",
            )
        whose = f"Carton {carton.number} is of order {carton.order_id}: s" if carton else "S"
        raise InvalidInput(f"{whose}can the order's packing slip first.", field="code",
                           code="no_order")  # fmt: skip
    carton = shipping.load_carton(session, user, int(state["order"]), label)
    return _left(session, int(state["order"]), f"Carton {carton.number} loaded.")


def on_action(
    session: Session, user: User, state: State, action: str, values: Values, config: Config
) -> Step:
    if action == "leave":
        return Step({}, "Scan the order's packing slip.")
    if action != "confirm":
        raise unknown_action("Dock", action)
    if not allowed(user.role, "shipments.confirm"):
        raise Forbidden("Only a supervisor may confirm a hand-over by hand.")
    if not state.get("order"):
        raise Conflict("Scan the order's packing slip first.", code="no_order")
    order_id = int(state["order"])
    shipping.ship_by_hand(session, user, shipping.packed_shipment(session, order_id).id)
    return _left(session, order_id, "Hand-over confirmed by hand.")


FLOW = Flow("dock", "shipments.ship", on_scan, on_action)
