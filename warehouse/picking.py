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
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session, selectinload

from warehouse.batching import group_orders
from warehouse.config import LayoutConfig
from warehouse.errors import Conflict, InvalidInput, NotFound, WarehouseError
from warehouse.inventory import move_picked
from warehouse.models import (
    Channel,
    CountTask,
    Location,
    Order,
    OrderLine,
    Pick,
    PickList,
    PickListOrder,
    ScanLog,
    Stock,
    User,
    utcnow,
)
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


def _candidates(
    session: Session, product_id: int, avoid: int | None = None
) -> list[tuple[Stock, int]]:
    rows = session.execute(
        select(Stock, Stock.qty - Stock.allocated)
        .join(Stock.location)
        .where(
            Stock.product_id == product_id,
            Location.pickable.is_(True),
            Stock.qty > Stock.allocated,
            *(() if avoid is None else (Stock.location_id != avoid,)),
        )
        .options(selectinload(Stock.location))
    ).all()
    return [(stock, int(free)) for stock, free in rows]


def _preference(candidate: tuple[Stock, int], need: int) -> tuple[Any, ...]:
    """Bins in the order they are picked from: first expiry first out (undated last), then
    a bin that holds all that is needed, then the fullest, then by code."""
    stock, free = candidate
    return (stock.expiry is None, stock.expiry, free < need, -free, stock.location.code)


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


def allocate_bins(
    session: Session, product_id: int, qty: int, avoid: int | None = None
) -> list[Held]:
    """Hold qty units of a product at pickable bins (but the location `avoid`): first
    expiry first out where lots have dates, else the fewest stops (a bin that holds them
    all, then the fullest). Returns what it could hold, which may be less than qty."""
    held: list[Held] = []
    need = qty
    candidates = _candidates(session, product_id, avoid)
    while need and candidates:
        candidates.sort(key=lambda candidate: _preference(candidate, need))
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


def _new_pick(order_line_id: int, held: Held, seq: int) -> Pick:
    # Status and picked set here, not left to the column defaults: the list's progress is
    # judged before the new rows are flushed.
    return Pick(
        order_line_id=order_line_id,
        stock_id=held.stock.id,
        seq=seq,
        qty=held.qty,
        picked=0,
        status="open",
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


# Walking the list ---------------------------------------------------------------------------


class WrongScan(InvalidInput):
    """A scan that does not match the stop: the wrong bin, item or tote, or too many units."""


def _held_by(session: Session, pick_list_id: int, user: User) -> PickList:
    pick_list = get_pick_list(session, pick_list_id)
    if pick_list.status in ("done", "released"):
        raise Conflict(f"Pick list {pick_list.id} is {pick_list.status}.", code="pick_list_closed")
    if pick_list.status != "picking" or pick_list.picker_id != user.id:
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
                PickList.status == "open",
                and_(PickList.status == "picking", PickList.picker_id == user.id),
            ),
        )
        .values(
            status="picking",
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
            PickList.status.in_(("open", "picking")),
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
    if pick.status != "open":
        raise Conflict(f"This pick is already {pick.status}.", code="pick_done")
    return pick


def _finish_if_done(pick_list: PickList) -> None:
    if all(pick.status != "open" for pick in pick_list.picks):
        pick_list.status = "done"
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
    return next((pick for pick in pick_list.picks if pick.status == "open"), None)


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
        pick.status = "picked"
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
    pick.status = "short"
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
    if pick_list.status in ("done", "released"):
        raise Conflict(f"Pick list {pick_list.id} is {pick_list.status}.", code="pick_list_closed")
    lock_products(session, {pick.stock.product_id for pick in pick_list.picks})
    release_bins(session, pick_list.picks)
    started = {pick.order_line.order_id for pick in pick_list.picks if pick.picked}
    for place in pick_list.orders:
        if place.order_id not in started:
            session.execute(
                update(Order)
                .where(Order.id == place.order_id, Order.status == "picking")
                .values(status="reserved")
            )
    pick_list.status, pick_list.finished_at = "released", utcnow()
    session.flush()
    return pick_list


def find_pick_lists(
    session: Session, statuses: Sequence[str] = ("open", "picking")
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


@dataclass(frozen=True)
class PickerFigures:
    """One picker's work since a time: stops confirmed, units, and how many scans were wrong."""

    name: str
    picks: int
    units: int
    scans: int
    wrong_scans: int
    picks_per_hour: float

    @property
    def accuracy(self) -> float:
        """Share of pick scans that were right (1.0 when there were none)."""
        return 1.0 - self.wrong_scans / self.scans if self.scans else 1.0


def picker_figures(session: Session, since: datetime) -> list[PickerFigures]:
    """Picks per hour and pick accuracy of each picker since a time, from the scan log."""
    rows = session.execute(
        select(User.name, ScanLog.at, ScanLog.accepted, ScanLog.result)
        .join(User, User.id == ScanLog.user_id)
        .where(ScanLog.source == "pick", ScanLog.at >= since)
        .order_by(User.name, ScanLog.at)
    ).all()
    by_name: dict[str, list[Any]] = {}
    for row in rows:
        by_name.setdefault(row.name, []).append(row)
    figures = []
    for name, scans in by_name.items():
        confirmed = [s for s in scans if s.accepted and (s.result or {}).get("step") == "tote"]
        # Hours at work: from the first pick scan to the last, at least a minute.
        hours = max((scans[-1].at - scans[0].at).total_seconds(), 60.0) / 3600
        figures.append(
            PickerFigures(
                name=name,
                picks=len(confirmed),
                units=sum(int((s.result or {}).get("picked", 0)) for s in confirmed),
                scans=len(scans),
                wrong_scans=sum(1 for s in scans if not s.accepted),
                picks_per_hour=round(len(confirmed) / hours, 1),
            )
        )
    return figures


def open_count_tasks(session: Session) -> list[CountTask]:
    """Bins to count after short picks, oldest first."""
    return list(
        session.scalars(
            select(CountTask)
            .where(CountTask.done_at.is_(None))
            .order_by(CountTask.id)
            .options(selectinload(CountTask.location), selectinload(CountTask.product))
        )
    )


# Waves ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WaveFilter:
    """Which reserved orders a wave takes, most urgent first."""

    channel: str | None = None
    ship_by_before: datetime | None = None
    max_orders: int | None = None
    max_lines: int | None = None


@dataclass(frozen=True)
class Wave:
    pick_lists: list[PickList]
    # Orders the filter chose that could not be picked now, with why.
    skipped: list[tuple[int, str]]


def _wave_orders(session: Session, wanted: WaveFilter) -> list[Order]:
    query = (
        select(Order)
        .where(Order.status == "reserved")
        .order_by(Order.ship_by.is_(None), Order.ship_by, Order.created_at, Order.id)
        .options(selectinload(Order.lines).selectinload(OrderLine.product))
    )
    if wanted.channel:
        query = query.join(Order.channel).where(Channel.code == wanted.channel)
    if wanted.ship_by_before:
        query = query.where(Order.ship_by < wanted.ship_by_before)
    chosen: list[Order] = []
    lines = 0
    for order in session.scalars(query):
        if wanted.max_orders is not None and len(chosen) >= wanted.max_orders:
            break
        if wanted.max_lines is not None and lines + len(order.lines) > wanted.max_lines:
            break
        chosen.append(order)
        lines += len(order.lines)
    return chosen


def predicted_stops(session: Session, order: Order, layout: LayoutConfig) -> list[Stop]:
    """The stops the order's picks would take, by the bins allocation would choose now
    (nothing is held): what batching groups orders by. Raises NotPickable or InvalidInput."""
    stops = []
    for line in order.lines:
        need = line.reserved
        for stock, free in sorted(
            _candidates(session, line.product_id),
            key=lambda c: (
                c[0].expiry is None,
                c[0].expiry,
                c[1] < need,
                -c[1],
                c[0].location.code,
            ),
        ):
            if not need:
                break
            need -= min(free, need)
            stops.append(stop_of(stock.location, layout))
        if need:
            raise NotPickable(f"{line.product.sku} is short in pick bins.", field="orders")
    return stops


def create_wave(session: Session, wanted: WaveFilter, layout: LayoutConfig, cart_size: int) -> Wave:
    """Pick lists for the orders a filter chooses, grouped cart by cart so routes are short."""
    if not 1 <= cart_size <= MAX_BATCH:
        raise InvalidInput(f"A cart takes 1 to {MAX_BATCH} orders.", field="cart_size")
    skipped: list[tuple[int, str]] = []
    stops: dict[int, list[Stop]] = {}
    for order in _wave_orders(session, wanted):
        try:
            stops[order.id] = predicted_stops(session, order, layout)
        except WarehouseError as why:
            skipped.append((order.id, why.message))
    made: list[PickList] = []
    for batch in group_orders(stops, cart_size, layout_of(layout)):
        try:
            with session.begin_nested():
                made.append(create_pick_list(session, batch, layout, kind="wave"))
        except WarehouseError as why:
            skipped += [(order_id, why.message) for order_id in batch]
    return Wave(made, skipped)
