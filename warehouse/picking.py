"""Pick lists: orders turned into stops at bins, held for the list, in walking order.

Concurrency: the orders' products are locked first, in id order, like every stock change.
An order goes on a pick list by a conditional UPDATE of its status (reserved -> picking), so
two lists never take one order; units are held at a bin by a conditional UPDATE of
stock.allocated (only while qty - allocated covers them), so two lists never send pickers to
the same units. Neither reads a figure to write it back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from warehouse.config import LayoutConfig
from warehouse.errors import Conflict, InvalidInput, NotFound
from warehouse.models import Location, Order, OrderLine, Pick, PickList, PickListOrder, Stock
from warehouse.reservations import lock_products, rows_changed
from warehouse.routing import Layout, LayoutError, Stop, route_stops

MAX_BATCH = 24


class NotPickable(Conflict):
    code = "not_pickable"


def layout_of(config: LayoutConfig) -> Layout:
    """The routing layout of config.toml's [layout]."""
    return Layout(
        aisles=len(config.aisles),
        bays=config.bays,
        bay_width=config.bay_width_m,
        aisle_spacing=config.aisle_spacing_m,
        cross_aisle_width=config.cross_aisle_width_m,
        middle_cross_aisles=tuple(config.middle_cross_aisles),
        depot_x=config.depot_x_m,
    )


def stop_of(location: Location, config: LayoutConfig) -> Stop:
    """Where a bin lies in the layout; a bin outside it is a configuration error to fix."""
    outside = InvalidInput(
        f"Bin {location.code} lies outside the layout of config.toml "
        f"(aisles {', '.join(config.aisles)}; bays 1 to {config.bays}).",
        field="location",
        code="outside_layout",
    )
    if location.aisle not in config.aisles or not (location.bay or "").isdigit():
        raise outside
    bay = int(location.bay or 0)
    if not 1 <= bay <= config.bays:
        raise outside
    return Stop(config.aisles.index(location.aisle) + 1, bay)


@dataclass(frozen=True)
class Held:
    stock: Stock
    qty: int


def _candidates(session: Session, product_id: int) -> list[tuple[Stock, int]]:
    rows = session.execute(
        select(Stock, Stock.qty - Stock.allocated)
        .join(Stock.location)
        .where(
            Stock.product_id == product_id,
            Location.pickable.is_(True),
            Stock.qty > Stock.allocated,
        )
        .options(selectinload(Stock.location))
    ).all()
    return [(stock, int(free)) for stock, free in rows]


def _hold(session: Session, stock: Stock, qty: int) -> bool:
    """Hold units at a bin if they are still free there."""
    return (
        rows_changed(
            session,
            update(Stock)
            .where(Stock.id == stock.id, Stock.qty - Stock.allocated >= qty)
            .values(allocated=Stock.allocated + qty),
        )
        > 0
    )


def allocate_bins(session: Session, product_id: int, qty: int) -> list[Held]:
    """Hold qty units of a product at pickable bins: first expiry first out where lots
    have dates, else the fewest stops (a bin that holds them all, then the fullest)."""
    held: list[Held] = []
    need = qty
    candidates = _candidates(session, product_id)
    while need and candidates:
        candidates.sort(
            key=lambda c: (
                c[0].expiry is None,
                c[0].expiry,
                c[1] < need,
                -c[1],
                c[0].location.code,
            )
        )
        stock, free = candidates.pop(0)
        take = min(free, need)
        # Another list may have held units here since they were read: then try the rest.
        if _hold(session, stock, take):
            held.append(Held(stock, take))
            need -= take
    return held


def release_bins(session: Session, picks: Sequence[Pick]) -> None:
    """Give back the units a list holds at bins and has not picked."""
    for pick in picks:
        left = pick.qty - pick.picked
        if left and pick.status == "open":
            session.execute(
                update(Stock)
                .where(Stock.id == pick.stock_id)
                .values(allocated=Stock.allocated - left)
            )


def _take_orders(session: Session, order_ids: Sequence[int]) -> list[Order]:
    """Move the orders from reserved to picking; refuse if any is not ready."""
    if len(set(order_ids)) != len(order_ids):
        raise InvalidInput("An order is named twice.", field="orders")
    # Products first, in id order, as every stock change does: bins are then held under
    # their products' locks, and no two transactions wait on each other in a circle.
    lock_products(
        session,
        session.scalars(select(OrderLine.product_id).where(OrderLine.order_id.in_(order_ids))),
    )
    for order_id in sorted(order_ids):
        taken = rows_changed(
            session,
            update(Order)
            .where(Order.id == order_id, Order.status == "reserved")
            .values(status="picking"),
        )
        if not taken:
            order = session.get(Order, order_id)
            if order is None:
                raise NotFound(f"No order has id {order_id}.", code="unknown_order")
            raise NotPickable(
                f"Order {order_id} is {order.status}: only fully reserved orders are picked.",
                field="orders",
            )
    orders = session.scalars(
        select(Order)
        .where(Order.id.in_(order_ids))
        .options(selectinload(Order.lines).selectinload(OrderLine.product))
        .execution_options(populate_existing=True)
    ).all()
    by_id = {order.id: order for order in orders}
    return [by_id[order_id] for order_id in order_ids]


def create_pick_list(
    session: Session, order_ids: Sequence[int], layout: LayoutConfig, kind: str | None = None
) -> PickList:
    """A pick list for one order or a batch (a tote each): bins held, stops in walking order."""
    if not 1 <= len(order_ids) <= MAX_BATCH:
        raise InvalidInput(f"A pick list takes 1 to {MAX_BATCH} orders.", field="orders")
    orders = _take_orders(session, order_ids)
    pick_list = PickList(kind=kind or ("order" if len(orders) == 1 else "batch"))
    planned: list[tuple[OrderLine, Held]] = []
    for slot, order in enumerate(orders, start=1):
        pick_list.orders.append(PickListOrder(order_id=order.id, slot=slot))
        for line in order.lines:
            bins = allocate_bins(session, line.product_id, line.reserved)
            short = line.reserved - sum(one.qty for one in bins)
            if short:
                raise NotPickable(
                    f"{short} reserved units of {line.product.sku} for order {order.id} are "
                    "not in pickable bins: move them to a pick bin first.",
                    field="orders",
                )
            planned += [(line, one) for one in bins]
    try:
        stops = [stop_of(one.stock.location, layout) for _, one in planned]
        route = route_stops(layout_of(layout), stops)
    except LayoutError as wrong:
        raise InvalidInput(str(wrong), field="layout", code="bad_layout") from None
    for seq, index in enumerate(route.order, start=1):
        line, one = planned[index]
        pick_list.picks.append(
            Pick(order_line_id=line.id, stock_id=one.stock.id, seq=seq, qty=one.qty)
        )
    pick_list.route_m = round(route.length_m, 2)
    pick_list.route_method = route.method
    session.add(pick_list)
    session.flush()
    return pick_list


def get_pick_list(session: Session, pick_list_id: int) -> PickList:
    """A pick list with its orders and picks, or NotFound."""
    found = session.scalar(
        select(PickList)
        .where(PickList.id == pick_list_id)
        .options(
            selectinload(PickList.orders),
            selectinload(PickList.picks).selectinload(Pick.stock).selectinload(Stock.location),
            selectinload(PickList.picks)
            .selectinload(Pick.order_line)
            .selectinload(OrderLine.product),
        )
    )
    if found is None:
        raise NotFound(f"No pick list has id {pick_list_id}.", code="unknown_pick_list")
    return found
