"""The outbox: what each channel must hear of, written as events in the transaction of the
change itself, so an event exists exactly when its change does.

Order events come from one comparison, made as the transaction commits: each order changed
in it (any flushed change to the order or its lines, or `touch_orders`) is compared with
what its channel was last told (status, units waiting, units shipped), and the difference is
told: accepted, backordered, filled, partially shipped, shipped, cancelled. No domain
function has to remember to tell; a change that alters nothing a channel sees tells nothing.

Stock events work the same way per product (`touch_products`, called wherever units on
hand, unsellable or reserved change): each channel's available-to-sell is compared with the
figure it was last told, and a difference becomes one `inventory.changed`. A burst of
changes to one SKU leaves one undelivered event with the latest figure: the one before it,
while still waiting, is replaced.

Readers follow `seq`, given after commit under one lock (`sequence`), so that an event
committed late is never placed behind a cursor already handed out.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import (
    Integer,
    bindparam,
    case,
    cast,
    delete,
    event,
    func,
    inspect,
    or_,
    select,
    update,
)
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, selectinload, sessionmaker
from sqlalchemy.orm.session import SessionTransaction
from sqlalchemy.orm.state import InstanceState

from warehouse.db import insert_or_skip, upsert, writing
from warehouse.documents import order_document
from warehouse.models import (
    Channel,
    ChannelEvent,
    ChannelFeed,
    Counter,
    EventStatus,
    Order,
    OrderLine,
    OrderStatus,
    Product,
    Shipment,
    utcnow,
)

ORDERS, PRODUCTS = "outbox.orders", "outbox.products"
# Undelivered events a newer figure for the same SKU takes the place of.
REPLACEABLE = (EventStatus.PENDING, EventStatus.PULL)
# PostgreSQL's answer when a lock_timeout runs out.
LOCK_NOT_AVAILABLE = "55P03"
# Products compared per statement (a channel's share changed compares them all).
STOCK_BATCH = 500
# Events given positions per pass.
SEQUENCE_BATCH = 5000


def touch_orders(session: Session, order_ids: Iterable[int]) -> None:
    """Orders changed by a statement the ORM does not see (a bulk UPDATE)."""
    session.info.setdefault(ORDERS, set()).update(order_ids)


def touch_products(session: Session, product_ids: Iterable[int]) -> None:
    """Products whose units on hand, unsellable or reserved changed in this transaction."""
    session.info.setdefault(PRODUCTS, set()).update(product_ids)


def new_event_id() -> str:
    return "evt_" + uuid.uuid4().hex


def _status_for(channel: Channel) -> EventStatus:
    return EventStatus.PENDING if channel.events_url else EventStatus.PULL


def add_event(
    session: Session,
    channel: Channel,
    type: str,
    data: dict[str, Any],
    *,
    order_id: int | None = None,
    product_id: int | None = None,
) -> ChannelEvent:
    """Write one event for a channel, in the caller's transaction."""
    row = ChannelEvent(
        event_id=new_event_id(), channel_id=channel.id, type=type, data=data,
        order_id=order_id, product_id=product_id, status=_status_for(channel),
        attempts=0, next_try_at=utcnow(), last_error="", created_at=utcnow(),
    )  # fmt: skip
    session.add(row)
    return row


def order_event_types(order: Order, waiting: int, shipped: int) -> list[str]:
    """What the channel must be told of an order, from what it was told last."""
    was = order.told_status
    if was is None:
        return ["order.accepted"]
    if order.status == OrderStatus.CANCELLED:
        return [] if was == OrderStatus.CANCELLED else ["order.cancelled"]
    if order.status == OrderStatus.SHIPPED:
        return [] if was == OrderStatus.SHIPPED else ["order.shipped"]
    types = []
    if shipped > order.told_shipped:
        types.append("order.partially_shipped")
    if waiting > order.told_waiting:
        types.append("order.backordered")
    elif waiting < order.told_waiting:
        types.append("order.filled")
    return types


def told(order: Order) -> dict[str, Any]:
    """What a channel hears of an order, so that it is told again only what changes: its
    status, units waiting and units shipped (the order's told_* columns once told)."""
    return {
        "told_status": order.status,
        "told_waiting": sum(line.waiting for line in order.lines),
        "told_shipped": sum(line.shipped for line in order.lines),
    }


def tell_order(session: Session, order: Order) -> None:
    """Tell the order's channel what changed since it was last told, and note it as told."""
    now = told(order)
    types = order_event_types(order, now["told_waiting"], now["told_shipped"])
    if types:
        document = order_document(order)
        for type in types:
            add_event(session, order.channel, type, document, order_id=order.id)
    for column, value in now.items():
        setattr(order, column, value)


def _tell_orders(session: Session, order_ids: set[int]) -> None:
    orders = session.scalars(
        select(Order)
        .where(Order.id.in_(order_ids))
        .order_by(Order.id)
        .options(
            selectinload(Order.lines).selectinload(OrderLine.product),
            selectinload(Order.channel),
            selectinload(Order.shipments).selectinload(Shipment.cartons),
        )
        .execution_options(populate_existing=True)
    )
    for order in orders:
        tell_order(session, order)


def _tell_stock(session: Session, product_ids: set[int]) -> None:
    channels = list(session.scalars(select(Channel).order_by(Channel.id)))
    if not channels:
        return
    # Each product's figures with what every channel was told of it, and whether that
    # figure still waits to be told, in one statement (a channel told nothing yet of a
    # product has no feed row, and so no event of it waiting).
    waiting = (
        select(ChannelEvent.id)
        .where(
            ChannelEvent.channel_id == ChannelFeed.channel_id,
            ChannelEvent.product_id == Product.id,
            ChannelEvent.status.in_(REPLACEABLE),
        )
        .exists()
    )
    rows = session.execute(
        select(
            Product.id, Product.sku, Product.on_hand - Product.unsellable - Product.reserved,
            ChannelFeed.channel_id, ChannelFeed.available, waiting,
        )
        .outerjoin(ChannelFeed, ChannelFeed.product_id == Product.id)
        .where(Product.id.in_(product_ids))
        .order_by(Product.id)
    ).all()  # fmt: skip
    figures = {row[0]: (row[1], row[2]) for row in rows}
    told = {(channel_id, product_id): told for product_id, _, _, channel_id, told, _ in rows}
    unsent = {(row[3], row[0]) for row in rows if row[5]}
    changed: list[tuple[Channel, int, str, int]] = []
    for product_id, (sku, free) in figures.items():
        for channel in channels:
            available = channel.may_sell(free)
            if told.get((channel.id, product_id)) != available:
                changed.append((channel, product_id, sku, available))
    if not changed:
        return
    connection = session.connection()
    replaced = [
        {"c": channel.id, "p": product_id}
        for channel, product_id, _, _ in changed
        if (channel.id, product_id) in unsent
    ]
    if replaced:
        # The waiting figure of each (channel, SKU) gives way to the newer one.
        connection.execute(
            delete(ChannelEvent).where(
                ChannelEvent.channel_id == bindparam("c"),
                ChannelEvent.product_id == bindparam("p"),
                # Spelled out: an IN list cannot be expanded in an executemany.
                or_(*(ChannelEvent.status == status for status in REPLACEABLE)),
            ),
            replaced,
        )
    feed = [
        {"channel_id": channel.id, "product_id": product_id, "available": available}
        for channel, product_id, _, available in changed
    ]
    connection.execute(
        upsert(session, ChannelFeed, ["channel_id", "product_id"], ["available"]), feed
    )
    for channel, product_id, sku, available in changed:
        data = {"sku": sku, "available": available}
        add_event(session, channel, "inventory.changed", data, product_id=product_id)


def tell(session: Session) -> None:
    """Write the events of everything this transaction changed (run as it commits)."""
    orders: set[int] = session.info.pop(ORDERS, set())
    products: set[int] = session.info.pop(PRODUCTS, set())
    # The events are written together at the end, in one statement where the database can.
    with session.no_autoflush:
        if orders:
            _tell_orders(session, orders)
        ordered = sorted(products)
        for start in range(0, len(ordered), STOCK_BATCH):
            _tell_stock(session, set(ordered[start : start + STOCK_BATCH]))
    if orders or products:
        session.flush()


@event.listens_for(Session, "before_flush")
def _stamp(session: Session, _context: Any, _instances: Any) -> None:
    # An order changes when it or one of its lines does; new ones carry their own time.
    now = utcnow()
    for obj in session.dirty:
        if isinstance(obj, Order | OrderLine) and _changed(obj):
            (obj if isinstance(obj, Order) else obj.order).updated_at = now


# What the outbox itself keeps on an order: writing it is not a change of the order.
BOOKKEEPING = frozenset({"updated_at", "told_status", "told_waiting", "told_shipped"})


def _changed(obj: Order | OrderLine) -> bool:
    state: InstanceState[Any] = inspect(obj)
    return any(attr.history.has_changes() for attr in state.attrs if attr.key not in BOOKKEEPING)


@event.listens_for(Session, "after_flush")
def _collect(session: Session, _context: Any) -> None:
    # Still the flush's own lists here, with the ids of new rows given.
    changed = {
        obj.id if isinstance(obj, Order) else obj.order_id
        for obj in (*session.new, *(o for o in session.dirty if isinstance(o, Order | OrderLine)))
        if isinstance(obj, Order | OrderLine) and (obj in session.new or _changed(obj))
    }
    if changed:
        touch_orders(session, changed)


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    # A savepoint's release is not the commit: its changes are told with the transaction's.
    if session.in_nested_transaction():
        return
    # The last changes are flushed (and collected) first: commit would flush them after.
    session.flush()
    if session.info.get(ORDERS) or session.info.get(PRODUCTS):
        tell(session)


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction: SessionTransaction) -> None:
    # Rolled back, the changes never happened: nothing of them is told.
    if transaction.parent is None:
        session.info.pop(ORDERS, None)
        session.info.pop(PRODUCTS, None)


def give_way(session: Session) -> None:
    """On PostgreSQL, wait briefly for a row a committing order holds (replacing its SKU's
    waiting event): waiting for each other, the two would deadlock. This transaction gives
    way, and is made again later."""
    if session.get_bind().dialect.name == "postgresql":
        session.connection().exec_driver_sql("SET LOCAL lock_timeout = '200ms'")


def place(factory: sessionmaker[Session]) -> int:
    """Give waiting events their places in a short transaction of their own (`sequence`);
    0 when it gave way to a committing order: they are placed by the next pass or read."""
    try:
        with writing(factory) as session:
            give_way(session)
            return sequence(session)
    except OperationalError as error:
        if gave_way(error):
            return 0
        raise


def gave_way(error: BaseException) -> bool:
    """Whether a transaction failed because it gave way (`give_way`)."""
    return getattr(getattr(error, "orig", None), "sqlstate", None) == LOCK_NOT_AVAILABLE


def sequence(session: Session) -> int:
    """Give the committed events still without a position their places, in the order they
    were written; under the counter row's lock, so positions are handed out one pass at a
    time. Returns how many got one."""
    ids = list(
        session.scalars(
            select(ChannelEvent.id)
            .where(ChannelEvent.seq.is_(None))
            .order_by(ChannelEvent.id)
            .limit(SEQUENCE_BATCH)
        )
    )
    if not ids:
        return 0
    session.execute(insert_or_skip(session, Counter, ["name"]), {"name": "event_seq", "value": 0})
    last = session.execute(
        update(Counter)
        .where(Counter.name == "event_seq")
        .values(value=Counter.value + len(ids))
        .returning(Counter.value)
    ).scalar_one()
    # Read again under the lock: another pass may have placed some meanwhile.
    ids = list(
        session.scalars(
            select(ChannelEvent.id)
            .where(ChannelEvent.id.in_(ids), ChannelEvent.seq.is_(None))
            .order_by(ChannelEvent.id)
        )
    )
    first = last - len(ids) + 1
    if ids:
        session.connection().execute(
            update(ChannelEvent)
            .where(ChannelEvent.id == bindparam("i"))
            .values(seq=bindparam("s")),
            [{"i": event_id, "s": first + n} for n, event_id in enumerate(ids)],
        )
    return len(ids)


def event_json(row: ChannelEvent, channel_code: str) -> dict[str, Any]:
    """The event as a channel sees it, pushed or pulled: {"id", "type", "created_at",
    "channel", "data"}."""
    return {
        "id": row.event_id,
        "type": row.type,
        "created_at": row.created_at.isoformat(),
        "channel": channel_code,
        "data": row.data,
    }


def untold(session: Session) -> list[str]:
    """Changes no event told, one sentence each: an order whose channel was last told another
    status or other units, a channel last told another figure for a SKU than it may sell.
    Compared in SQL, so a check after every step of a long test stays cheap."""
    units = (
        select(
            OrderLine.order_id,
            func.sum(
                case(
                    (OrderLine.backordered, OrderLine.qty - OrderLine.shipped - OrderLine.reserved),
                    else_=0,
                )
            ).label("waiting"),
            func.sum(OrderLine.shipped).label("shipped"),
        )
        .group_by(OrderLine.order_id)
        .subquery()
    )
    problems = [
        f"order {order_id} of {code} is {status} with {waiting} waiting and {shipped} shipped, "
        f"but its channel was told {told_status}, {told_waiting} and {told_shipped}"
        for order_id, code, status, waiting, shipped, told_status, told_waiting, told_shipped
        in session.execute(
            select(Order.id, Channel.code, Order.status, units.c.waiting, units.c.shipped,
                   Order.told_status, Order.told_waiting, Order.told_shipped)
            .join(units, units.c.order_id == Order.id)
            .join(Channel, Channel.id == Order.channel_id)
            .where(
                Order.told_status.is_not(None),
                or_(Order.status != Order.told_status, units.c.waiting != Order.told_waiting,
                    units.c.shipped != Order.told_shipped),
            )
            .order_by(Order.id)
        )
    ]  # fmt: skip
    # Channel.may_sell in whole numbers: floor(free x share) with share in ten-thousandths.
    free = Product.on_hand - Product.unsellable - Product.reserved
    shared = free * cast(func.round(Channel.share * 10000), Integer) // 10000 - Channel.buffer
    may_sell = case((shared > 0, shared), else_=0)
    for code, sku, told_units, figure in session.execute(
        select(Channel.code, Product.sku, ChannelFeed.available, may_sell)
        .join(ChannelFeed, ChannelFeed.channel_id == Channel.id)
        .join(Product, Product.id == ChannelFeed.product_id)
        .where(ChannelFeed.available != may_sell)
        .order_by(Channel.code, Product.sku)
    ):
        problems.append(f"{code} may sell {figure} of {sku} but was last told {told_units}")
    return problems
