"""Reserving stock for order lines, filling backorders, and taking reservations back.

Every function here runs inside the caller's transaction and starts by locking the
product rows it touches, in id order (`lock_products`): on PostgreSQL that is SELECT ...
FOR NO KEY UPDATE, on SQLite the writer lock of BEGIN IMMEDIATE already serializes writers.
Under the lock the figures read stay true until commit; every change of a product's
reserved units is still a conditional UPDATE, checked by its row count, so that a broken
lock shows as an error rather than as overselling.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session, contains_eager

from warehouse.models import (
    OPEN_ORDER_STATUSES,
    RESERVING_STATUSES,
    Channel,
    Order,
    OrderLine,
    OrderStatus,
    Product,
)
from warehouse.outbox import touch_products


@dataclass
class Figures:
    """A product and its units as read under its lock (the object's own fields may go stale)."""

    product: Product
    on_hand: int
    unsellable: int
    reserved: int

    @property
    def sellable(self) -> int:
        """Units on hand where they may be sold: what orders may hold."""
        return self.on_hand - self.unsellable

    @property
    def available(self) -> int:
        return self.sellable - self.reserved


class LockBroken(RuntimeError):
    """A conditional UPDATE found figures other than those read under the lock."""


def lock_products(
    session: Session, product_ids: Iterable[int] = (), *, skus: Iterable[str] = ()
) -> dict[int, Figures]:
    """Lock product rows (by id or SKU) in id order, so that no two transactions deadlock,
    and read their units."""
    ids, codes = sorted(set(product_ids)), sorted(set(skus))
    products = session.scalars(
        select(Product)
        .where(Product.sku.in_(codes) if codes else Product.id.in_(ids))
        .order_by(Product.id)
        # NO KEY UPDATE: the changes leave the key alone, and this lock does not wait for
        # the KEY SHARE locks that inserting order lines (foreign keys) takes on products.
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    )
    return {p.id: Figures(p, p.on_hand, p.unsellable, p.reserved) for p in products}


def store_reserved(session: Session, units: dict[int, int]) -> None:
    """Reserve (units > 0) or release (units < 0) units of locked products, in one statement."""
    changes = [{"pid": pid, "units": n} for pid, n in units.items() if n]
    if not changes:
        return
    # Run on the connection: a plain executemany, not the ORM's bulk update by key.
    statement = (
        update(Product)
        .where(
            Product.id == bindparam("pid"),
            Product.reserved + bindparam("units") >= 0,
            # Units in places that are not sellable are never reserved.
            Product.reserved + bindparam("units") <= Product.on_hand - Product.unsellable,
        )
        .values(reserved=Product.reserved + bindparam("units"))
    )
    result = session.connection().execute(statement, changes)
    if result.rowcount != len(changes):
        raise LockBroken(f"reserving {units} would leave 0..sellable for some product")
    touch_products(session, units)


def _set_reserved(line: OrderLine, reserved: int) -> None:
    line.reserved = reserved
    line.backordered = line.order.status in OPEN_ORDER_STATUSES and reserved < line.unshipped


def reserving_status(lines: Iterable[tuple[int, int]]) -> OrderStatus:
    """reserved, partial or backordered, from (units still to ship, reserved) of each line."""
    lines = list(lines)
    if all(reserved == qty for qty, reserved in lines):
        return OrderStatus.RESERVED
    return (
        OrderStatus.PARTIAL if any(reserved for _, reserved in lines) else OrderStatus.BACKORDERED
    )


def settle_status(order: Order) -> None:
    """Set the status from what the lines hold; statuses past reservation stay."""
    if order.status in RESERVING_STATUSES:
        order.status = reserving_status((line.unshipped, line.reserved) for line in order.lines)


def plan_lines(wanted: list[tuple[int, int]], figures: dict[int, Figures]) -> list[int]:
    """The units each line of a new order gets, from (product id, qty) and the locked
    figures; counts them as reserved in the figures, for the orders planned after it."""
    grants = []
    for product_id, qty in wanted:
        units = figures[product_id]
        grant = max(0, min(qty, units.available))
        units.reserved += grant
        grants.append(grant)
    return grants


def release_order(session: Session, order: Order) -> set[int]:
    """Give back everything the order's lines hold; returns the products that got units back."""
    held = {line.product_id: -line.reserved for line in order.lines if line.reserved}
    lock_products(session, held)
    store_reserved(session, held)
    for line in order.lines:
        line.reserved = 0
        line.backordered = False
    return set(held)


def _waiting_lines(
    session: Session, product_id: int, newest_first: bool = False
) -> list[OrderLine]:
    """Open lines of a product in the order backorders are served: channel priority, then age."""
    order_by = (Channel.priority, Order.created_at, Order.id)
    query = (
        select(OrderLine)
        .join(OrderLine.order)
        .join(Order.channel)
        .options(contains_eager(OrderLine.order))
        .where(OrderLine.product_id == product_id, Order.status.in_(RESERVING_STATUSES))
    )
    if newest_first:
        query = query.where(OrderLine.reserved > 0).order_by(*(c.desc() for c in order_by))
    else:
        query = query.where(OrderLine.backordered.is_(True)).order_by(*order_by)
    return list(session.scalars(query))


def fill_backorders(session: Session, product_ids: Iterable[int]) -> list[Order]:
    """Hand available units to waiting lines, by channel priority and then order time."""
    touched: dict[int, Order] = {}
    figures = lock_products(session, product_ids)
    granted: dict[int, int] = {}
    for product_id, units in figures.items():
        available = units.available
        if available <= 0:
            continue
        for line in _waiting_lines(session, product_id):
            grant = min(line.unshipped - line.reserved, available)
            available -= grant
            _set_reserved(line, line.reserved + grant)
            touched[line.order_id] = line.order
            if available == 0:
                break
        granted[product_id] = units.available - available
    store_reserved(session, granted)
    for order in touched.values():
        settle_status(order)
    return list(touched.values())


def release_excess(session: Session, product_id: int, sellable: int) -> list[Order]:
    """Before the units that may be sold fall to `sellable`, take back reservations beyond
    them, newest and lowest-priority orders first; their lines become backordered again."""
    figures = lock_products(session, [product_id])
    excess = figures[product_id].reserved - max(sellable, 0)
    touched: dict[int, Order] = {}
    if excess <= 0:
        return []
    store_reserved(session, {product_id: -excess})
    for line in _waiting_lines(session, product_id, newest_first=True):
        taken = min(line.reserved, excess)
        _set_reserved(line, line.reserved - taken)
        touched[line.order_id] = line.order
        excess -= taken
        if excess == 0:
            break
    for order in touched.values():
        settle_status(order)
    return list(touched.values())
