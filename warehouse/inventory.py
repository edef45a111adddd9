"""Stock on hand and its ledger: receipts, counts and moves, and the invariants that hold.

Concurrency: every stock change first locks its product's row (`reservations.lock_products`: FOR
UPDATE on PostgreSQL; on SQLite, BEGIN IMMEDIATE already serializes writers). Changes to
one product's stock therefore run one after another and cannot deadlock; a transaction
over several products locks them in id order. Units themselves change only by
conditional UPDATEs checked by row count, in the caller's transaction, together with
the ledger movement that records them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from warehouse.catalog import find_barcode, get_product, location_for_code, product_for_sku
from warehouse.errors import Conflict, InsufficientStock, InvalidInput
from warehouse.models import (
    OPEN_STATUSES,
    CountTask,
    Location,
    Movement,
    Order,
    OrderLine,
    Pick,
    PickList,
    Product,
    Stock,
    User,
    utcnow,
)
from warehouse.reservations import (
    Figures,
    fill_backorders,
    lock_products,
    release_excess,
    rows_changed,
)


@dataclass(frozen=True)
class LocationStock:
    location: str
    on_hand: int


@dataclass(frozen=True)
class StockSummary:
    sku: str
    on_hand: int
    reserved: int
    locations: tuple[LocationStock, ...]

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


def _positive(qty: int, field: str = "qty") -> int:
    if isinstance(qty, bool) or not isinstance(qty, int) or qty < 1:
        raise InvalidInput(f"{field} must be a whole number of units, 1 or more", field=field)
    return qty


def _lot_filter(lot: str, expiry: date | None) -> ColumnElement[bool]:
    return and_(
        Stock.lot == lot, Stock.expiry.is_(None) if expiry is None else Stock.expiry == expiry
    )


def _change_total(session: Session, product: Product, figures: Figures, delta: int) -> None:
    """Change the product's units on hand, under its lock, and settle reservations with it.

    Units that arrive go to waiting backorders at once; when a count finds fewer units
    than orders hold, the newest reservations are taken back first.
    """
    if delta < 0:
        release_excess(session, product.id, figures.on_hand + delta)
    changed = rows_changed(
        session,
        update(Product)
        .where(Product.id == product.id, Product.on_hand + delta >= Product.reserved)
        .values(on_hand=Product.on_hand + delta),
    )
    if not changed:
        raise Conflict(
            f"That would leave less of {product.sku} on hand than orders have reserved.",
            code="stock_reserved",
        )
    session.expire(product, ["on_hand", "reserved"])
    if delta > 0:
        fill_backorders(session, [product.id])


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
) -> Movement:
    """Book units arriving at a location."""
    _positive(qty)
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
    with the location's, under its lock; units in go to waiting backorders at once."""
    figures = lock_products(session, [product.id])[product.id]
    _change_total(session, product, figures, delta)
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


def count(
    session: Session,
    user: User | None,
    sku: str,
    location: str,
    counted: int,
    lot: str | None = None,
    reference: str = "",
) -> Movement:
    """Book a counted quantity: the difference to the books is an adjustment movement."""
    if isinstance(counted, bool) or not isinstance(counted, int) or counted < 0:
        raise InvalidInput("counted must be a whole number, 0 or more", field="counted")
    product = product_for_sku(session, sku)
    bin_ = location_for_code(session, location)
    figures = lock_products(session, [product.id])[product.id]
    lot_, expiry = _lot_at(session, product, bin_, lot)
    # Under the product's lock no one else changes this bin, so the figure read stays true.
    current = (
        session.scalar(
            select(Stock.qty).where(
                Stock.product_id == product.id,
                Stock.location_id == bin_.id,
                _lot_filter(lot_, expiry),
            )
        )
        or 0
    )
    _change_total(session, product, figures, counted - current)
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
        delta=counted - current,
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
) -> tuple[Movement, Movement]:
    """Move units between locations: one movement out, one in, sharing a reference."""
    _positive(qty)
    product = product_for_sku(session, sku)
    src = location_for_code(session, source, field="from")
    dst = location_for_code(session, target, field="to")
    if src.id == dst.id:
        raise InvalidInput("from and to are the same location", field="to")
    # The product total does not change: only the two bins do.
    lock_products(session, [product.id])
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
    _positive(qty)
    lock_products(session, [stock.product_id])
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
    _positive(qty)
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
    _positive(qty)
    return _book_total(
        session, user, product, place, qty, lot, expiry, "return", reason or "returned", reference
    )


@dataclass(frozen=True)
class BinLine:
    sku: str
    name: str
    lot: str
    expiry: date | None
    qty: int


@dataclass(frozen=True)
class LocationContents:
    location: str
    lines: tuple[BinLine, ...]


@dataclass(frozen=True)
class ProductStock:
    name: str
    summary: StockSummary


def look_up(session: Session, code: str) -> ProductStock | LocationContents | None:
    """What a scanned or typed code is (a SKU, a product barcode or a location) and its stock."""
    barcode = find_barcode(session, code)
    sku = barcode.product.sku if barcode else code
    product = session.scalar(select(Product).where(Product.sku == sku))
    if product is not None:
        return ProductStock(product.name, stock_summary(session, product.sku))
    location = session.scalar(select(Location).where(Location.code == code))
    if location is None:
        return None
    rows = session.execute(
        select(Product.sku, Product.name, Stock.lot, Stock.expiry, Stock.qty)
        .join(Stock.product)
        .where(Stock.location_id == location.id, Stock.qty > 0)
        .order_by(Product.sku, Stock.expiry, Stock.lot)
    ).all()
    return LocationContents(location.code, tuple(BinLine(*row) for row in rows))


def ledger(session: Session, sku: str, limit: int = 100) -> list[Movement]:
    """The newest movements of a product, newest first."""
    product = get_product(session, sku)
    return list(
        session.scalars(
            select(Movement)
            .where(Movement.product_id == product.id)
            .order_by(Movement.id.desc())
            .limit(limit)
        )
    )


def stock_summary(session: Session, sku: str) -> StockSummary:
    """On hand, reserved and per-location units of one product."""
    product = get_product(session, sku)
    rows = session.execute(
        select(Location.code, func.sum(Stock.qty))
        .join(Stock.location)
        .where(Stock.product_id == product.id, Stock.qty > 0)
        .group_by(Location.code)
        .order_by(Location.code)
    ).all()
    return StockSummary(
        sku=product.sku,
        on_hand=product.on_hand,
        reserved=product.reserved,
        locations=tuple(LocationStock(code, int(qty)) for code, qty in rows),
    )


def check_invariants(session: Session) -> list[str]:
    """Every violation of DESIGN.md's stock invariants, one sentence each; empty when all hold."""
    problems: list[str] = []
    ledger = (
        select(Movement.product_id, Movement.location_id, func.sum(Movement.qty).label("qty"))
        .group_by(Movement.product_id, Movement.location_id)
        .subquery()
    )
    bins = (
        select(Stock.product_id, Stock.location_id, func.sum(Stock.qty).label("qty"))
        .group_by(Stock.product_id, Stock.location_id)
        .subquery()
    )
    # A full outer join, written as two left joins so SQLite runs it too.
    for left, right in ((bins, ledger), (ledger, bins)):
        rows = session.execute(
            select(Product.sku, Location.code, left.c.qty, right.c.qty)
            .select_from(left)
            .outerjoin(
                right,
                and_(
                    left.c.product_id == right.c.product_id,
                    left.c.location_id == right.c.location_id,
                ),
            )
            .join(Product, Product.id == left.c.product_id)
            .join(Location, Location.id == left.c.location_id)
            .where(func.coalesce(right.c.qty, 0) != left.c.qty)
        ).all()
        for sku, code, left_qty, right_qty in rows:
            on_hand, booked = (left_qty, right_qty) if left is bins else (right_qty, left_qty)
            problem = (
                f"{sku} at {code}: {on_hand or 0} on hand but the ledger sums to {booked or 0}"
            )
            if problem not in problems:
                problems.append(problem)
    totals = (
        select(Stock.product_id, func.sum(Stock.qty).label("qty"))
        .group_by(Stock.product_id)
        .subquery()
    )
    for sku, on_hand, reserved, in_bins in session.execute(
        select(Product.sku, Product.on_hand, Product.reserved, func.coalesce(totals.c.qty, 0))
        .outerjoin(totals, totals.c.product_id == Product.id)
        .order_by(Product.sku)
    ):
        if on_hand != in_bins:
            problems.append(f"{sku}: product total {on_hand} on hand but its bins hold {in_bins}")
        if reserved < 0 or reserved > on_hand:
            problems.append(f"{sku}: {reserved} reserved is outside 0..{on_hand} on hand")
    for sku, code, lot, qty in session.execute(
        select(Product.sku, Location.code, Stock.lot, Stock.qty)
        .join(Stock.product)
        .join(Stock.location)
        .where(Stock.qty < 0)
    ):
        problems.append(f"{sku} at {code}{' lot ' + lot if lot else ''}: negative quantity {qty}")
    return problems + _reservation_problems(session) + _allocation_problems(session)


def _allocation_problems(session: Session) -> list[str]:
    """Units held at each bin equal what open pick lists still have to pick there."""
    open_picks = (
        select(Pick.stock_id, func.sum(Pick.qty - Pick.picked).label("qty"))
        .join(Pick.pick_list)
        .where(Pick.status == "open", PickList.status.in_(("open", "picking")))
        .group_by(Pick.stock_id)
        .subquery()
    )
    rows = session.execute(
        select(Product.sku, Location.code, Stock.lot, Stock.allocated, open_picks.c.qty)
        .join(Stock.product)
        .join(Stock.location)
        .outerjoin(open_picks, open_picks.c.stock_id == Stock.id)
        .where(Stock.allocated != func.coalesce(open_picks.c.qty, 0))
    ).all()
    return [
        f"{sku} at {code}{' lot ' + lot if lot else ''}: {held} held for pick lists, "
        f"but their open picks need {needed or 0}"
        for sku, code, lot, held, needed in rows
    ]


def _reservation_problems(session: Session) -> list[str]:
    """Reserved units agree with what open order lines hold, and no order waits for free stock."""
    problems = []
    is_open = Order.status.in_(OPEN_STATUSES)
    held = (
        select(OrderLine.product_id, func.sum(OrderLine.reserved).label("qty"))
        .join(OrderLine.order)
        .where(is_open)
        .group_by(OrderLine.product_id)
        .subquery()
    )
    for sku, reserved, in_orders in session.execute(
        select(Product.sku, Product.reserved, func.coalesce(held.c.qty, 0))
        .outerjoin(held, held.c.product_id == Product.id)
        .where(Product.reserved != func.coalesce(held.c.qty, 0))
    ):
        problems.append(f"{sku}: {reserved} reserved but open order lines hold {in_orders}")
    for order_id, status, sku, reserved, qty, flagged in session.execute(
        select(
            Order.id,
            Order.status,
            Product.sku,
            OrderLine.reserved,
            OrderLine.qty,
            OrderLine.backordered,
        )
        .join(OrderLine.order)
        .join(OrderLine.product)
        .where(
            or_(
                and_(~is_open, OrderLine.reserved > 0),
                OrderLine.backordered != and_(is_open, OrderLine.reserved < OrderLine.qty),
            )
        )
    ):
        if reserved and status not in OPEN_STATUSES:
            problems.append(f"order {order_id} is {status} but still holds {reserved} of {sku}")
        else:
            state = "marked" if flagged else "not marked"
            problems.append(
                f"order {order_id}, {sku}: {reserved} of {qty} held, {state} backordered"
            )
    waiting = (
        select(OrderLine.id)
        .join(OrderLine.order)
        .where(OrderLine.product_id == Product.id, OrderLine.backordered.is_(True), is_open)
    )
    for sku, available in session.execute(
        select(Product.sku, Product.on_hand - Product.reserved).where(
            Product.on_hand > Product.reserved, waiting.exists()
        )
    ):
        problems.append(f"{sku}: {available} available while backorders wait for it")
    return problems


def count_location(
    session: Session,
    user: User | None,
    location: str,
    counted: dict[tuple[str, str], int],
    reference: str = "",
) -> list[Movement]:
    """Book the count of a whole bin: each (SKU, lot) counted, and 0 for what it held but
    was not counted. Returns the adjustments (movements of a non-zero difference)."""
    bin_ = location_for_code(session, location)
    held = session.execute(
        select(Product.sku, Stock.lot).join(Stock.product).where(Stock.location_id == bin_.id)
    ).all()
    every = dict.fromkeys(sorted(set(counted) | {(sku, lot) for sku, lot in held}), 0)
    every.update(counted)
    booked = [
        count(session, user, sku, location, qty, lot=lot, reference=reference)
        for (sku, lot), qty in every.items()
    ]
    return [movement for movement in booked if movement.qty != 0]
