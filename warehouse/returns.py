"""Returns: an item a customer sent back is scanned against its shipped order and booked back
on hand, at a scanned bin or at the quarantine location, as a ledger movement of kind return.
Units in quarantine are not for sale until someone moves them to a bin.

What an order shipped and what came back of it are read from the ledger (its ship and return
movements carry the reference "order <id>"), under the product's lock, so two returns of the
same line at once cannot bring back more units than left.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from warehouse import inventory, outbox
from warehouse.catalog import product_for_sku
from warehouse.errors import Conflict, InvalidInput, UnknownLocation
from warehouse.models import Location, Movement, Order, OrderStatus, User
from warehouse.orders import get_order, ledger_reference
from warehouse.quantities import check_units
from warehouse.reservations import lock_products

MAX_REASON = 200


class NotShipped(Conflict):
    """The order has not left the warehouse, so nothing of it can come back."""

    code = "not_shipped"


class NotShippedItem(InvalidInput):
    """An item the order never shipped."""

    code = "not_shipped_item"


class TooMany(InvalidInput):
    """More units than the order shipped and has not returned yet."""

    code = "too_many"


class NoQuarantine(Conflict):
    """The configured quarantine location does not exist."""

    code = "no_quarantine"


class QuarantineForSale(Conflict):
    """The configured quarantine location is marked sellable: returns there would be sold."""

    code = "quarantine_sellable"


@dataclass(frozen=True)
class ReturnLine:
    """An order line's units shipped and returned, and the lot they shipped from (if one)."""

    sku: str
    name: str
    shipped: int
    returned: int
    lot: str = ""
    expiry: date | None = None

    @property
    def left(self) -> int:
        """Units that may still come back."""
        return self.shipped - self.returned


def shipped_order(session: Session, order_id: int) -> Order:
    """An order that has shipped, whole or in part, with its lines; NotFound or NotShipped
    otherwise."""
    order = get_order(session, order_id)
    if order.status != OrderStatus.SHIPPED and not any(line.shipped for line in order.lines):
        raise NotShipped(
            f"Order {order.id} is {order.status}, not shipped: nothing of it can be returned.",
            field="order_id",
        )
    return order


def _units(session: Session, order: Order, kind: str) -> dict[int, int]:
    """Units per product booked for the order in movements of one kind, as positive numbers."""
    rows = session.execute(
        select(Movement.product_id, func.sum(Movement.qty))
        .where(
            Movement.kind == kind,
            Movement.reference == ledger_reference(order.id),
            Movement.product_id.in_([line.product_id for line in order.lines]),
        )
        .group_by(Movement.product_id)
    )
    return {product_id: abs(int(units)) for product_id, units in rows}


def _shipped_lot(session: Session, order: Order, product_id: int) -> tuple[str, date | None]:
    """The lot and expiry the product shipped from, when it was one; else none."""
    lots = session.execute(
        select(Movement.lot, Movement.expiry)
        .where(
            Movement.kind == "ship",
            Movement.reference == ledger_reference(order.id),
            Movement.product_id == product_id,
        )
        .distinct()
    ).all()
    return (lots[0].lot, lots[0].expiry) if len(lots) == 1 else ("", None)


def return_lines(session: Session, order: Order) -> list[ReturnLine]:
    """Each line of a shipped order: units shipped and units returned so far."""
    shipped, returned = _units(session, order, "ship"), _units(session, order, "return")
    lines = []
    for line in order.lines:
        lot, expiry = _shipped_lot(session, order, line.product_id)
        lines.append(
            ReturnLine(
                line.product.sku,
                line.product.name,
                shipped.get(line.product_id, 0),
                returned.get(line.product_id, 0),
                lot,
                expiry,
            )
        )
    return lines


def returnable(session: Session, order: Order, sku: str, units: int) -> ReturnLine:
    """The order's line of this SKU, when `units` of it may still come back; refused otherwise."""
    check_units(units, "qty")
    line = next((each for each in return_lines(session, order) if each.sku == sku), None)
    if line is None or line.shipped == 0:
        raise NotShippedItem(
            f"{sku} was never shipped in order {order.id}: put it aside.", field="sku"
        )
    if units > line.left:
        raise TooMany(
            f"Order {order.id} shipped {line.shipped} of {sku} and {line.returned} came back "
            f"already: {line.left} more may be returned, not {units}.",
            field="qty",
        )
    return line


def _place(session: Session, location_code: str | None, quarantine_code: str) -> Location:
    """The scanned bin, or the quarantine location when none was scanned."""
    if location_code is None:
        place = session.scalar(select(Location).where(Location.code == quarantine_code))
        if place is None:
            raise NoQuarantine(
                f"The quarantine location {quarantine_code} (returns.quarantine in "
                "config.toml) does not exist: create it, or scan a bin.",
                field="location",
            )
        if place.sellable:
            raise QuarantineForSale(
                f"The quarantine location {quarantine_code} is marked sellable: an unchecked "
                "return there would be offered for sale. Mark it not sellable, or scan a bin.",
                field="location",
            )
        return place
    place = session.scalar(select(Location).where(Location.code == location_code))
    if place is None:
        raise UnknownLocation(location_code)
    # Totes hold picked units of orders until they ship; a return there would be lost.
    if place.zone == "tote":
        raise InvalidInput(
            f"{place.code} is a tote: scan a bin, or send the item to quarantine.",
            field="location",
            code="not_a_bin",
        )
    return place


def return_item(
    session: Session,
    user: User | None,
    order_id: int,
    sku: str,
    units: int,
    location_code: str | None,
    quarantine_code: str,
    reason: str = "",
) -> Movement:
    """Book returned units of a shipped order back on hand: at the scanned bin, or at
    quarantine when none was scanned. Refused, changing nothing, for an order that has not
    shipped, an item it did not ship, or more units than it shipped and has not had back."""
    reason = reason.strip()
    if len(reason) > MAX_REASON:
        raise InvalidInput(f"reason is {MAX_REASON} characters at most", field="reason")
    check_units(units, "qty")
    order = shipped_order(session, order_id)
    product = product_for_sku(session, sku)
    place = _place(session, location_code, quarantine_code)
    # Under the product's lock the units already returned stay as read until commit.
    lock_products(session, [product.id])
    line = returnable(session, order, product.sku, units)
    data = {
        "order_id": order.id, "external_id": order.external_id,
        "sku": product.sku, "qty": units, "reason": reason,
    }  # fmt: skip
    outbox.add_event(session, order.channel, "order.returned", data, order_id=order.id)
    return inventory.return_in(
        session,
        user,
        product,
        place,
        units,
        line.lot,
        line.expiry,
        reason=reason,
        reference=ledger_reference(order.id),
    )
