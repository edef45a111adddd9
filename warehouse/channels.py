"""Sales channels: their settings (priority, buffer, share), the secret that signs their order
webhooks, and what each may still sell (its available-to-sell feed)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterator
from decimal import ROUND_FLOOR, Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from warehouse.errors import InvalidInput, NotFound, WarehouseError
from warehouse.limits import MAX_PRIORITY, MAX_UNITS
from warehouse.models import Channel, Product

CHANNEL_CODE_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_")


# How far a webhook's timestamp may be from the warehouse's clock.
WEBHOOK_TOLERANCE_S = 300


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
    ship_partial: bool = False,
) -> tuple[Channel, bool]:
    """Create or update a channel; a new one gets a webhook secret. Returns (channel, created)."""
    _check_code(code)
    if not 0 <= buffer <= MAX_UNITS:
        raise InvalidInput(f"buffer must be from 0 to {MAX_UNITS} units", field="buffer")
    if not 0 <= priority <= MAX_PRIORITY:
        raise InvalidInput(f"priority must be from 0 to {MAX_PRIORITY}", field="priority")
    if not Decimal(0) < share <= Decimal(1):
        raise InvalidInput("share must be more than 0 and at most 1", field="share")
    channel = session.scalar(select(Channel).where(Channel.code == code))
    created = channel is None
    if channel is None:
        channel = Channel(code=code, webhook_secret=new_webhook_secret())
        session.add(channel)
    channel.name, channel.priority, channel.buffer, channel.share = name, priority, buffer, share
    channel.ship_partial = ship_partial
    session.flush()
    return channel, created


def new_webhook_secret() -> str:
    """Standard Webhooks' form: "whsec_" and the standard base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def rotate_webhook_secret(session: Session, code: str) -> Channel:
    """Give a channel a new webhook secret; the old one stops working at once."""
    channel = get_channel(session, code)
    channel.webhook_secret = new_webhook_secret()
    session.flush()
    return channel


# The channels a caller serves: an integration token's own, or None for every channel.
Served = frozenset[int] | None


def serves(served: Served, channel_id: int) -> bool:
    """Whether a caller serving these channels may see and change this channel's things.
    Anything of another channel is answered as if it did not exist."""
    return served is None or channel_id in served


def get_channel(session: Session, code: str, served: Served = None) -> Channel:
    """The channel with this code, or NotFound (also for a channel the caller does not serve)."""
    channel = session.scalar(select(Channel).where(Channel.code == code))
    if channel is None or not serves(served, channel.id):
        raise NotFound(f"No channel has code {code!r}.", code="unknown_channel")
    return channel


def list_channels(session: Session) -> list[Channel]:
    """Every channel, served-first first."""
    return list(session.scalars(select(Channel).order_by(Channel.priority, Channel.code)))


def channel_available(channel: Channel, available: int) -> int:
    """What a channel may sell of a product with `available` units free to sell:
    max(0, floor(available * share) - buffer)."""
    shared = (Decimal(available) * Decimal(channel.share)).to_integral_value(ROUND_FLOOR)
    return max(0, int(shared) - channel.buffer)


def available_to_sell(
    session: Session, channel_code: str, served: Served = None
) -> Iterator[tuple[str, int]]:
    """(sku, units) for every product: what the channel may sell of its units on hand that
    are neither unsellable nor reserved (`channel_available`)."""
    channel = get_channel(session, channel_code, served)
    rows = session.execute(
        select(Product.sku, Product.on_hand - Product.unsellable - Product.reserved).order_by(
            Product.sku
        )
    ).yield_per(1000)
    for sku, available in rows:
        yield sku, channel_available(channel, available)


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
