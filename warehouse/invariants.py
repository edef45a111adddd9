"""The stock invariants of DESIGN.md, checked over the whole database by `warehouse check`
and by the tests: each a query that finds the violations, one sentence each."""

from __future__ import annotations

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from warehouse import outbox
from warehouse.models import (
    ACTIVE_PICK_LISTS,
    OPEN_ORDER_STATUSES,
    RESERVING_STATUSES,
    Location,
    Movement,
    Order,
    OrderLine,
    Pick,
    PickList,
    PickStatus,
    Product,
    Stock,
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
    apart = (
        select(Stock.product_id, func.sum(Stock.qty).label("qty"))
        .join(Stock.location)
        .where(Location.sellable.is_(False))
        .group_by(Stock.product_id)
        .subquery()
    )
    for sku, on_hand, unsellable, reserved, in_bins, not_for_sale in session.execute(
        select(
            Product.sku,
            Product.on_hand,
            Product.unsellable,
            Product.reserved,
            func.coalesce(totals.c.qty, 0),
            func.coalesce(apart.c.qty, 0),
        )
        .outerjoin(totals, totals.c.product_id == Product.id)
        .outerjoin(apart, apart.c.product_id == Product.id)
        .order_by(Product.sku)
    ):
        if on_hand != in_bins:
            problems.append(f"{sku}: product total {on_hand} on hand but its bins hold {in_bins}")
        if unsellable != not_for_sale:
            problems.append(
                f"{sku}: {unsellable} counted unsellable but locations not for sale hold "
                f"{not_for_sale}"
            )
        # Units where they may not be sold are never reserved.
        if reserved < 0 or reserved > on_hand - unsellable:
            problems.append(
                f"{sku}: {reserved} reserved is outside 0..{on_hand - unsellable} for sale "
                f"({on_hand} on hand, {unsellable} not for sale)"
            )
    for sku, code, lot, qty in session.execute(
        select(Product.sku, Location.code, Stock.lot, Stock.qty)
        .join(Stock.product)
        .join(Stock.location)
        .where(Stock.qty < 0)
    ):
        problems.append(f"{sku} at {code}{' lot ' + lot if lot else ''}: negative quantity {qty}")
    return (
        problems
        + _reservation_problems(session)
        + _allocation_problems(session)
        # Every change a channel must hear of was told: nothing was lost on the way out.
        + outbox.untold(session)
    )


def _allocation_problems(session: Session) -> list[str]:
    """Units held at each bin equal what open pick lists still have to pick there."""
    open_picks = (
        select(Pick.stock_id, func.sum(Pick.qty - Pick.picked).label("qty"))
        .join(Pick.pick_list)
        .where(Pick.status == PickStatus.OPEN, PickList.status.in_(ACTIVE_PICK_LISTS))
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
    is_open = Order.status.in_(OPEN_ORDER_STATUSES)
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
            OrderLine.qty - OrderLine.shipped,
            OrderLine.backordered,
        )
        .join(OrderLine.order)
        .join(OrderLine.product)
        .where(
            or_(
                and_(~is_open, OrderLine.reserved > 0),
                OrderLine.backordered
                != and_(is_open, OrderLine.reserved + OrderLine.shipped < OrderLine.qty),
            )
        )
    ):
        if reserved and status not in OPEN_ORDER_STATUSES:
            problems.append(f"order {order_id} is {status} but still holds {reserved} of {sku}")
        else:
            state = "marked" if flagged else "not marked"
            problems.append(
                f"order {order_id}, {sku}: {reserved} of {qty} to ship held, {state} backordered"
            )
    # An order on the floor (picking, packed) has its backorders filled once it is back
    # among the orders that wait (its list done, or its part shipped).
    waiting = (
        select(OrderLine.id)
        .join(OrderLine.order)
        .where(
            OrderLine.product_id == Product.id,
            OrderLine.backordered.is_(True),
            Order.status.in_(RESERVING_STATUSES),
        )
    )
    free = Product.on_hand - Product.unsellable - Product.reserved
    for sku, available in session.execute(
        select(Product.sku, free).where(free > 0, waiting.exists())
    ):
        problems.append(f"{sku}: {available} available while backorders wait for it")
    return problems
