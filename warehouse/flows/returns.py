"""Returns: scan the order (its barcode, or type its number), then each returned item (a case
code counts its units; the units may be typed), then the bin it goes back to, or send it to
quarantine. A refused scan changes nothing.

State: {"order": order id or absent, "item": {"sku", "name", "units"} or absent}.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from warehouse import returns
from warehouse.config import Config
from warehouse.errors import Conflict, InvalidInput
from warehouse.flows.core import Flow, State, Step, Values, typed, unknown_action
from warehouse.models import User
from warehouse.quantities import parse_units
from warehouse.scanning import Resolved


def _order_number(values: Values) -> int:
    """The order number typed by hand: an id, however many digits it has, not a count of
    units (so not refused as a barcode scanned into a quantity)."""
    text = typed(values, "order")
    if not (text.isascii() and text.isdigit()):
        raise InvalidInput("The order number must be a whole number.", field="order")
    return int(text)


def _order(session: Session, order_id: int) -> Step:
    order = returns.shipped_order(session, order_id)
    return Step({"order": order.id}, f"Order {order.id}: scan each returned item.")


def _book(
    session: Session,
    user: User,
    state: State,
    location: str | None,
    config: Config,
    reason: str = "",
) -> Step:
    item = state["item"]
    movement = returns.return_item(
        session, user, int(state["order"]), item["sku"], item["units"], location,
        config.returns.quarantine, reason,
    )  # fmt: skip
    where = location or f"quarantine ({movement.location.code})"
    return Step(
        {"order": state["order"]},
        f"Returned {item['units']} of {item['sku']} to {where}. Scan the next item.",
        "good" if location else "warn",
    )


def on_scan(session: Session, user: User, state: State, scanned: Resolved, config: Config) -> Step:
    item = state.get("item")
    if scanned.order is not None:
        if item:
            raise Conflict(
                f"Put the {item['units']} of {item['sku']} back first (or cancel).",
                code="item_in_hand",
            )
        return _order(session, scanned.order.id)
    if not state.get("order"):
        raise InvalidInput(
            f"{scanned.label} is not an order: scan the order's barcode or type its number.",
            field="code",
            code="not_an_order",
        )
    if scanned.kind == "location":
        if not item:
            raise InvalidInput(
                "Scan the returned item first, then its bin.", field="code", code="item_first"
            )
        return _book(session, user, state, scanned.location, config)
    if scanned.kind != "product" or scanned.sku is None:
        if item:
            # The bin is what is wanted now: an unknown code is no item to put aside.
            raise InvalidInput(
                f"{scanned.label} is not a bin: scan the bin the {item['sku']} goes back to, "
                "or send it to quarantine.",
                field="location",
                code="not_a_location",
            )
        raise returns.NotShippedItem(
            f"{scanned.label} is not an item this warehouse knows: put it aside.", field="sku"
        )
    order = returns.shipped_order(session, int(state["order"]))
    units = scanned.units_scanned
    if item and item["sku"] != scanned.sku:
        raise Conflict(
            f"Put the {item['units']} of {item['sku']} back first (or cancel).", code="item_in_hand"
        )
    if item:
        units += item["units"]
    returns.returnable(session, order, scanned.sku, units)
    return Step(
        {**state, "item": {"sku": scanned.sku, "name": scanned.name or "", "units": units}},
        f"{scanned.sku}: {units}. Scan the bin it goes back to, or send it to quarantine.",
    )


def on_action(
    session: Session, user: User, state: State, action: str, values: Values, config: Config
) -> Step:
    item = state.get("item")
    if action == "leave":
        if item:
            # Units in hand left unbooked: never shown green.
            return Step(
                {},
                f"The {item['units']} of {item['sku']} were not returned. Scan the next order.",
                "warn",
            )
        return Step({}, "Scan the order, or type its number.")
    if action == "order":
        return _order(session, _order_number(values))
    if action == "cancel":
        return Step({"order": state.get("order")}, "Cancelled: nothing was returned.", "warn")
    if action not in ("qty", "quarantine"):
        raise unknown_action("Returns", action)
    if not item:
        raise Conflict("Scan the returned item first.", code="item_first")
    if action == "qty":
        units = parse_units(typed(values, "qty"), "qty", name="Units")
        returns.returnable(
            session, returns.shipped_order(session, int(state["order"])), item["sku"], units
        )
        return Step({**state, "item": {**item, "units": units}}, f"{item['sku']}: {units}.")
    return _book(session, user, state, None, config, typed(values, "reason"))


FLOW = Flow("returns", "returns.receive", on_scan, on_action)
