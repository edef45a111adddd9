"""What of the stock on hand may be sold. Units in a location that is not sellable
(quarantine, a shelf of damaged goods) are on hand, but no order holds them, no backorder is
filled from them and no channel is offered them: `Product.unsellable` counts them, and what
orders may reserve is on_hand - unsellable - reserved.

`change_units` is the one place where a product's units on hand and unsellable change, so
that both move together and reservations follow: every stock change (`inventory`) and a
location marked sellable or not (`mark_sellable`) goes through it, in the caller's
transaction and under the product's lock.

Concurrency: a stock change reads whether its location is sellable under a share lock on the
location's row (`is_sellable`), so that the location is not marked otherwise before it
commits. Marking a location locks the products it holds first (the order every stock change
takes its locks in), then the location's row, and reads its stock again: units of another
product that arrived meanwhile make it refuse, to be tried again, rather than wait for that
product's lock while holding the location's, which could deadlock.
"""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from warehouse.db import rows_changed
from warehouse.errors import Conflict
from warehouse.models import Location, Product, Stock
from warehouse.outbox import touch_products
from warehouse.reservations import Figures, fill_backorders, lock_products, release_excess


def is_sellable(session: Session, place: Location) -> bool:
    """Whether units at a place may be sold, read under a share lock on it (held to commit)."""
    return bool(
        session.scalar(
            select(Location.sellable).where(Location.id == place.id).with_for_update(read=True)
        )
    )


def unsellable_part(session: Session, place: Location, units: int) -> int:
    """Of `units` booked at a place, those that count as unsellable: all or none."""
    return 0 if is_sellable(session, place) else units


def change_units(session: Session, figures: Figures, on_hand: int = 0, unsellable: int = 0) -> None:
    """Change a locked product's units on hand and, of them, unsellable, in one conditional
    UPDATE, and settle its reservations. When fewer units may be sold, reservations beyond
    them are taken back first (newest and lowest priority first); when more may, waiting
    backorders get them at once. Units that arrive where they may not be sold fill nothing."""
    if not (on_hand or unsellable):
        return
    product = figures.product
    sellable = on_hand - unsellable
    if sellable < 0:
        release_excess(session, product.id, figures.sellable + sellable)
    changed = rows_changed(
        session,
        update(Product)
        .where(
            Product.id == product.id,
            Product.unsellable + unsellable >= 0,
            Product.on_hand + on_hand - (Product.unsellable + unsellable) >= Product.reserved,
        )
        .values(on_hand=Product.on_hand + on_hand, unsellable=Product.unsellable + unsellable),
    )
    if not changed:
        raise Conflict(
            f"That would leave fewer units of {product.sku} for sale than orders have reserved.",
            code="stock_reserved",
        )
    session.expire(product, ["on_hand", "unsellable", "reserved"])
    # Units in and out of places not for sale alone (a return to quarantine, a count there)
    # move no channel's figure: no channel hears of them, not even one never told of the SKU.
    if sellable:
        touch_products(session, [product.id])
    if sellable > 0:
        fill_backorders(session, [product.id])


def move_units(
    session: Session, figures: Figures, source: Location, target: Location, units: int
) -> None:
    """Units moved between two places: on hand stays, and they become unsellable (or
    sellable again) when only one of the places is sellable."""
    change_units(
        session,
        figures,
        unsellable=unsellable_part(session, target, units)
        - unsellable_part(session, source, units),
    )


def _units_at(session: Session, location: Location) -> dict[int, int]:
    """Units of each product at a location."""
    rows = session.execute(
        select(Stock.product_id, func.sum(Stock.qty))
        .where(Stock.location_id == location.id, Stock.qty > 0)
        .group_by(Stock.product_id)
    )
    return {product_id: int(qty) for product_id, qty in rows}


def mark_sellable(session: Session, location: Location, sellable: bool) -> None:
    """Mark a location sellable or not. The units it holds count as unsellable from now on
    (reservations beyond what is left for sale are taken back, newest first), or may be sold
    again (waiting backorders get them, by priority). Refused while units there are held for
    pick lists: a picker would take unsellable units to an order."""
    figures = lock_products(session, _units_at(session, location))
    session.refresh(location, with_for_update=True)
    if location.sellable == sellable:
        return
    units = _units_at(session, location)
    if set(units) - set(figures):
        raise Conflict(
            f"Stock arrived at {location.code} while it was being marked: try again.",
            code="location_busy",
        )
    held = session.scalar(
        select(func.coalesce(func.sum(Stock.allocated), 0)).where(Stock.location_id == location.id)
    )
    if held and not sellable:
        raise Conflict(
            f"{held} units at {location.code} are held for pick lists: pick them or release "
            "the lists first.",
            code="location_held",
        )
    location.sellable = sellable
    session.flush()
    for product_id, qty in sorted(units.items()):
        change_units(session, figures[product_id], unsellable=-qty if sellable else qty)
