"""Reserving stock for order lines, filling backorders, and taking reservations back.

Every function here runs inside the caller's transaction and starts by locking the
product rows it touches, in id order (`lock_products`): on PostgreSQL that is SELECT ...
FOR UPDATE, on SQLite the writer lock of BEGIN IMMEDIATE already serializes writers.
Under the lock the figures read stay true until commit; every change of a product's
reserved units is still a conditional UPDATE, checked by its row count, so that a broken
lock shows as an error rather than as overselling.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, Update, select, update
from sqlalchemy.orm import Session, contains_eager

from warehouse.models import OPEN_STATUSES, Channel, Order, OrderLine, Product

# Statuses that intake and stock changes set; later ones belong to picking and shipping.
RESERVING_STATUSES = ("reserved", "partial", "backordered")


@dataclass
class Figures:
    """Units of a product as read under its lock."""

    on_hand: int
    reserved: int

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


class LockBroken(RuntimeError):
    """A conditional UPDATE found figures other than those read under the lock."""


def rows_changed(session: Session, statement: Update) -> int:
    """Run a conditional UPDATE; the row count says whether its condition held."""
    result = session.execute(statement, execution_options={"synchronize_session": False})
    return cast(CursorResult[Any], result).rowcount


def lock_products(session: Session, product_ids: Iterable[int]) -> dict[int, Figures]:
    """Lock product rows in id order (so that no two transactions deadlock) and read their units."""
    ids = sorted(set(product_ids))
    rows = session.execute(
        select(Product.id, Product.on_hand, Product.reserved)
        .where(Product.id.in_(ids))
        .order_by(Product.id)
        .with_for_update()
    )
    return {row.id: Figures(row.on_hand, row.reserved) for row in rows}


def _add_reserved(session: Session, product_id: int, figures: Figures, units: int) -> None:
    """Reserve (units > 0) or release (units < 0) units of a locked product."""
    if units == 0:
        return
    changed = rows_changed(
        session,
        update(Product)
        .where(
            Product.id == product_id,
            Product.reserved + units >= 0,
            Product.reserved + units <= Product.on_hand,
        )
        .values(reserved=Product.reserved + units),
    )
    if not changed:
        raise LockBroken(f"product {product_id}: reserving {units} would leave 0..on hand")
    figures.reserved += units


def _set_reserved(line: OrderLine, reserved: int) -> None:
    line.reserved = reserved
    line.backordered = line.order.status in OPEN_STATUSES and reserved < line.qty


def settle_status(order: Order) -> None:
    """reserved, partial or backordered from what the lines hold; later statuses stay."""
    if order.status not in RESERVING_STATUSES:
        return
    held = sum(line.reserved for line in order.lines)
    if all(line.reserved == line.qty for line in order.lines):
        order.status = "reserved"
    elif held == 0:
        order.status = "backordered"
    else:
        order.status = "partial"


def reserve_order(session: Session, order: Order) -> None:
    """Reserve each line of a new order in full, in part, or not at all, and set its status."""
    figures = lock_products(session, (line.product_id for line in order.lines))
    order.status = "backordered"
    for line in order.lines:
        units = figures[line.product_id]
        grant = max(0, min(line.qty, units.available))
        _add_reserved(session, line.product_id, units, grant)
        _set_reserved(line, grant)
    settle_status(order)


def release_order(session: Session, order: Order) -> set[int]:
    """Give back everything the order's lines hold; returns the products that got units back."""
    freed = {line.product_id for line in order.lines if line.reserved}
    figures = lock_products(session, freed)
    for line in order.lines:
        if line.reserved:
            _add_reserved(session, line.product_id, figures[line.product_id], -line.reserved)
        line.reserved = 0
        line.backordered = False
    return freed


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
    for product_id, units in lock_products(session, product_ids).items():
        if units.available <= 0:
            continue
        for line in _waiting_lines(session, product_id):
            grant = min(line.qty - line.reserved, units.available)
            _add_reserved(session, product_id, units, grant)
            _set_reserved(line, line.reserved + grant)
            touched[line.order_id] = line.order
            if units.available == 0:
                break
    for order in touched.values():
        settle_status(order)
    return list(touched.values())


def release_excess(session: Session, product_id: int, on_hand: int) -> list[Order]:
    """Before on hand falls to `on_hand`, take back reservations beyond it, newest and
    lowest-priority orders first; their lines become backordered again."""
    units = lock_products(session, [product_id])[product_id]
    excess = units.reserved - max(on_hand, 0)
    touched: dict[int, Order] = {}
    if excess <= 0:
        return []
    for line in _waiting_lines(session, product_id, newest_first=True):
        taken = min(line.reserved, excess)
        _add_reserved(session, product_id, units, -taken)
        _set_reserved(line, line.reserved - taken)
        touched[line.order_id] = line.order
        excess -= taken
        if excess == 0:
            break
    for order in touched.values():
        settle_status(order)
    return list(touched.values())
