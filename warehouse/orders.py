"""Channels and their orders: intake (API, webhook, CSV), cancel, and available-to-sell feeds.

Every way an order arrives ends in `take_order`, so the rules live in one place: an order
is stored with its lines and reserved in the same transaction, and the same order from
the same channel again (same external id, same content) is never stored or reserved twice.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from warehouse.errors import Conflict, InvalidInput, NotFound, UnknownSku, WarehouseError
from warehouse.models import Channel, Order, OrderLine, Product
from warehouse.reservations import fill_backorders, release_order, reserve_order

CHANNEL_CODE_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_")
# How far a webhook's timestamp may be from the warehouse's clock.
WEBHOOK_TOLERANCE_S = 300


@dataclass(frozen=True)
class ShipTo:
    name: str
    street1: str
    city: str
    postal_code: str
    country: str
    street2: str = ""
    region: str = ""


@dataclass(frozen=True)
class LineInput:
    sku: str
    qty: int
    unit_price: Decimal | None = None


@dataclass(frozen=True)
class OrderInput:
    """An order as a channel sends it, after its shape was checked."""

    external_id: str
    lines: tuple[LineInput, ...]
    ship_to: ShipTo
    ship_by: datetime | None = None

    def fingerprint(self) -> str:
        """Equal for two deliveries of the same order, whatever their key order or spacing."""
        canonical = json.dumps(asdict(self), sort_keys=True, default=str, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


class DuplicateExternalId(Conflict):
    code = "duplicate_external_id"


class WebhookRefused(WarehouseError):
    code = "bad_signature"
    status = 401


def _check_code(code: str) -> None:
    if not (1 <= len(code) <= 32) or not set(code) <= CHANNEL_CODE_CHARS:
        raise InvalidInput(
            "a channel code has 1 to 32 lower-case letters, digits, - or _", field="code"
        )


def put_channel(
    session: Session,
    code: str,
    name: str,
    priority: int = 100,
    buffer: int = 0,
    share: Decimal = Decimal(1),
) -> tuple[Channel, bool]:
    """Create or update a channel; a new one gets a webhook secret. Returns (channel, created)."""
    _check_code(code)
    if buffer < 0:
        raise InvalidInput("buffer must be 0 or more", field="buffer")
    if not Decimal(0) < share <= Decimal(1):
        raise InvalidInput("share must be more than 0 and at most 1", field="share")
    channel = session.scalar(select(Channel).where(Channel.code == code))
    created = channel is None
    if channel is None:
        channel = Channel(code=code, webhook_secret=new_webhook_secret())
        session.add(channel)
    channel.name, channel.priority, channel.buffer, channel.share = name, priority, buffer, share
    session.flush()
    return channel, created


def new_webhook_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def rotate_webhook_secret(session: Session, code: str) -> Channel:
    """Give a channel a new webhook secret; the old one stops working at once."""
    channel = get_channel(session, code)
    channel.webhook_secret = new_webhook_secret()
    session.flush()
    return channel


def get_channel(session: Session, code: str) -> Channel:
    """The channel with this code, or NotFound."""
    channel = session.scalar(select(Channel).where(Channel.code == code))
    if channel is None:
        raise NotFound(f"No channel has code {code!r}.", code="unknown_channel")
    return channel


def _products_for(session: Session, lines: tuple[LineInput, ...]) -> dict[str, int]:
    seen: set[str] = set()
    for index, line in enumerate(lines):
        if isinstance(line.qty, bool) or not isinstance(line.qty, int) or line.qty < 1:
            raise InvalidInput("qty must be a whole number, 1 or more", field=f"lines[{index}].qty")
        if line.sku in seen:
            # Refused rather than merged: two lines for one SKU usually mean a channel bug,
            # and their prices may differ.
            raise InvalidInput(
                f"SKU {line.sku} is on more than one line; send one line per SKU",
                field=f"lines[{index}].sku",
                code="duplicate_line",
            )
        seen.add(line.sku)
    if not lines:
        raise InvalidInput("an order needs at least one line", field="lines")
    ids = dict(
        session.execute(select(Product.sku, Product.id).where(Product.sku.in_(seen))).tuples()
    )
    for index, line in enumerate(lines):
        if line.sku not in ids:
            raise UnknownSku(line.sku, field=f"lines[{index}].sku")
    return ids


def _existing(session: Session, channel: Channel, order: OrderInput) -> Order | None:
    found = session.scalar(
        select(Order)
        .where(Order.channel_id == channel.id, Order.external_id == order.external_id)
        .options(selectinload(Order.lines).selectinload(OrderLine.product))
    )
    if found is not None and found.fingerprint != order.fingerprint():
        raise DuplicateExternalId(
            f"Order {order.external_id} of channel {channel.code} was received before "
            "with other content.",
            field="external_id",
        )
    return found


def take_order(session: Session, channel_code: str, order: OrderInput) -> tuple[Order, bool]:
    """Store and reserve a channel order; the same order again returns the stored one.

    Returns (order, created). Concurrent deliveries of one order meet at the unique
    (channel, external id) index: the loser's insert waits for the winner and then fails,
    and it answers with the winner's order.
    """
    channel = get_channel(session, channel_code)
    found = _existing(session, channel, order)
    if found is not None:
        return found, False
    product_ids = _products_for(session, order.lines)
    ship = order.ship_to
    row = Order(
        channel_id=channel.id,
        external_id=order.external_id,
        status="backordered",
        fingerprint=order.fingerprint(),
        ship_name=ship.name,
        ship_street1=ship.street1,
        ship_street2=ship.street2,
        ship_city=ship.city,
        ship_region=ship.region,
        ship_postal_code=ship.postal_code,
        ship_country=ship.country,
        ship_by=order.ship_by,
        lines=[
            OrderLine(product_id=product_ids[line.sku], qty=line.qty, unit_price=line.unit_price)
            for line in order.lines
        ],
    )
    row.channel = channel
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        found = _existing(session, channel, order)
        if found is None:
            raise
        return found, False
    reserve_order(session, row)
    session.flush()
    return row, True


def get_order(session: Session, order_id: int) -> Order:
    """The order with its lines, or NotFound."""
    order = session.scalar(
        select(Order)
        .where(Order.id == order_id)
        .options(
            selectinload(Order.lines).selectinload(OrderLine.product), selectinload(Order.channel)
        )
    )
    if order is None:
        raise NotFound(f"No order has id {order_id}.", code="unknown_order")
    return order


def cancel_order(session: Session, order_id: int) -> Order:
    """Cancel an order and give its units back; waiting backorders get them at once."""
    order = get_order(session, order_id)
    if order.status == "shipped":
        raise Conflict(
            f"Order {order.id} has shipped and can no longer be cancelled.", code="already_shipped"
        )
    if order.status == "cancelled":
        return order
    freed = release_order(session, order)
    order.status = "cancelled"
    fill_backorders(session, freed)
    session.flush()
    return order


def available_to_sell(session: Session, channel_code: str) -> Iterator[tuple[str, int]]:
    """(sku, units) for every product: max(0, floor((on hand - reserved) * share) - buffer)."""
    channel = get_channel(session, channel_code)
    share, buffer = Decimal(channel.share), channel.buffer
    rows = session.execute(
        select(Product.sku, Product.on_hand, Product.reserved).order_by(Product.sku)
    ).yield_per(1000)
    for sku, on_hand, reserved in rows:
        shared = (Decimal(on_hand - reserved) * share).to_integral_value(ROUND_FLOOR)
        yield sku, max(0, int(shared) - buffer)


def webhook_signature(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header value for a delivery: sha256=HMAC-SHA256(secret, timestamp + "." + body)."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def verify_webhook(
    session: Session, channel_code: str, timestamp: str, signature: str, body: bytes, now: float
) -> None:
    """Refuse a delivery whose signature is wrong or whose timestamp is more than 5 minutes off."""
    channel = get_channel(session, channel_code)
    try:
        sent = int(timestamp)
    except ValueError:
        raise WebhookRefused(
            "The timestamp header is missing or not a number of seconds."
        ) from None
    expected = webhook_signature(channel.webhook_secret, timestamp, body)
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        raise WebhookRefused("The signature does not match this body and timestamp.")
    if abs(now - sent) > WEBHOOK_TOLERANCE_S:
        raise WebhookRefused(
            "The timestamp is more than 5 minutes from the warehouse's clock.",
            code="stale_signature",
        )
