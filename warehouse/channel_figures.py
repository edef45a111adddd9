"""Which channels pay: each channel's orders of a period, what they earned after the
channel's fees and the goods' cost, how fast they shipped and how much came back.

An order counts in the period in which it was received (UTC days, both ends included):
- `units`: units ordered; `revenue`: shipped units at their line's price; `cost`: shipped
  units at the product's unit cost (none known counts 0);
- `fees`: the channel's percent of revenue, plus its fixed fee per order that shipped
  anything; `margin` = revenue - fees - cost;
- `backordered_units`: units still waiting for stock on orders not cancelled;
- `returned_units` per units shipped is the `return_rate`;
- order to ship: from receipt to the last shipment's hand-over, for shipped orders; on time
  when that is by the order's `ship_by` (orders without one are left out of the rate).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import Integer, Numeric, String, case, cast, func, literal, select
from sqlalchemy.orm import Session

from warehouse.models import Channel, Movement, Order, OrderLine, OrderStatus, Product, Shipment

CENT = Decimal("0.01")


@dataclass
class ChannelFigures:
    channel: str
    orders: int = 0
    units: int = 0
    revenue: Decimal = Decimal("0.00")
    fees: Decimal = Decimal("0.00")
    cost: Decimal = Decimal("0.00")
    margin: Decimal = Decimal("0.00")
    cancelled_orders: int = 0
    backordered_units: int = 0
    returned_units: int = 0
    return_rate: float | None = None
    order_to_ship_hours_median: float | None = None
    order_to_ship_hours_p90: float | None = None
    shipped_on_time_rate: float | None = None
    # Gathered order by order, then summed up (finish).
    shipped_units: int = field(default=0, repr=False)
    shipped_orders: int = field(default=0, repr=False)
    hours: list[float] = field(default_factory=list, repr=False)
    on_time: list[bool] = field(default_factory=list, repr=False)


# The periods a person chooses, each up to today: its first day from today's date.
PERIODS = {
    "today": lambda today: today,
    "week": lambda today: today - timedelta(days=today.weekday()),
    "month": lambda today: today.replace(day=1),
    "quarter": lambda today: today.replace(month=(today.month - 1) // 3 * 3 + 1, day=1),
    "year": lambda today: today.replace(month=1, day=1),
}


def period(kind: str, today: date) -> tuple[date, date]:
    """The days of a period so far (PERIODS: today, this week, month, quarter or year)."""
    return PERIODS[kind](today), today


def previous(first: date, last: date) -> tuple[date, date]:
    """The period of as many days just before, to set beside it."""
    days = (last - first).days + 1
    return first - timedelta(days=days), first - timedelta(days=1)


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def nearest_rank(ordered: list[float], share: float) -> float:
    """The value at or below which `share` of the sorted values lie (nearest rank)."""
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def _money(value: Any) -> Decimal:
    return Decimal(str(value or 0)).quantize(CENT, ROUND_HALF_UP)


def _orders(session: Session, first: date, last: date) -> Any:
    """One row per order received in the period: its channel, status and times, its lines'
    sums, its last hand-over and its units returned."""
    shipped = OrderLine.shipped
    lines = (
        select(
            OrderLine.order_id,
            func.sum(OrderLine.qty).label("units"),
            func.sum(shipped).label("shipped"),
            func.sum(shipped * func.coalesce(OrderLine.unit_price, 0)).label("revenue"),
            func.sum(shipped * func.coalesce(Product.unit_cost, 0)).label("cost"),
            func.sum(
                case(
                    (OrderLine.backordered, OrderLine.qty - shipped - OrderLine.reserved),
                    else_=0,
                )
            ).label("waiting"),
        )
        .join(Product, Product.id == OrderLine.product_id)
        .group_by(OrderLine.order_id)
        .subquery()
    )
    handed_over = (
        select(Shipment.order_id, func.max(Shipment.shipped_at).label("shipped_at"))
        .group_by(Shipment.order_id)
        .subquery()
    )
    returned = (
        select(Movement.reference, func.sum(func.abs(Movement.qty)).label("units"))
        .where(Movement.kind == "return")
        .group_by(Movement.reference)
        .subquery()
    )
    # The ledger names an order's movements "order <id>" (orders.ledger_reference).
    reference = literal("order ", String) + cast(Order.id, String)
    return session.execute(
        select(
            Order.channel_id, Order.status, Order.created_at, Order.ship_by,
            lines.c.units, lines.c.shipped, cast(lines.c.revenue, Numeric(14, 2)),
            cast(lines.c.cost, Numeric(14, 2)), lines.c.waiting,
            handed_over.c.shipped_at, cast(func.coalesce(returned.c.units, 0), Integer),
        )
        .join(lines, lines.c.order_id == Order.id)
        .outerjoin(handed_over, handed_over.c.order_id == Order.id)
        .outerjoin(returned, returned.c.reference == reference)
        .where(
            Order.created_at >= day_start(first),
            Order.created_at < day_start(last + timedelta(days=1)),
        )
    )  # fmt: skip


def channel_figures(session: Session, first: date, last: date) -> list[ChannelFigures]:
    """Every channel's figures for the orders received from `first` to `last`, by code."""
    channels = {c.id: c for c in session.scalars(select(Channel).order_by(Channel.code))}
    figures = {cid: ChannelFigures(channel.code) for cid, channel in channels.items()}
    for row in _orders(session, first, last):
        (channel_id, status, received, ship_by, units, shipped, revenue, cost, waiting,
         shipped_at, returned) = row  # fmt: skip
        one = figures[channel_id]
        one.orders += 1
        one.units += int(units)
        one.revenue += _money(revenue)
        one.cost += _money(cost)
        one.shipped_units += int(shipped)
        one.returned_units += returned
        if shipped:
            one.shipped_orders += 1
        if status == OrderStatus.CANCELLED:
            one.cancelled_orders += 1
        else:
            one.backordered_units += int(waiting)
        if status == OrderStatus.SHIPPED and shipped_at is not None:
            one.hours.append((shipped_at - received).total_seconds() / 3600)
            if ship_by is not None:
                one.on_time.append(shipped_at <= ship_by)
    for channel_id, one in figures.items():
        _finish(one, channels[channel_id])
    return list(figures.values())


def _finish(one: ChannelFigures, channel: Channel) -> None:
    percent = one.revenue * Decimal(channel.fee_percent or 0) / 100
    one.fees = _money(percent + Decimal(channel.fee_fixed or 0) * one.shipped_orders)
    one.margin = one.revenue - one.fees - one.cost
    if one.shipped_units:
        one.return_rate = one.returned_units / one.shipped_units
    if one.hours:
        ordered = sorted(one.hours)
        one.order_to_ship_hours_median = statistics.median(ordered)
        one.order_to_ship_hours_p90 = nearest_rank(ordered, 0.9)
    if one.on_time:
        one.shipped_on_time_rate = sum(one.on_time) / len(one.on_time)
