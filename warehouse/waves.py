"""Waves: the most urgent reserved orders a filter chooses, grouped cart by cart (Clarke and
Wright's savings, `batching`) so that each cart's route is short, one pick list per cart."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from warehouse.allocation import plan_bins
from warehouse.batching import group_orders
from warehouse.config import LayoutConfig
from warehouse.errors import InvalidInput, WarehouseError
from warehouse.models import Channel, Order, OrderLine, OrderStatus, PickList
from warehouse.pick_lists import (
    MAX_BATCH,
    NotPickable,
    create_pick_list,
    layout_of,
    stop_of,
    units_to_pick,
)
from warehouse.routing import Stop, route_stops


@dataclass(frozen=True)
class WaveFilter:
    """Which reserved orders a wave takes, most urgent first (of `orders` only, when given)."""

    channel: str | None = None
    ship_by_before: datetime | None = None
    max_orders: int | None = None
    max_lines: int | None = None
    orders: tuple[int, ...] | None = None


@dataclass(frozen=True)
class PlannedCart:
    """A pick list as it would be made now: its orders (a tote each), lines, units and walk."""

    orders: list[int]
    lines: int
    units: int
    route_m: float


@dataclass(frozen=True)
class WavePlan:
    carts: list[PlannedCart]
    skipped: list[tuple[int, str]]


@dataclass(frozen=True)
class Wave:
    pick_lists: list[PickList]
    # Orders the filter chose that could not be picked now, with why.
    skipped: list[tuple[int, str]]


def wave_orders(session: Session, wanted: WaveFilter) -> list[Order]:
    """The reserved orders a filter chooses, most urgent first (ship-by, then age)."""
    query = (
        select(Order)
        .where(Order.status == OrderStatus.RESERVED)
        .order_by(Order.ship_by.is_(None), Order.ship_by, Order.created_at, Order.id)
        .options(
            selectinload(Order.lines).selectinload(OrderLine.product), selectinload(Order.channel)
        )
    )
    if wanted.channel:
        query = query.join(Order.channel).where(Channel.code == wanted.channel)
    if wanted.ship_by_before:
        query = query.where(Order.ship_by < wanted.ship_by_before)
    if wanted.orders is not None:
        query = query.where(Order.id.in_(wanted.orders))
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
    wanted = units_to_pick(session, order)
    for line in order.lines:
        if not wanted[line.id]:
            continue
        bins = plan_bins(session, line.product_id, wanted[line.id])
        if sum(one.qty for one in bins) < wanted[line.id]:
            raise NotPickable(f"{line.product.sku} is short in pick bins.", field="orders")
        stops += [stop_of(one.stock.location, layout) for one in bins]
    return stops


def plan_wave(
    session: Session, wanted: WaveFilter, layout: LayoutConfig, cart_size: int
) -> WavePlan:
    """The carts a wave of these orders would be, grouped so routes are short; nothing is
    held, so a supervisor can look before creating them."""
    if not 1 <= cart_size <= MAX_BATCH:
        raise InvalidInput(f"A cart takes 1 to {MAX_BATCH} orders.", field="cart_size")
    skipped: list[tuple[int, str]] = []
    stops: dict[int, list[Stop]] = {}
    chosen = {order.id: order for order in wave_orders(session, wanted)}
    for order in chosen.values():
        try:
            stops[order.id] = predicted_stops(session, order, layout)
        except WarehouseError as why:
            skipped.append((order.id, why.message))
    floor = layout_of(layout)
    carts = []
    for batch in group_orders(stops, cart_size, floor):
        lines = [line for order in batch for line in chosen[order].lines]
        walk = route_stops(floor, [stop for order in batch for stop in stops[order]])
        carts.append(
            PlannedCart(batch, len(lines), sum(line.qty for line in lines), round(walk.length_m, 1))
        )
    return WavePlan(carts, skipped)


def create_carts(session: Session, carts: Sequence[Sequence[int]], layout: LayoutConfig) -> Wave:
    """One pick list per cart of orders, as planned; a cart that cannot be made now (its
    orders taken or no longer pickable) is skipped with why."""
    made: list[PickList] = []
    skipped: list[tuple[int, str]] = []
    for batch in carts:
        try:
            with session.begin_nested():
                made.append(create_pick_list(session, batch, layout, kind="wave"))
        except WarehouseError as why:
            skipped += [(order_id, why.message) for order_id in batch]
    return Wave(made, skipped)


def create_wave(session: Session, wanted: WaveFilter, layout: LayoutConfig, cart_size: int) -> Wave:
    """Pick lists for the orders a filter chooses, grouped cart by cart so routes are short."""
    plan = plan_wave(session, wanted, layout, cart_size)
    made = create_carts(session, [cart.orders for cart in plan.carts], layout)
    return Wave(made.pick_lists, plan.skipped + made.skipped)
