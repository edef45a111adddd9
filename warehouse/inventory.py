"""Every change of stock on hand, each a ledger movement: receipts, counts, moves, picks into
totes, shipments out and returns in.

Concurrency: every stock change first locks its product's row (`reservations.lock_products`: FOR
UPDATE on PostgreSQL; on SQLite, BEGIN IMMEDIATE already serializes writers). Changes to
one product's stock therefore run one after another and cannot deadlock; a transaction
over several products locks them in id order. Units themselves change only by
conditional UPDATEs checked by row count, in the caller's transaction, together with
the ledger movement that records them. The product's totals (on hand, and of them the
units where they may not be sold) change in `sellable.change_units`, which settles
reservations with them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import and_, func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from warehouse.catalog import location_for_code, product_for_sku
from warehouse.db import rows_changed
from warehouse.errors import Forbidden, InsufficientStock, InvalidInput
from warehouse.models import (
    RESERVING_STATUSES,
    CountTask,
    Location,
    Movement,
    Order,
    OrderLine,
    Product,
    Stock,
    User,
    utcnow,
)
from warehouse.quantities import check_units
from warehouse.reservations import Figures, lock_products
from warehouse.sellable import change_units, is_sellable, move_units, unsellable_part


def _lot_filter(lot: str, expiry: date | None) -> ColumnElement[bool]:
    return and_(
        Stock.lot == lot, Stock.expiry.is_(None) if expiry is None else Stock.expiry == expiry
    )


def _book(
    session: Session,
    *,
    kind: str,
    product: Product,
    location: Location,
    delta: int,
    user: User | None,
    lot: str = "",
    expiry: date | None = None,
    reason: str = "",
    reference: str = "",
    held: int = 0,
) -> Movement:
    """Change units at one bin (refusing to go below zero) and append the movement.

    `held` of the units taken out were held there for a pick list, which they now leave.
    The caller holds the product's lock and changes the product total where it changes.
    """
    where = [
        Stock.product_id == product.id,
        Stock.location_id == location.id,
        _lot_filter(lot, expiry),
    ]
    values: dict[str, Any] = {"qty": Stock.qty + delta}
    if delta < 0:
        # Units held for pick lists stay for them: only the free ones move or count away.
        where.append(Stock.qty - Stock.allocated >= -delta - held)
    if held:
        where.append(Stock.allocated >= held)
        values["allocated"] = Stock.allocated - held
    changed = rows_changed(session, update(Stock).where(*where).values(**values))
    if not changed:
        if delta < 0:
            raise InsufficientStock(
                f"{location.code} holds fewer than {-delta} of {product.sku}"
                + (f" in lot {lot}" if lot else "")
                + " that are not held for pick lists",
                field="qty",
            )
        _insert_stock(session, product, location, lot, expiry, delta)
    movement = Movement(
        kind=kind,
        product_id=product.id,
        location_id=location.id,
        lot=lot,
        expiry=expiry,
        qty=delta,
        user_id=user.id if user else None,
        reason=reason,
        reference=reference,
    )
    session.add(movement)
    session.flush()
    return movement


def _insert_stock(
    session: Session, product: Product, location: Location, lot: str, expiry: date | None, qty: int
) -> None:
    """Add the bin row for a lot not yet at this location."""
    session.add(
        Stock(product_id=product.id, location_id=location.id, lot=lot, expiry=expiry, qty=qty)
    )
    session.flush()


def receive(
    session: Session,
    user: User | None,
    sku: str,
    location: str,
    qty: int,
    lot: str = "",
    expiry: date | None = None,
    reference: str = "",
    most: int | None = None,
) -> Movement:
    """Book units arriving at a location: `most` on one receipt (config's receiving limit)."""
    check_units(qty, "qty", most=most)
    product = product_for_sku(session, sku)
    bin_ = location_for_code(session, location)
    return _book_total(
        session, user, product, bin_, qty, lot, expiry, "receive", "receipt", reference
    )


def _book_total(
    session: Session,
    user: User | None,
    product: Product,
    place: Location,
    delta: int,
    lot: str,
    expiry: date | None,
    kind: str,
    reason: str,
    reference: str,
) -> Movement:
    """Units coming in (received, returned) or leaving (shipped): the product's total changes
    with the location's, under its lock; units in for sale go to waiting backorders at once."""
    figures = lock_products(session, [product.id])[product.id]
    change_units(session, figures, delta, unsellable_part(session, place, delta))
    return _book(
        session,
        kind=kind,
        product=product,
        location=place,
        delta=delta,
        user=user,
        lot=lot,
        expiry=expiry,
        reason=reason,
        reference=reference,
    )


def _lot_at(
    session: Session, product: Product, location: Location, lot: str | None
) -> tuple[str, date | None]:
    """The one lot of a product at a location when the caller named none, else the named one."""
    rows = session.execute(
        select(Stock.lot, Stock.expiry).where(
            Stock.product_id == product.id,
            Stock.location_id == location.id,
            *(() if lot is None else (Stock.lot == lot,)),
        )
    ).all()
    if len(rows) > 1:
        raise InvalidInput(
            f"{location.code} holds {product.sku} in several lots or expiries; say which lot",
            field="lot",
            code="lot_required",
        )
    if rows:
        return rows[0].lot, rows[0].expiry
    return lot or "", None


@dataclass(frozen=True)
class OnBooks:
    """What the books say a bin holds of a product (in one lot), read under its lock."""

    product: Product
    location: Location
    lot: str
    expiry: date | None
    qty: int
    figures: Figures


def on_books(session: Session, sku: str, location: str, lot: str | None = None) -> OnBooks:
    """The units of a product (and lot) at a bin on the books, with the product locked."""
    product = product_for_sku(session, sku)
    bin_ = location_for_code(session, location)
    figures = lock_products(session, [product.id])[product.id]
    lot_, expiry = _lot_at(session, product, bin_, lot)
    # Under the product's lock no one else changes this bin, so the figure read stays true.
    qty = session.scalar(
        select(Stock.qty).where(
            Stock.product_id == product.id,
            Stock.location_id == bin_.id,
            _lot_filter(lot_, expiry),
        )
    )
    return OnBooks(product, bin_, lot_, expiry, int(qty or 0), figures)


def count(
    session: Session,
    user: User | None,
    sku: str,
    location: str,
    counted: int,
    lot: str | None = None,
    reference: str = "",
    most: int | None = None,
) -> Movement:
    """Book a counted quantity (`most` at a bin: config's receiving limit); the difference
    to the books is an adjustment movement."""
    check_units(counted, "counted", least=0, most=most)
    books = on_books(session, sku, location, lot)
    product, bin_, lot_, expiry = books.product, books.location, books.lot, books.expiry
    figures, current = books.figures, books.qty
    difference = counted - current
    change_units(session, figures, difference, unsellable_part(session, bin_, difference))
    # A count of the bin is what a short pick asked for.
    session.execute(
        update(CountTask)
        .where(
            CountTask.location_id == bin_.id,
            CountTask.product_id == product.id,
            CountTask.done_at.is_(None),
        )
        .values(done_at=utcnow())
    )
    return _book(
        session,
        kind="adjust",
        product=product,
        location=bin_,
        delta=difference,
        user=user,
        lot=lot_,
        expiry=expiry,
        reason=f"count: {counted} counted, {current} on the books",
        reference=reference,
    )


def move(
    session: Session,
    user: User | None,
    sku: str,
    source: str,
    target: str,
    qty: int,
    lot: str | None = None,
    reference: str = "",
    *,
    anywhere: bool,
) -> tuple[Movement, Movement]:
    """Move units between locations: one movement out, one in, sharing a reference. Without
    `anywhere` (a picker) both must be pickable bins for sale, so that no one who walks pick
    lists can take units out of quarantine or hide sellable ones there. Units moved where
    they may not be sold take back reservations beyond what is left for sale; units moved
    back for sale fill waiting backorders."""
    check_units(qty, "qty")
    product = product_for_sku(session, sku)
    src = location_for_code(session, source, field="from")
    dst = location_for_code(session, target, field="to")
    if src.id == dst.id:
        raise InvalidInput("from and to are the same location", field="to")
    if not anywhere:
        for place, field in ((src, "from"), (dst, "to")):
            if not (place.pickable and place.sellable):
                what = "for sale" if place.pickable else "a pick bin"
                raise Forbidden(
                    f"{place.code} is not {what}: only a receiver or a supervisor moves "
                    "stock there or from there.",
                    field=field,
                    code="not_a_pick_bin",
                )
    # On hand does not change, only the two bins do (and unsellable, between sellable or not).
    figures = lock_products(session, [product.id])[product.id]
    lot_, expiry = _lot_at(session, product, src, lot)
    out, into = (
        _book(
            session,
            kind="move",
            product=product,
            location=bin_,
            delta=delta,
            user=user,
            lot=lot_,
            expiry=expiry,
            reason=f"move {src.code} -> {dst.code}",
            reference=reference,
        )
        for bin_, delta in ((src, -qty), (dst, qty))
    )
    # After the bins: units the source does not hold are refused as such, not as reserved.
    move_units(session, figures, src, dst, qty)
    return out, into


def move_picked(
    session: Session,
    user: User | None,
    stock: Stock,
    tote: Location,
    qty: int,
    reference: str = "",
) -> tuple[Movement, Movement]:
    """Book units picked from a bin, where they were held for the pick, into a tote."""
    check_units(qty, "qty")
    figures = lock_products(session, [stock.product_id])[stock.product_id]
    out, into = (
        _book(
            session,
            kind="pick",
            product=stock.product,
            location=place,
            delta=delta,
            user=user,
            lot=stock.lot,
            expiry=stock.expiry,
            reason=f"pick {stock.location.code} -> {tote.code}",
            reference=reference,
            held=qty if delta < 0 else 0,
        )
        for place, delta in ((stock.location, -qty), (tote, qty))
    )
    move_units(session, figures, stock.location, tote, qty)
    return out, into


def ship_out(
    session: Session,
    user: User | None,
    product: Product,
    place: Location,
    qty: int,
    lot: str,
    expiry: date | None,
    reference: str = "",
) -> Movement:
    """Book units leaving the warehouse from where they wait (a tote) when they ship."""
    check_units(qty, "qty")
    return _book_total(
        session, user, product, place, -qty, lot, expiry, "ship", "shipped", reference
    )


def return_in(
    session: Session,
    user: User | None,
    product: Product,
    place: Location,
    qty: int,
    lot: str,
    expiry: date | None,
    reason: str = "",
    reference: str = "",
) -> Movement:
    """Book units a customer sent back in at a location (a bin, or quarantine)."""
    check_units(qty, "qty")
    return _book_total(
        session, user, product, place, qty, lot, expiry, "return", reason or "returned", reference
    )


def write_off(
    session: Session,
    user: User | None,
    stock: Stock,
    qty: int,
    reason: str,
    reference: str = "",
) -> Movement | None:
    """Book units not found at a bin off it (an adjustment), as many as are free there (units
    held for other lists stay theirs) and, at a place for sale, as orders that wait can give
    back (orders on the floor keep theirs); None when none are. A count of the bin settles it."""
    check_units(qty, "qty")
    figures = lock_products(session, [stock.product_id])[stock.product_id]
    free = session.scalar(select(Stock.qty - Stock.allocated).where(Stock.id == stock.id)) or 0
    units = min(qty, int(free))
    sellable = is_sellable(session, stock.location)
    if sellable:
        waiting = session.scalar(
            select(func.coalesce(func.sum(OrderLine.reserved), 0))
            .join(OrderLine.order)
            .where(OrderLine.product_id == stock.product_id, Order.status.in_(RESERVING_STATUSES))
        )
        units = min(units, figures.available + int(waiting or 0))
    if units <= 0:
        return None
    product = session.get_one(Product, stock.product_id)
    change_units(session, figures, -units, 0 if sellable else -units)
    return _book(
        session,
        kind="adjust",
        product=product,
        location=stock.location,
        delta=-units,
        user=user,
        lot=stock.lot,
        expiry=stock.expiry,
        reason=reason,
        reference=reference,
    )
