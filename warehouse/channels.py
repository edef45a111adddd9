"""Sales channels: their settings (priority, buffer, share, partial shipping, handling time,
fees, events URL), the secret that signs their order webhooks and our events to them, and
what each may still sell (its available-to-sell feed)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from ipaddress import IPv4Address, IPv6Address, ip_address
from urllib.parse import urlsplit

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from warehouse import outbox
from warehouse.errors import InvalidInput, NotFound, WarehouseError
from warehouse.limits import (
    MAX_FEE_FIXED,
    MAX_FEE_PERCENT,
    MAX_HANDLING_HOURS,
    MAX_PRIORITY,
    MAX_UNITS,
    MAX_URL,
    has_cents,
)
from warehouse.models import Channel, ChannelEvent, EventStatus, Product

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


@dataclass(frozen=True)
class ServiceAddress:
    """Where this service answers, so that a channel's events are never sent back to it:
    the host and port a request reached it at (None where its Host header named none that
    can be read), and the port it serves on (config.toml's server.port)."""

    host: str | None
    port: int | None
    server_port: int


class SettingsRefused(InvalidInput):
    """Channel settings with one or more fields out of range: `problems` says what is wrong
    with each (the error's own field, code and message are the first's)."""

    def __init__(self, problems: list[InvalidInput]):
        first = problems[0]
        super().__init__(first.message, field=first.field, code=first.code)
        self.problems = problems


def check_settings(
    name: str,
    priority: int = 100,
    buffer: int = 0,
    share: Decimal = Decimal(1),
    handling_hours: int | None = None,
    fee_percent: Decimal = Decimal(0),
    fee_fixed: Decimal = Decimal(0),
    events_url: str | None = None,
    home: ServiceAddress | None = None,
) -> list[InvalidInput]:
    """What is wrong with a channel's settings, field by field (nothing: an empty list)."""
    problems = []
    rules = (
        ("name", 1 <= len(name) <= 100, "The name has 1 to 100 characters."),
        ("priority", 0 <= priority <= MAX_PRIORITY, f"Priority must be from 0 to {MAX_PRIORITY}."),
        ("buffer", 0 <= buffer <= MAX_UNITS, f"Buffer must be from 0 to {MAX_UNITS} units."),
        (
            "share",
            share.is_finite() and Decimal(0) < share <= Decimal(1),
            "Share must be more than 0 and at most 1.",
        ),
        (
            "handling_hours",
            handling_hours is None or 0 <= handling_hours <= MAX_HANDLING_HOURS,
            f"Handling hours must be from 0 to {MAX_HANDLING_HOURS} (a year), or none.",
        ),
        (
            "fee_percent",
            has_cents(fee_percent) and 0 <= fee_percent <= MAX_FEE_PERCENT,
            "The fee percent must be from 0 to 100, with at most 2 decimals.",
        ),
        (
            "fee_fixed",
            has_cents(fee_fixed) and 0 <= fee_fixed <= MAX_FEE_FIXED,
            f"The fixed fee must be from 0 to {MAX_FEE_FIXED}, with at most 2 decimals.",
        ),
    )
    for field, holds, message in rules:
        if not holds:
            problems.append(InvalidInput(message, field=field))
    try:
        check_events_url(events_url, home)
    except InvalidInput as refused:
        problems.append(refused)
    return problems


def check_events_url(url: str | None, home: ServiceAddress | None = None) -> str | None:
    """The URL a channel's events are POSTed to, or None for none (an empty one clears it):
    http or https, a host, no user name or password (events are signed with the channel's
    secret instead), and never this service itself, which would send events to itself."""
    if not url:
        return None

    def refuse(message: str, code: str | None = None) -> InvalidInput:
        return InvalidInput(message, field="events_url", code=code)

    if len(url) > MAX_URL:
        raise refuse(f"An events URL has at most {MAX_URL} characters.")
    # Checked before it is split: urlsplit quietly drops tabs and line breaks.
    if not all("!" <= c <= "~" for c in url):
        raise refuse(
            "An events URL is printable ASCII without spaces (an international name in its "
            "xn-- form, other characters %-encoded)."
        )
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise refuse("The events URL is not a URL: its host or port cannot be read.") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise refuse("An events URL starts with http:// or https://.")
    host = (parts.hostname or "").rstrip(".")
    if not host or not (_HOST_NAME.fullmatch(host) or _address(host)):
        raise refuse("The events URL names no host, or not one a request can be sent to.")
    if parts.username is not None or parts.password is not None:
        raise refuse(
            "An events URL carries no user name or password: the events are signed with "
            "the channel's secret."
        )
    if port == 0:
        raise refuse("The port of the events URL must be from 1 to 65535.")
    port = port or (443 if scheme == "https" else 80)
    if home is not None and _is_this_service(host, port, home):
        raise refuse(
            "This events URL points at this warehouse service itself: give the channel's own "
            "address.",
            code="events_url_is_this_service",
        )
    return url


# A DNS name as a URL carries it (urlsplit gives it in lower case).
_HOST_NAME = re.compile(r"[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*")


def _address(host: str) -> IPv4Address | IPv6Address | None:
    """The IP address a host is written as, in any form a resolver takes (127.1 and
    2130706433 are 127.0.0.1), or None for a name."""
    try:
        address = ip_address(host)
    except ValueError:
        try:
            address = IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _is_local(host: str) -> bool:
    """localhost, a loopback address or the any-address (0.0.0.0 reaches this machine)."""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    address = _address(host)
    return address is not None and (address.is_loopback or address.is_unspecified)


def _is_this_service(host: str, port: int, home: ServiceAddress) -> bool:
    """Whether host:port is where this service answers: the host and port the request came
    to, or this machine on the port the service serves on (or came to, when on this machine)."""
    if home.host is not None:
        home_host = home.host.lower().rstrip(".")
        same = home_host == host or (
            _address(home_host) is not None and _address(home_host) == _address(host)
        )
        if same and port == home.port:
            return True
    ports = {home.server_port}
    if home.host is not None and home.port is not None and _is_local(home.host):
        ports.add(home.port)
    return port in ports and _is_local(host)


def put_channel(
    session: Session,
    code: str,
    name: str,
    priority: int = 100,
    buffer: int = 0,
    share: Decimal = Decimal(1),
    ship_partial: bool = False,
    handling_hours: int | None = None,
    fee_percent: Decimal = Decimal(0),
    fee_fixed: Decimal = Decimal(0),
    events_url: str | None = None,
    *,
    home: ServiceAddress | None = None,
) -> tuple[Channel, bool]:
    """Create or update a channel; a new one gets a webhook secret. Returns (channel, created).

    Every setting is set: one left out takes its default (PUT). `home` is where this
    service answers, which an events URL may not point at. An events URL set where there
    was none pushes the events written from now on (those written before stay to be
    pulled); one cleared leaves the channel's events waiting to be pushed to be pulled
    instead, kept in order."""
    _check_code(code)
    problems = check_settings(
        name, priority, buffer, share, handling_hours, fee_percent, fee_fixed, events_url, home
    )
    if problems:
        raise SettingsRefused(problems)
    channel = session.scalar(select(Channel).where(Channel.code == code))
    created = channel is None
    if channel is None:
        channel = Channel(code=code, webhook_secret=new_webhook_secret())
        session.add(channel)
    channel.ship_partial, channel.handling_hours = ship_partial, handling_hours
    channel.fee_percent, channel.fee_fixed = fee_percent, fee_fixed
    pushed_before, channel.events_url = bool(channel.events_url), events_url or None
    figures_before = (channel.buffer, Decimal(channel.share)) if not created else None
    channel.name, channel.priority, channel.buffer, channel.share = name, priority, buffer, share
    session.flush()
    if figures_before not in (None, (buffer, Decimal(share))):
        # Every figure the channel was told may have moved: each is told again where it did.
        outbox.touch_products(session, session.scalars(select(Product.id)))
    if pushed_before and not channel.events_url:
        session.execute(
            update(ChannelEvent)
            .where(
                ChannelEvent.channel_id == channel.id, ChannelEvent.status == EventStatus.PENDING
            )
            .values(status=EventStatus.PULL)
        )
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


def available_to_sell(
    session: Session, channel_code: str, served: Served = None
) -> Iterator[tuple[str, int]]:
    """(sku, units) for every product: what the channel may sell of its units on hand that
    are neither unsellable nor reserved (`Channel.may_sell`)."""
    channel = get_channel(session, channel_code, served)
    rows = session.execute(
        select(Product.sku, Product.on_hand - Product.unsellable - Product.reserved).order_by(
            Product.sku
        )
    ).yield_per(1000)
    for sku, available in rows:
        yield sku, channel.may_sell(available)


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
