"""A small demo warehouse: bins, products with valid GTINs, stock, and one user per role."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scanners.gtin import with_check_digit
from warehouse import accounts, catalog, channels, inventory, orders
from warehouse.config import Config
from warehouse.models import Product
from warehouse.order_input import LineInput, OrderInput, ShipTo
from warehouse.scanning import scanner_setup

AISLES = ("A01", "A02", "A03", "A04", "A05")
BAYS = 8
LEVELS = 3
OTHER_PLACES = ("DOCK-01", "QUAR-01")
COMPANY_PREFIX = "0614141"  # the GS1 example company prefix


@dataclass(frozen=True)
class DemoUser:
    name: str
    role: str
    badge: str | None
    pin: str | None
    password: str | None


USERS = (
    DemoUser("ada", "admin", "U000001", "1111", "ada-demo-password"),
    DemoUser("sam", "supervisor", "U000002", "2222", "sam-demo-password"),
    DemoUser("rita", "receiver", "U000003", "3333", None),
    DemoUser("pete", "picker", "U000004", "4444", None),
    DemoUser("paula", "packer", "U000005", "5555", None),
    DemoUser("shop-bot", "integration", None, None, None),
)

_KINDS = (
    "Mug",
    "Notebook",
    "Water bottle",
    "Tea tin",
    "Candle",
    "Scarf",
    "Phone case",
    "Coffee beans",
    "Chocolate bar",
    "Sock pair",
    "Pencil set",
    "Tote bag",
)
_STYLES = ("Blue", "Red", "Forest", "Sand", "Charcoal")
_PERISHABLE = ("Tea tin", "Coffee beans", "Chocolate bar")


def is_loaded(session: Session) -> bool:
    """True once the database holds any product: the demo is never loaded over real data."""
    return bool(session.scalar(select(func.count()).select_from(Product)))


def load(session: Session, config: Config, seed: int = 2026) -> str | None:
    """Fill an empty database; returns the integration user's new API token."""
    rng = random.Random(seed)
    pattern = config.warehouse.location_pattern
    bins = [
        f"{aisle}-{bay:02d}-{level}"
        for aisle in AISLES
        for bay in range(1, BAYS + 1)
        for level in range(1, LEVELS + 1)
    ]
    for code in bins:
        catalog.put_location(session, code, pattern, zone="pick")
    for code in OTHER_PLACES:
        zone = code.split("-")[0].lower()
        # Quarantine holds returns until someone checks them: on hand, not for sale.
        catalog.put_location(session, code, pattern, zone=zone, sellable=zone != "quar")
    admin = None
    for spec in USERS:
        created = accounts.add_user(
            session,
            spec.name,
            spec.role,
            config.auth,
            password=spec.password,
            badge=spec.badge,
            pin=spec.pin,
        )
        admin = admin or created.user
    number = 0
    for kind in _KINDS:
        for style in _STYLES:
            number += 1
            ean13 = with_check_digit(f"{COMPANY_PREFIX}{number:05d}")
            cases: tuple[catalog.BarcodeSpec, ...] = ()
            if number % 4 == 0:
                # A case of 12: the GTIN-14 with packaging indicator 1.
                cases = (catalog.BarcodeSpec(with_check_digit("1" + ean13[:12]), 12),)
            cost = Decimal(rng.randrange(150, 2500)) / 100
            product, _ = catalog.put_product(
                session,
                f"SKU-{number:04d}",
                catalog.ProductSpec(
                    name=f"{style} {kind.lower()}",
                    barcodes=(catalog.BarcodeSpec(ean13), *cases),
                    unit_cost=cost,
                    unit_price=(cost * Decimal("2.2")).quantize(Decimal("0.01")),
                    weight_g=rng.randrange(40, 900),
                ),
                scanner_setup(config).patterns,
            )
            for code in rng.sample(bins, rng.randint(1, 2)):
                lot, expiry = "", None
                if kind in _PERISHABLE:
                    lot = f"L{rng.randrange(1000, 9999)}"
                    expiry = date(2027, 1, 1) + timedelta(days=rng.randrange(0, 400))
                inventory.receive(
                    session,
                    admin,
                    product.sku,
                    code,
                    rng.randint(6, 120),
                    lot=lot,
                    expiry=expiry,
                    reference="demo opening stock",
                )
    _load_orders(session, rng)
    return accounts.create_token(session, "shop-bot")


CHANNELS = (
    # code, name, priority, buffer, share
    ("web", "Own web shop", 10, 0, Decimal(1)),
    ("amazon", "Amazon marketplace", 20, 2, Decimal("0.8")),
    ("wholesale", "Wholesale partners", 50, 5, Decimal("0.5")),
)
_NAMES = ("Ann Lee", "Bo Chen", "Carla Diaz", "Dev Patel", "Eve Moreau", "Femi Ade")


def _load_orders(session: Session, rng: random.Random) -> None:
    for code, name, priority, buffer, share in CHANNELS:
        channels.put_channel(session, code, name, priority, buffer, share)
    skus = list(session.scalars(select(Product.sku).order_by(Product.sku)))
    for number in range(1, 25):
        code = CHANNELS[number % len(CHANNELS)][0]
        big = code == "wholesale"
        lines = tuple(
            LineInput(sku, rng.randint(20, 90) if big else rng.randint(1, 3))
            for sku in rng.sample(skus, rng.randint(1, 3))
        )
        orders.take_order(
            session,
            code,
            OrderInput(
                external_id=f"{code.upper()}-{1000 + number}",
                lines=lines,
                ship_to=ShipTo(
                    name=rng.choice(_NAMES),
                    street1=f"{rng.randint(1, 200)} Market Street",
                    city="Springfield",
                    region="IL",
                    postal_code="62701",
                    country="US",
                ),
            ),
        )


def login_help(base_url: str) -> str:
    """How to log in to the demo, for the terminal."""
    lines = [f"Open {base_url} and sign in by scanning (or typing) a badge, then its PIN:"]
    for spec in USERS:
        if spec.badge:
            extra = f"   or name {spec.name} / password {spec.password}" if spec.password else ""
            lines.append(f"  {spec.role:<11} badge {spec.badge}  PIN {spec.pin}{extra}")
    lines.append("The integration user shop-bot uses API tokens: warehouse token create shop-bot")
    return "\n".join(lines)
