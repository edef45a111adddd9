"""Picking: walking a pick list. The picker takes the list, puts a tote in each cart slot,
and at each stop the bin, the item and the tote scanned are checked before the units move in
the ledger from the bin to the tote. A bin short of units is written off and the units held
elsewhere; units found nowhere are backordered. When the list is done its orders are packed,
or wait for what was short.
"""

from __future__ import annotations

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from warehouse.allocation import allocate_bins, release_bins
from warehouse.db import rows_changed
from warehouse.errors import Conflict, InvalidInput, NotFound
from warehouse.inventory import move_picked, write_off
from warehouse.models import (
    ACTIVE_PICK_LISTS,
    CountTask,
    Location,
    Order,
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
from warehouse.orders import get_order
from warehouse.pick_lists import get_pick_list, new_pick, picked_units, units_to_pick
from warehouse.quantities import check_units
from warehouse.reservations import fill_backorders, lock_products, settle_status, store_reserved


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
    holder = _order_in_tote(session, tote)
    if holder is not None and holder != place.order_id:
        raise WrongScan(
            f"Tote {tote} still holds units of order {holder}: take an empty one.",
            field="tote",
            code="tote_in_use",
        )
    place.tote = tote
    session.flush()
    return place


def _order_in_tote(session: Session, tote: str) -> int | None:
    """The order whose picked units a tote still holds, if it holds any."""
    holds = session.scalar(
        select(func.coalesce(func.sum(Stock.qty), 0))
        .join(Stock.location)
        .where(Location.code == tote)
    )
    if not holds:
        return None
    return session.scalar(
        select(PickListOrder.order_id)
        .where(PickListOrder.tote == tote)
        .order_by(PickListOrder.id.desc())
        .limit(1)
    )


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


def _finish_if_done(session: Session, pick_list: PickList) -> None:
    """A list with no stop left is done; its orders are packed, or wait for what was short."""
    if all(pick.status != PickStatus.OPEN for pick in pick_list.picks):
        pick_list.status = PickListStatus.DONE
        pick_list.finished_at = utcnow()
        session.flush()
        for place in pick_list.orders:
            _after_picking(session, place.order_id)


def _after_picking(session: Session, order_id: int) -> None:
    """An order off its list: packed now when it has all it needs, or when its channel ships
    what was found; otherwise (or with nothing found) it waits, its short lines backordered,
    and stock that is free goes to them at once."""
    order = get_order(session, order_id)
    if order.status != OrderStatus.PICKING:
        return
    complete = all(line.reserved + line.shipped == line.qty for line in order.lines)
    picked = picked_units(session, order.id)
    in_totes = any(picked.get(line.id, 0) > line.shipped for line in order.lines)
    whole = all(units == 0 for units in units_to_pick(session, order).values())
    if whole and in_totes and (complete or order.channel.ship_partial):
        return
    wait(session, order)


def wait(session: Session, order: Order) -> None:
    """Put an order back among those that wait for stock (reserved, partial or backordered,
    as its lines say), and give free stock to its backorders."""
    order.status = OrderStatus.BACKORDERED
    settle_status(order)
    session.flush()
    fill_backorders(session, {line.product_id for line in order.lines if line.backordered})


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
    _finish_if_done(session, pick_list)
    session.flush()
    return pick


def short_pick(
    session: Session, user: User, pick_list_id: int, pick_id: int, *, found: int, tote: str
) -> list[Pick]:
    """The bin holds fewer than the pick needs: pick what is there, write the rest and what
    else is free there off the bin (booked as an adjustment, and a count of the bin asked for), and hold the units at
    other bins (new stops at the end of the list). Units found nowhere are no longer reserved
    for the line: they are backordered, and the order waits for them (or, on a channel that
    ships partly, ships without them and sends them later). Returns the new picks."""
    pick_list = _held_by(session, pick_list_id, user)
    pick = _open_pick(pick_list, pick_id)
    check_units(found, "found", least=0, most=pick.qty - pick.picked - 1)
    if found:
        confirm_pick(
            session, user, pick_list_id, pick_id,
            location=pick.stock.location.code, sku=pick.order_line.product.sku,
            qty=found, tote=tote,
        )  # fmt: skip
    missing = pick.qty - pick.picked
    line, stock = pick.order_line, pick.stock
    product_id = stock.product_id
    lock_products(session, [product_id])
    session.execute(
        update(Stock).where(Stock.id == stock.id).values(allocated=Stock.allocated - missing)
    )
    pick.status = PickStatus.SHORT
    session.add(
        CountTask(
            location_id=stock.location_id,
            product_id=product_id,
            reason=f"short pick: {missing} of {line.product.sku} not found",
            reported_by=user.id,
        )
    )
    # The line gives up the units it cannot have from this bin; they are written off it.
    # A cancelled order's line gave all its units back when it was cancelled: it has none
    # to give up, and none are held for it again.
    cancelled = get_order(session, line.order_id).status == OrderStatus.CANCELLED
    given_up = 0 if cancelled else missing
    store_reserved(session, {product_id: -given_up})
    line.reserved -= given_up
    # The picker took all the bin had: the units its books say are free there are not there
    # either, and no order is sent back to them before a count of the bin settles it.
    free = session.scalar(select(Stock.qty - Stock.allocated).where(Stock.id == stock.id)) or 0
    write_off(
        session, user, stock, max(missing, int(free)),
        reason=f"short pick: {missing} not found at {stock.location.code}",
        reference=f"pick list {pick_list.id}",
    )  # fmt: skip
    # What stock is free is held for it again, at other bins.
    figures = lock_products(session, [product_id])[product_id]
    again = 0 if cancelled else min(missing, max(figures.available, 0))
    others = allocate_bins(session, product_id, again, avoid=stock.location_id) if again else []
    held = sum(one.qty for one in others)
    store_reserved(session, {product_id: held})
    line.reserved += held
    line.backordered = not cancelled and line.reserved < line.unshipped
    added: list[Pick] = []
    seq = max(p.seq for p in pick_list.picks)
    for one in others:
        seq += 1
        added.append(new_pick(pick.order_line_id, one, seq))
    pick_list.picks.extend(added)
    _finish_if_done(session, pick_list)
    session.flush()
    return added


def release_pick_list(session: Session, pick_list_id: int) -> PickList:
    """End an abandoned list: its unpicked units are no longer held at bins, and its orders
    with units left to pick wait for another list (what was picked stays in their totes)."""
    pick_list = get_pick_list(session, pick_list_id)
    if pick_list.status not in ACTIVE_PICK_LISTS:
        raise Conflict(f"Pick list {pick_list.id} is {pick_list.status}.", code="pick_list_closed")
    lock_products(session, {pick.stock.product_id for pick in pick_list.picks})
    release_bins(session, pick_list.picks)
    pick_list.status, pick_list.finished_at = PickListStatus.RELEASED, utcnow()
    session.flush()
    for place in pick_list.orders:
        order = get_order(session, place.order_id)
        if order.status == OrderStatus.PICKING and any(units_to_pick(session, order).values()):
            wait(session, order)
    return pick_list
