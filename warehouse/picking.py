"""Pick lists: orders turned into stops at bins, held for the list, in walking order; and
walking them: totes onto the cart, each pick verified by scans of the bin, the item and the
tote, short picks, and lists released when abandoned.

Concurrency: the orders' products are locked first, in id order, like every stock change.
An order goes on a pick list by a conditional UPDATE of its status (reserved -> picking), so
two lists never take one order; units are held at bins as `allocation` does, so two lists
never send pickers to the same units. Neither reads a figure to write it back.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session, selectinload

from warehouse.allocation import Held, allocate_bins, release_bins
from warehouse.config import LayoutConfig
from warehouse.db import rows_changed
from warehouse.errors import Conflict, InvalidInput, NotFound
from warehouse.inventory import move_picked
from warehouse.models import (
    ACTIVE_PICK_LISTS,
    CountTask,
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
    User,
    utcnow,
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


def _new_pick(order_line_id: int, held: Held, seq: int) -> Pick:
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
        pick_list.picks.append(_new_pick(line.id, one, seq))
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


class WrongScan(InvalidInput):
    """A scan that does not match the stop: the wrong bin, item or tote, or too many units."""


def _held_by(session: Session, pick_list_id: int, user: User) -> PickList:
    pick_list = get_pick_list(session, pick_list_id)
    if pick_list.status not in ACTIVE_PICK_LISTS:
        raise Conflict(f"Pick list {pick_list.id} is {pick_list.status}.", code="pick_list_closed")
    if pick_list.status != PickListStatus.PICKING or pick_list.picker_id != user.id:
        holder = pick_list.picker.name if pick_list.picker else "nobody"
        raise Conflict(
            f"Pick list {pick_list.id} is held by {holder}: start it first.", code="not_yours"
        )
    return pick_list


def start_pick_list(session: Session, pick_list_id: int, user: User) -> PickList:
    """Take an open pick list (or go on with one's own); a list held by another is refused."""
    taken = rows_changed(
        session,
        update(PickList)
        .where(
            PickList.id == pick_list_id,
            or_(
                PickList.status == PickListStatus.OPEN,
                and_(PickList.status == PickListStatus.PICKING, PickList.picker_id == user.id),
            ),
        )
        .values(
            status=PickListStatus.PICKING,
            picker_id=user.id,
            started_at=func.coalesce(PickList.started_at, utcnow()),
        ),
    )
    if not taken:
        _held_by(session, pick_list_id, user)  # raises the reason
    session.expire_all()
    return get_pick_list(session, pick_list_id)


def set_tote(
    session: Session, pick_list_id: int, user: User, slot: int, tote: str
) -> PickListOrder:
    """Put a tote in a cart slot; a tote already on another open list is refused."""
    pick_list = _held_by(session, pick_list_id, user)
    place = next((p for p in pick_list.orders if p.slot == slot), None)
    if place is None:
        raise InvalidInput(f"Pick list {pick_list_id} has no slot {slot}.", field="slot")
    elsewhere = session.scalar(
        select(PickListOrder.pick_list_id)
        .join(PickListOrder.pick_list)
        .where(
            PickListOrder.tote == tote,
            PickListOrder.id != place.id,
            PickList.status.in_(ACTIVE_PICK_LISTS),
        )
    )
    if elsewhere is not None:
        raise WrongScan(
            f"Tote {tote} is already on pick list {elsewhere}: take an empty one.",
            field="tote",
            code="tote_in_use",
        )
    place.tote = tote
    session.flush()
    return place


def _tote_location(session: Session, tote: str) -> Location:
    """Totes are places too: picked units sit in them, on the books, until packed."""
    location = session.scalar(select(Location).where(Location.code == tote))
    if location is None:
        location = Location(code=tote, zone="tote", pickable=False)
        session.add(location)
        session.flush()
    return location


def _open_pick(pick_list: PickList, pick_id: int) -> Pick:
    pick = next((p for p in pick_list.picks if p.id == pick_id), None)
    if pick is None:
        raise NotFound(f"Pick list {pick_list.id} has no pick {pick_id}.", code="unknown_pick")
    if pick.status != PickStatus.OPEN:
        raise Conflict(f"This pick is already {pick.status}.", code="pick_done")
    return pick


def _finish_if_done(pick_list: PickList) -> None:
    if all(pick.status != PickStatus.OPEN for pick in pick_list.picks):
        pick_list.status = PickListStatus.DONE
        pick_list.finished_at = utcnow()


def expect_location(pick: Pick, location: str) -> None:
    """Refuse a bin that is not the stop's."""
    if location != pick.stock.location.code:
        raise WrongScan(
            f"Wrong bin: this stop is {pick.stock.location.code}, not {location}.",
            field="location",
            code="wrong_location",
        )


def expect_item(pick: Pick, sku: str) -> None:
    """Refuse an item that is not the stop's."""
    if sku != pick.order_line.product.sku:
        raise WrongScan(
            f"Wrong item: take {pick.order_line.product.sku}, not {sku}.",
            field="sku",
            code="wrong_item",
        )


def expect_units(pick: Pick, units: int) -> None:
    """Refuse more units than the stop has left to pick (or none)."""
    left = pick.qty - pick.picked
    if not 1 <= units <= left:
        raise WrongScan(
            f"Take {left} here, not {units}.",
            field="qty",
            code="too_many" if units > left else "invalid_input",
        )


def next_pick(pick_list: PickList) -> Pick | None:
    """The first stop still to pick, in walking order."""
    return next((pick for pick in pick_list.picks if pick.status == PickStatus.OPEN), None)


def empty_slot(pick_list: PickList) -> PickListOrder | None:
    """The first cart slot still without its tote."""
    return next((place for place in pick_list.orders if place.tote is None), None)


def tote_of(pick_list: PickList, pick: Pick) -> str | None:
    """The tote the pick's order is picked into."""
    return next((p.tote for p in pick_list.orders if p.order_id == pick.order_line.order_id), None)


def confirm_pick(
    session: Session,
    user: User,
    pick_list_id: int,
    pick_id: int,
    *,
    location: str,
    sku: str,
    qty: int,
    tote: str,
) -> Pick:
    """Book a verified pick: the bin, the item and the tote scanned are the stop's; the
    units move in the ledger from the bin to the tote."""
    pick_list = _held_by(session, pick_list_id, user)
    pick = _open_pick(pick_list, pick_id)
    expect_location(pick, location)
    expect_item(pick, sku)
    expect_units(pick, qty)
    expected = tote_of(pick_list, pick)
    if expected is None:
        raise WrongScan("Scan the order's tote onto the cart first.", field="tote", code="no_tote")
    if tote != expected:
        raise WrongScan(
            f"Wrong tote: this goes in {expected}, not {tote}.", field="tote", code="wrong_tote"
        )
    move_picked(
        session, user, pick.stock, _tote_location(session, tote), qty,
        reference=f"pick list {pick_list.id}",
    )  # fmt: skip
    pick.picked += qty
    if pick.picked == pick.qty:
        pick.status = PickStatus.PICKED
    _finish_if_done(pick_list)
    session.flush()
    return pick


def short_pick(
    session: Session, user: User, pick_list_id: int, pick_id: int, *, found: int, tote: str
) -> list[Pick]:
    """The bin holds fewer than the pick needs: pick what is there, ask for a count of the
    bin, and hold the rest at other bins (new stops at the end of the list). Returns the
    new picks; none when no other bin has the units, and the line is short."""
    pick_list = _held_by(session, pick_list_id, user)
    pick = _open_pick(pick_list, pick_id)
    left = pick.qty - pick.picked
    if not 0 <= found < left:
        raise WrongScan(f"Found must be 0 to {left - 1}.", field="found", code="invalid_input")
    if found:
        confirm_pick(
            session, user, pick_list_id, pick_id,
            location=pick.stock.location.code, sku=pick.order_line.product.sku,
            qty=found, tote=tote,
        )  # fmt: skip
    missing = pick.qty - pick.picked
    session.execute(
        update(Stock).where(Stock.id == pick.stock_id).values(allocated=Stock.allocated - missing)
    )
    pick.status = PickStatus.SHORT
    session.add(
        CountTask(
            location_id=pick.stock.location_id,
            product_id=pick.stock.product_id,
            reason=f"short pick: {missing} of {pick.order_line.product.sku} not found",
            reported_by=user.id,
        )
    )
    # Not the bin just found short, whatever its books say.
    others = allocate_bins(session, pick.stock.product_id, missing, avoid=pick.stock.location_id)
    added: list[Pick] = []
    seq = max(p.seq for p in pick_list.picks)
    for one in others:
        seq += 1
        added.append(_new_pick(pick.order_line_id, one, seq))
    pick_list.picks.extend(added)
    _finish_if_done(pick_list)
    session.flush()
    return added


def release_pick_list(session: Session, pick_list_id: int) -> PickList:
    """End an abandoned list: its unpicked units are no longer held, and its orders with
    nothing picked yet can go on another list."""
    pick_list = get_pick_list(session, pick_list_id)
    if pick_list.status not in ACTIVE_PICK_LISTS:
        raise Conflict(f"Pick list {pick_list.id} is {pick_list.status}.", code="pick_list_closed")
    lock_products(session, {pick.stock.product_id for pick in pick_list.picks})
    release_bins(session, pick_list.picks)
    started = {pick.order_line.order_id for pick in pick_list.picks if pick.picked}
    for place in pick_list.orders:
        if place.order_id not in started:
            move_on(session, place.order_id, OrderStatus.PICKING, OrderStatus.RESERVED)
    pick_list.status, pick_list.finished_at = PickListStatus.RELEASED, utcnow()
    session.flush()
    return pick_list


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
