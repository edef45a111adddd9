"""Channel orders: intake (API, webhook, CSV), lookup, cancel.

Every way an order arrives ends in `take_orders`, so the rules live in one place: an order
is stored with its lines and reserved in the same transaction, and the same order from
the same channel again (same external id, same content) is never stored or reserved twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session, selectinload

from warehouse.channels import Served, serves
from warehouse.db import insert_or_skip, rows_changed
from warehouse.errors import Conflict, InvalidInput, NotFound, UnknownSku, WarehouseError
from warehouse.limits import DEFAULT_MAX_LINES, MAX_UNITS, check_id
from warehouse.models import Channel, Order, OrderLine, OrderStatus, utcnow
from warehouse.order_input import LineInput, OrderInput
from warehouse.outbox import tell_order, told, touch_orders
from warehouse.reservations import (
    Figures,
    fill_backorders,
    lock_products,
    plan_lines,
    release_order,
    reserving_status,
    store_reserved,
)


class DuplicateExternalId(Conflict):
    code = "duplicate_external_id"


def _check_lines(lines: tuple[LineInput, ...], max_lines: int) -> None:
    if not lines:
        raise InvalidInput("an order needs at least one line", field="lines")
    if len(lines) > max_lines:
        raise InvalidInput(
            f"An order has {max_lines} lines at most; send it as several orders.",
            field="lines",
            code="too_many_lines",
        )
    seen: set[str] = set()
    for index, line in enumerate(lines):
        if isinstance(line.qty, bool) or not isinstance(line.qty, int):
            raise InvalidInput("qty must be a whole number", field=f"lines[{index}].qty")
        if not 1 <= line.qty <= MAX_UNITS:
            raise InvalidInput(f"qty must be from 1 to {MAX_UNITS}", field=f"lines[{index}].qty")
        if line.sku in seen:
            # Refused rather than merged: two lines for one SKU usually mean a channel bug,
            # and their prices may differ.
            raise InvalidInput(
                f"SKU {line.sku} is on more than one line; send one line per SKU",
                field=f"lines[{index}].sku",
                code="duplicate_line",
            )
        seen.add(line.sku)


@dataclass
class _Planned:
    """A new order of a batch, as it will be written: its row and its lines' rows, and the
    same as objects outside the session, to tell and to answer with without reading back."""

    row: dict[str, Any]
    lines: list[dict[str, Any]]
    order: Order


@dataclass
class Taken:
    """The outcome of one order of a batch: stored now, or found stored before."""

    order_id: int
    created: bool
    # What was written, when the order was created now.
    planned: _Planned | None = None


def _plan(
    channel: Channel,
    order: OrderInput,
    fingerprint: str,
    figures: dict[str, Figures],
    by_id: dict[int, Figures],
) -> _Planned:
    """Decide what each line holds and the order's status, from the locked figures."""
    wanted = [(figures[line.sku].product.id, line.qty) for line in order.lines]
    grants = plan_lines(wanted, by_id)
    ship, now = order.ship_to, utcnow()
    row = {
        "channel_id": channel.id,
        "external_id": order.external_id,
        "status": reserving_status(zip((qty for _, qty in wanted), grants, strict=True)),
        "fingerprint": fingerprint,
        "ship_name": ship.name,
        "ship_street1": ship.street1,
        "ship_street2": ship.street2,
        "ship_city": ship.city,
        "ship_region": ship.region,
        "ship_postal_code": ship.postal_code,
        "ship_country": ship.country,
        "ship_by": order.ship_by or _handled_by(channel, now),
        "created_at": now,
        "updated_at": now,
    }
    lines = [
        {"product_id": product_id, "qty": qty, "unit_price": line.unit_price,
         "reserved": grant, "shipped": 0, "backordered": grant < qty}
        for (product_id, qty), line, grant in zip(wanted, order.lines, grants, strict=True)
    ]  # fmt: skip
    written = Order(**row)
    written.channel = channel
    written.lines = [
        OrderLine(**line, product=by_id[product_id].product)
        for line, (product_id, _) in zip(lines, wanted, strict=True)
    ]
    # Told in this transaction, once written (outbox.tell_order): the row says so itself.
    row.update(told(written))
    return _Planned(row, lines, written)


def _handled_by(channel: Channel, received: datetime) -> datetime | None:
    """When an order the channel sent no ship-by for must ship: its handling time after it
    was received, if the channel has one."""
    if channel.handling_hours is None:
        return None
    return received + timedelta(hours=channel.handling_hours)


def _insert_orders(session: Session, rows: list[dict[str, Any]]) -> dict[str, int]:
    """INSERT the order rows whose (channel, external id) is free; external id -> new id."""
    statement = insert_or_skip(session, Order, ["channel_id", "external_id"]).returning(
        Order.id, Order.external_id
    )
    # In external id order, so that two batches that share orders wait on each other in
    # the same order and cannot deadlock.
    rows = sorted(rows, key=lambda row: row["external_id"])
    result = session.connection().execute(statement, rows)
    return {external_id: order_id for order_id, external_id in result}


def take_orders(
    session: Session,
    channel_code: str,
    inputs: Sequence[OrderInput],
    max_lines: int = DEFAULT_MAX_LINES,
    served: Served = None,
) -> list[Taken | WarehouseError]:
    """Store and reserve a batch of one channel's orders; for each, what became of it.

    Each item is a Taken, or the error that refused that order, which left no trace.
    The same order again (same external id and content) is Taken as stored before.
    The products are locked first (in id order) and every line's reservation is decided
    from their figures, so each order is written once, already reserved, with a few
    statements for the whole batch rather than the ORM's unit of work per order.
    Concurrent deliveries of one order meet at the unique (channel, external id) index:
    the later insert waits for the first to commit and then does nothing, and that
    delivery is answered with the first one's order.
    """
    prints = [order.fingerprint() for order in inputs]
    channel, stored = _channel_with_orders(
        session, channel_code, {order.external_id for order in inputs}, served
    )
    outcome: list[Taken | WarehouseError | None] = [None] * len(inputs)
    fresh: dict[str, int] = {}  # external id -> index of the batch's first delivery of it
    for index, (order, fingerprint) in enumerate(zip(inputs, prints, strict=True)):
        earlier = stored.get(order.external_id)
        if earlier is None and order.external_id in fresh:
            earlier = (-1, prints[fresh[order.external_id]])
        if earlier is not None:
            outcome[index] = (
                Taken(earlier[0], False)
                if earlier[1] == fingerprint
                else DuplicateExternalId(
                    f"Order {order.external_id} of channel {channel.code} was received "
                    "before with other content.",
                    field="external_id",
                )
            )
            continue
        try:
            _check_lines(order.lines, max_lines)
        except WarehouseError as error:
            outcome[index] = error
            continue
        fresh[order.external_id] = index
    figures = {
        units.product.sku: units
        for units in lock_products(
            session, skus={line.sku for i in fresh.values() for line in inputs[i].lines}
        ).values()
    }
    by_id = {units.product.id: units for units in figures.values()}
    planned: dict[int, _Planned] = {}
    for index in fresh.values():
        order = inputs[index]
        unknown = next((i for i, line in enumerate(order.lines) if line.sku not in figures), None)
        if unknown is not None:
            outcome[index] = UnknownSku(order.lines[unknown].sku, field=f"lines[{unknown}].sku")
            continue
        planned[index] = _plan(channel, order, prints[index], figures, by_id)
    written = _insert_orders(session, [plan.row for plan in planned.values()]) if planned else {}
    totals: dict[int, int] = {}
    lines: list[dict[str, Any]] = []
    for index, plan in planned.items():
        order_id = written.get(plan.row["external_id"])
        if order_id is None:
            # Another delivery of this order was stored since we looked; its units go
            # back to whoever waits for them below.
            continue
        outcome[index] = Taken(order_id, True, plan)
        for line in plan.lines:
            line["order_id"] = order_id
            totals[line["product_id"]] = totals.get(line["product_id"], 0) + line["reserved"]
        lines.extend(plan.lines)
    if lines:
        session.connection().execute(insert(OrderLine), lines)
        for item in outcome:
            if isinstance(item, Taken) and item.planned:
                item.planned.order.id = item.order_id
                tell_order(session, item.planned.order)
    store_reserved(session, totals)
    late = [i for i, item in enumerate(outcome) if item is None]
    if late:
        fill_backorders(session, {line["product_id"] for i in late for line in planned[i].lines})
        _, stored = _channel_with_orders(
            session, channel_code, {inputs[i].external_id for i in late}, served
        )
        for i in late:
            found = stored.get(inputs[i].external_id)
            outcome[i] = (
                Taken(found[0], False)
                if found and found[1] == prints[i]
                else Conflict("The same order arrived twice at once with other content; try again.")
            )
    # Deliveries repeated within the batch (order_id -1 so far) point at the order their
    # first delivery made.
    for index, item in enumerate(outcome):
        if isinstance(item, Taken) and item.order_id == -1:
            first = outcome[fresh[inputs[index].external_id]]
            outcome[index] = Taken(first.order_id, False) if isinstance(first, Taken) else first
    assert None not in outcome
    return cast(list[Taken | WarehouseError], outcome)


def _channel_with_orders(
    session: Session, channel_code: str, external_ids: set[str], served: Served
) -> tuple[Channel, dict[str, tuple[int, str]]]:
    """The channel, and external id -> (id, fingerprint) of its stored orders among these
    (one query)."""
    rows = session.execute(
        select(Channel, Order.external_id, Order.id, Order.fingerprint)
        .outerjoin(Order, (Order.channel_id == Channel.id) & Order.external_id.in_(external_ids))
        .where(Channel.code == channel_code)
    ).all()
    if not rows or not serves(served, rows[0].Channel.id):
        raise NotFound(f"No channel has code {channel_code!r}.", code="unknown_channel")
    stored = {row.external_id: (row.id, row.fingerprint) for row in rows if row.id is not None}
    return rows[0].Channel, stored


def take_order(
    session: Session,
    channel_code: str,
    order: OrderInput,
    max_lines: int = DEFAULT_MAX_LINES,
    served: Served = None,
) -> tuple[Order, bool]:
    """Store and reserve one channel order (see take_orders); returns (order, created)."""
    (taken,) = take_orders(session, channel_code, [order], max_lines, served)
    if isinstance(taken, WarehouseError):
        raise taken
    if taken.planned is None:
        return get_order(session, taken.order_id), False
    # Answer with what was written, without reading it back.
    return taken.planned.order, True


def find_order(session: Session, order_id: int, *, lock: bool = False) -> Order | None:
    """The order with this id, read afresh with its lines and their products; None when
    there is none. With `lock`, its row is held for this transaction (FOR UPDATE)."""
    if not check_id(order_id):
        return None
    # The channel is left to its lazy load, which finds it in the session without a query
    # once any order of it was read.
    query = (
        select(Order)
        .where(Order.id == order_id)
        .options(selectinload(Order.lines).joinedload(OrderLine.product))
        .execution_options(populate_existing=True)
    )
    return session.scalars(query.with_for_update() if lock else query).first()


def move_on(session: Session, order_id: int, was: OrderStatus, becomes: OrderStatus) -> bool:
    """Move an order from one status to the next by a conditional UPDATE, never reading it
    to write it back; False when it was not in `was` (another request got there first)."""
    changed = rows_changed(
        session,
        update(Order)
        .where(Order.id == order_id, Order.status == was)
        .values(status=becomes, updated_at=utcnow()),
    )
    touch_orders(session, [order_id])
    return changed == 1


def ledger_reference(order_id: int) -> str:
    """The reference of the ledger movements that ship an order's units and return them."""
    return f"order {order_id}"


def get_order(session: Session, order_id: int, served: Served = None) -> Order:
    """The order with this id (see find_order), or NotFound (also for an order of a channel
    the caller does not serve)."""
    order = find_order(session, order_id)
    if order is None or not serves(served, order.channel_id):
        raise NotFound(f"No order has id {order_id}.", code="unknown_order")
    return order


def cancel_order(session: Session, order_id: int, served: Served = None) -> Order:
    """Cancel an order and give its units back; waiting backorders get them at once."""
    order = get_order(session, order_id, served)
    if order.status == OrderStatus.SHIPPED:
        raise Conflict(
            f"Order {order.id} has shipped and can no longer be cancelled.", code="already_shipped"
        )
    if order.status == OrderStatus.CANCELLED:
        return order
    freed = release_order(session, order)
    order.status = OrderStatus.CANCELLED
    fill_backorders(session, freed)
    session.flush()
    return order


def find_orders(
    session: Session,
    channel_code: str | None = None,
    status: OrderStatus | None = None,
    external_id: str | None = None,
    limit: int = 100,
) -> list[Order]:
    """The newest orders matching the filters; external_id matches from its start."""
    query = (
        select(Order)
        .join(Order.channel)
        .options(selectinload(Order.lines), selectinload(Order.channel))
        .order_by(Order.id.desc())
        .limit(limit)
    )
    if channel_code:
        query = query.where(Channel.code == channel_code)
    if status:
        query = query.where(Order.status == status)
    if external_id:
        escaped = external_id.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(Order.external_id.like(escaped + "%", escape="\\"))
    return list(session.scalars(query))
