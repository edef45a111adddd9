"""An order as a channel sends it, and the one schema that checks it, whichever way it comes
in: the JSON API, a signed webhook, or a row group of a CSV file.

The schema gives every field its limit (a length, a range, a pattern) and turns the checked
body into frozen dataclasses for `orders.take_orders`; its messages name the field to blame.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import marshmallow as ma

from warehouse import limits


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
        ship = self.ship_to
        canonical = json.dumps(
            [
                self.external_id,
                [[line.sku, line.qty, str(line.unit_price)] for line in self.lines],
                [ship.name, ship.street1, ship.street2, ship.city, ship.region,
                 ship.postal_code, ship.country],
                self.ship_by.isoformat() if self.ship_by else None,
            ],
            separators=(",", ":"),
        )  # fmt: skip
        return hashlib.sha256(canonical.encode()).hexdigest()


class ShipToIn(ma.Schema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(1, 200))
    street1 = ma.fields.String(required=True, validate=ma.validate.Length(1, 200))
    street2 = ma.fields.String(load_default="", validate=ma.validate.Length(0, 200))
    city = ma.fields.String(required=True, validate=ma.validate.Length(1, 100))
    region = ma.fields.String(load_default="", validate=ma.validate.Length(0, 100))
    postal_code = ma.fields.String(required=True, validate=ma.validate.Length(1, 20))
    country = ma.fields.String(
        required=True,
        validate=ma.validate.Regexp(r"^[A-Z]{2}$", error="an ISO 3166 alpha-2 code, such as US"),
    )

    @ma.post_load
    def _make(self, data: dict[str, Any], **_: Any) -> ShipTo:
        return ShipTo(**data)


class LineIn(ma.Schema):
    sku = ma.fields.String(required=True, validate=ma.validate.Length(1, 64))
    qty = limits.units(required=True)
    unit_price = limits.price()

    @ma.post_load
    def _make(self, data: dict[str, Any], **_: Any) -> LineInput:
        return LineInput(**data)


class OrderIn(ma.Schema):
    external_id = ma.fields.String(required=True, validate=ma.validate.Length(1, 100))
    lines = limits.Items(
        ma.fields.Nested(LineIn),
        limits.MAX_ORDER_LINES,
        required=True,
        validate=ma.validate.Length(min=1, error="an order needs at least one line"),
        metadata={
            "description": "one line per SKU; a SKU on two lines is refused; at most "
            "config.toml's [orders] max_lines (1000 unless set)"
        },
    )
    ship_to = ma.fields.Nested(ShipToIn, required=True)
    ship_by = limits.Moment(load_default=None, allow_none=True)

    @ma.post_load
    def _make(self, data: dict[str, Any], **_: Any) -> OrderInput:
        return OrderInput(
            external_id=data["external_id"],
            lines=tuple(data["lines"]),
            ship_to=data["ship_to"],
            ship_by=data["ship_by"],
        )
