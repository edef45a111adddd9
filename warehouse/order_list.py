"""The order list a channel platform pages through: filtered by channel, status and time of
last change, in id order, so that paging stays stable while orders change (an order moves
in no listing when it changes, and a new one is always added at the end)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from warehouse.channels import Served, get_channel
from warehouse.cursors import BadCursor, read_cursor, write_cursor
from warehouse.errors import InvalidInput
from warehouse.limits import check_date
from warehouse.models import Carton, Order, OrderLine, OrderStatus, Shipment

MAX_PAGE = 500
DEFAULT_PAGE = 100
CURSOR_KIND = "orders"


@dataclass(frozen=True)
class OrderPage:
    orders: list[Order]
    # None on the last page.
    next_cursor: str | None


def _statuses(statuses: Iterable[str]) -> list[OrderStatus]:
    try:
        return sorted({OrderStatus(status) for status in statuses})
    except ValueError:
        raise InvalidInput(
            f"status must be among {', '.join(OrderStatus)}", field="status"
        ) from None


def _filters_digest(
    channel_id: int | None, statuses: list[OrderStatus], since: datetime | None
) -> str:
    """What a cursor is bound to: the filters of the listing it pages through."""
    filters = "|".join(
        (str(channel_id or ""), ",".join(statuses), since.isoformat() if since else "")
    )
    return hashlib.sha256(filters.encode()).hexdigest()[:16]


def list_orders(
    session: Session,
    *,
    channel_code: str | None = None,
    statuses: Iterable[str] = (),
    updated_since: datetime | None = None,
    cursor: str | None = None,
    limit: int = DEFAULT_PAGE,
    served: Served = None,
) -> OrderPage:
    """A page of the orders matching the filters, in id order, after the cursor's place.

    `statuses`: any of them (none: every status); `updated_since`: changed at or after it;
    a caller serving some channels sees only their orders (another channel: NotFound).
    The cursor is bound to the filters it was made with: with others it is refused."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be from 1 to {MAX_PAGE}", field="limit")
    wanted = _statuses(statuses)
    since = None
    if updated_since is not None:
        if updated_since.tzinfo is None:
            raise InvalidInput("updated_since needs a UTC offset", field="updated_since")
        since = updated_since.astimezone(UTC)
        check_date(since.date(), "updated_since")
    channel_id = get_channel(session, channel_code, served).id if channel_code else None
    scope = _filters_digest(channel_id, wanted, since)
    after = 0
    if cursor is not None:
        place = read_cursor(cursor, CURSOR_KIND, "cursor")
        if place.scope != scope:
            raise BadCursor(
                "This cursor pages through a listing with other filters: send the same "
                "channel, status and updated_since with it, or leave it out to start again.",
                field="cursor",
            )
        after = place.position
    query = (
        select(Order)
        .where(Order.id > after)
        .order_by(Order.id)
        .limit(limit + 1)
        .options(
            selectinload(Order.channel),
            selectinload(Order.lines).selectinload(OrderLine.product),
            # A carrier's label is a whole document: not what a list shows.
            selectinload(Order.shipments)
            .selectinload(Shipment.cartons)
            .defer(Carton.carrier_label),
        )
    )
    if channel_id is not None:
        query = query.where(Order.channel_id == channel_id)
    if served is not None:
        query = query.where(Order.channel_id.in_(served))
    if wanted:
        query = query.where(Order.status.in_(wanted))
    if since is not None:
        query = query.where(Order.updated_at >= since)
    orders = list(session.scalars(query))
    if len(orders) <= limit:
        return OrderPage(orders, None)
    orders = orders[:limit]
    return OrderPage(orders, write_cursor(CURSOR_KIND, scope, orders[-1].id))
