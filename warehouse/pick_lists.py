"""Pick lists: orders turned into stops at bins, the units held for the list, in walking
order; what an order still has to pick, and what it has picked.

Concurrency: the orders' products are locked first, in id order, like every stock change.
An order goes on a pick list by a conditional UPDATE of its status (reserved -> picking), so
two lists never take one order; units are held at bins as `allocation` does, so two lists
never send pickers to the same units. Neither reads a figure to write it back.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from warehouse.allocation import Held, allocate_bins
from warehouse.config import LayoutConfig
from warehouse.errors import Conflict, InvalidInput, NotFound
from warehouse.models import (
    ACTIVE_PICK_LISTS,
    Location,
    Order,
    OrderLine,
    OrderStatus,
    Pick,
    PickList,
    PickListOrder,
    PickListStatus,
    PickStatus,
    Stock,
)
from warehouse.orders import move_on
from warehouse.reservations import lock_products
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
        if not move_on(session, order_id, OrderStatus.RESERVED, OrderStatus.PICKING):
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


def picked_units(session: Session, order_id: int) -> dict[int, int]:
    """Per line of the order: units ever picked into its totes (shipped ones included)."""
    rows = session.execute(
        select(Pick.order_line_id, func.sum(Pick.picked))
        .join(Pick.order_line)
        .where(OrderLine.order_id == order_id)
        .group_by(Pick.order_line_id)
    )
    return {line_id: int(units or 0) for line_id, units in rows}


def units_to_pick(session: Session, order: Order) -> dict[int, int]:
    """Per line: units reserved for it that are still in bins (not picked, not shipped)."""
    picked = picked_units(session, order.id)
    return {
        line.id: line.reserved - (picked.get(line.id, 0) - line.shipped) for line in order.lines
    }


def new_pick(order_line_id: int, held: Held, seq: int) -> Pick:
    # Status and picked set here, not left to the column defaults: the list's progress is
    # judged before the new rows are flushed.
    return Pick(
        order_line_id=order_line_id,
        stock_id=held.stock.id,
        seq=seq,
        qty=held.qty,
        picked=0,
        status=PickStatus.OPEN,
    )


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
        wanted = units_to_pick(session, order)
        if not any(wanted.values()):
            raise NotPickable(f"Order {order.id} has nothing left to pick.", field="orders")
        for line in order.lines:
            if not wanted[line.id]:
                continue
            bins = allocate_bins(session, line.product_id, wanted[line.id])
            short = wanted[line.id] - sum(one.qty for one in bins)
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
        pick_list.picks.append(new_pick(line.id, one, seq))
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
            # Each pick's bin and product come in the picks' own query (joined): this is read
            # at every scan of a pick.
            selectinload(PickList.picks).joinedload(Pick.stock).joinedload(Stock.location),
            selectinload(PickList.picks).joinedload(Pick.order_line).joinedload(OrderLine.product),
        )
    )
    if found is None:
        raise NotFound(f"No pick list has id {pick_list_id}.", code="unknown_pick_list")
    return found


def find_pick_lists(
    session: Session, statuses: Sequence[PickListStatus] = ACTIVE_PICK_LISTS
) -> list[PickList]:
    """Pick lists by status, oldest first, with who holds them."""
    return list(
        session.scalars(
            select(PickList)
            .where(PickList.status.in_(statuses))
            .order_by(PickList.id)
            .options(
                selectinload(PickList.picker),
                selectinload(PickList.orders),
                selectinload(PickList.picks),
            )
        )
    )
