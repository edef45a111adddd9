"""The documented range of every number, text and date the service takes, and the checks that
hold a request to them before the database sees it.

Ids, units, prices and weights are stored as 32-bit integers or numeric(12, 2): a value past
their range is refused with a 422 that names the field, never handed to the database (which
would overflow, or on SQLite quietly turn it into a float). A path id past the range names
nothing that can exist, so it is a 404. Text may not hold NUL (PostgreSQL cannot store it) or
half of a UTF-16 surrogate pair (no encoding can). A JSON body nests at most MAX_JSON_DEPTH
deep, checked by a scan before it is parsed, so that no parser or schema recurses without end.

Where a site may want another limit, config.toml has it ([receiving] max_units,
[orders] max_lines, [packing] max_carton_kg); the numbers here are the ceilings.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import marshmallow as ma

from warehouse.errors import InvalidInput

# Row ids are 32-bit on PostgreSQL (serial).
MAX_ID = 2**31 - 1
# No line, count, case or receipt comes near it; config's [receiving] max_units is below it.
MAX_UNITS = 999_999
# Product weights and scale readings in grams (a tonne).
MAX_WEIGHT_G = 1_000_000
# Prices and costs of one unit, stored as numeric(12, 2).
MAX_PRICE = Decimal("999999.99")
# A channel's priority (lower is served first) and its buffer of units.
MAX_PRIORITY = 1_000_000
# A channel's handling time (a year), its fee as a percent of revenue and its fixed fee
# per shipped order (both in cents: at most 2 decimals).
MAX_HANDLING_HOURS = 8760
MAX_FEE_PERCENT = Decimal(100)
MAX_FEE_FIXED = Decimal("99999.99")
# A URL a channel's events are sent to; a carrier's or its service's name.
MAX_URL = 500
MAX_CARRIER = 64
# Cartons named in one request (a shipment's hand-over).
MAX_CARTONS = 1000
# Lines of one order: config's [orders] max_lines, and its ceiling.
DEFAULT_MAX_LINES = 1000
MAX_ORDER_LINES = 10_000
# Dates and times: what a warehouse plans with (expiry, ship-by, figures).
EARLIEST = date(2000, 1, 1)
LATEST = date(2099, 12, 31)
# How deep a JSON body may nest (an order is 3 deep).
MAX_JSON_DEPTH = 32

_NOT_TEXT = re.compile("[\x00\ud800-\udfff]")
# A JSON string once its escaped backslashes and quotes are gone.
_STRING = re.compile(rb'"[^"]*"')
_NOT_BRACKETS = bytes(set(range(256)) - set(b"[]{}"))


def check_text(value: str, field: str) -> str:
    """Refuse text holding a NUL character or a lone surrogate (half of a character)."""
    if _NOT_TEXT.search(value):
        raise InvalidInput(
            f"{field or 'The text'} holds a character that is not text (a NUL or half of a "
            "character); send it again as plain text.",
            field=field or None,
            code="not_text",
        )
    return value


def check_id(value: int) -> bool:
    """Whether a number can be the id of a row (anything else names nothing)."""
    return 1 <= value <= MAX_ID


def check_json(body: bytes, raw: frozenset[str] = frozenset()) -> None:
    """Refuse a JSON body nested too deep, before any parser recurses into it; then any text
    in it (keys too) that is not text, but in the fields named in `raw` (raw scans, which
    the scan parser refuses and logs itself). A body that is not JSON is left to the
    parser, which says so."""
    if body.count(b"[") + body.count(b"{") > MAX_JSON_DEPTH and _too_deep(body):
        raise InvalidInput(
            f"The request is nested more than {MAX_JSON_DEPTH} levels deep.", code="too_deep"
        )
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError):
        return
    _check_values(parsed, "", raw)


def _too_deep(body: bytes) -> bool:
    """Whether the brackets outside strings nest deeper than MAX_JSON_DEPTH: strings taken
    out, then innermost pairs peeled off, one level a pass (each pass linear and in C)."""
    unquoted = _STRING.sub(b"", body.replace(b"\\\\", b"").replace(b'\\"', b""))
    brackets = unquoted.translate(None, _NOT_BRACKETS)
    for _ in range(MAX_JSON_DEPTH):
        brackets = brackets.replace(b"[]", b"").replace(b"{}", b"")
        if not brackets:
            return False
    peeled = brackets.replace(b"[]", b"").replace(b"{}", b"")
    # Still peeling: deeper than allowed. Stuck: brackets that do not pair, which the
    # parser refuses as not JSON.
    return peeled != brackets


def _check_values(value: Any, path: str, raw: frozenset[str]) -> None:
    # Bounded by the depth check: the parsed body is at most MAX_JSON_DEPTH deep.
    if isinstance(value, str):
        if path not in raw:
            check_text(value, path)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_values(item, f"{path}[{index}]", raw)
    elif isinstance(value, dict):
        for key, item in value.items():
            name = f"{path}.{key}" if path else key
            check_text(key, name)
            _check_values(item, name, raw)


def check_date(value: date, field: str) -> date:
    """Refuse a date outside EARLIEST to LATEST."""
    if not EARLIEST <= value <= LATEST:
        raise InvalidInput(
            f"{value.isoformat()} is too far off: {field} must be from {EARLIEST.isoformat()} "
            f"to {LATEST.isoformat()}.",
            field=field,
            code="date_out_of_range",
        )
    return value


# Schema fields: the limits above, checked by the API's schemas and documented as the
# OpenAPI document's minimum, maximum, maxLength and maxItems.


def units(least: int = 1, **kwargs: Any) -> ma.fields.Integer:
    """A whole number of units from `least` to MAX_UNITS. The ceiling is documented here and
    checked by the domain's quantities.check_units, which also knows a scanned barcode and
    the site's own smaller limits, and names them."""
    kwargs["metadata"] = {"maximum": MAX_UNITS, **kwargs.get("metadata", {})}
    return ma.fields.Integer(strict=True, validate=ma.validate.Range(min=least), **kwargs)


def row_id(**kwargs: Any) -> ma.fields.Integer:
    """The id of a row."""
    return ma.fields.Integer(strict=True, validate=ma.validate.Range(1, MAX_ID), **kwargs)


def price(**kwargs: Any) -> ma.fields.Decimal:
    """A price or cost of one unit, 0 to MAX_PRICE."""
    # Documented as numbers: the document's JSON would write the Decimal bounds as strings.
    kwargs["metadata"] = {"minimum": 0, "maximum": float(MAX_PRICE), **kwargs.get("metadata", {})}
    return ma.fields.Decimal(places=2, validate=ma.validate.Range(0, MAX_PRICE), **kwargs)


def cents(most: Decimal, **kwargs: Any) -> ma.fields.Decimal:
    """An amount from 0 to `most` with at most 2 decimals: 12.345 is refused, not rounded
    (a fee typed with a slip is not quietly made another one)."""
    kwargs["metadata"] = {
        "minimum": 0, "maximum": float(most), "multipleOf": 0.01, **kwargs.get("metadata", {}),
    }  # fmt: skip
    return ma.fields.Decimal(
        validate=[ma.validate.Range(0, most), _in_cents], allow_nan=False, **kwargs
    )


def _in_cents(value: Decimal) -> None:
    if not has_cents(value):
        raise ma.ValidationError("at most 2 decimals")


def has_cents(value: Decimal) -> bool:
    """Whether an amount has at most 2 decimals (1.230 has: its last 0 says nothing).
    Read from its digits, so no rounding of the decimal context can hide a third."""
    if not value.is_finite():
        return False
    _, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    while exponent < -2 and digits and digits[-1] == 0:
        digits, exponent = digits[:-1], exponent + 1
    return exponent >= -2 or not digits


def grams(**kwargs: Any) -> ma.fields.Integer:
    """A weight in grams, 0 to MAX_WEIGHT_G."""
    return ma.fields.Integer(strict=True, validate=ma.validate.Range(0, MAX_WEIGHT_G), **kwargs)


class Day(ma.fields.Date):
    """A date from EARLIEST to LATEST."""

    default_error_messages = {  # noqa: RUF012 (marshmallow's own form)
        **ma.fields.Date.default_error_messages,
        "range": f"must be a date from {EARLIEST} to {LATEST}",
    }

    def __init__(self, **kwargs: Any):
        kwargs["metadata"] = {
            "description": f"from {EARLIEST} to {LATEST}",
            **kwargs.get("metadata", {}),
        }
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> date:
        day: date = super()._deserialize(value, attr, data, **kwargs)
        if not EARLIEST <= day <= LATEST:
            raise self.make_error("range")
        return day


class Moment(ma.fields.AwareDateTime):
    """A date and time with its offset, on a day from EARLIEST to LATEST; checked before
    anything converts it (which past the year 9999 overflows)."""

    default_error_messages = {  # noqa: RUF012 (marshmallow's own form)
        **ma.fields.AwareDateTime.default_error_messages,
        "range": f"must be a time from {EARLIEST} to {LATEST}",
    }

    def __init__(self, **kwargs: Any):
        kwargs.setdefault("default_timezone", None)
        kwargs["metadata"] = {
            "description": f"ISO 8601 with an offset, from {EARLIEST} to {LATEST}",
            **kwargs.get("metadata", {}),
        }
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        moment: datetime = super()._deserialize(value, attr, data, **kwargs)
        if not EARLIEST <= moment.date() <= LATEST:
            raise self.make_error("range")
        return moment


class Items(ma.fields.List):
    """A list of at most `most` items, counted before any item is read."""

    default_error_messages = {  # noqa: RUF012 (marshmallow's own form)
        **ma.fields.List.default_error_messages,
        "too_many": "at most {most} items",
    }

    def __init__(self, item: ma.fields.Field | type[ma.fields.Field], most: int, **kwargs: Any):
        kwargs["metadata"] = {"maxItems": most, **kwargs.get("metadata", {})}
        super().__init__(item, **kwargs)
        self.most = most

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[Any]:
        if isinstance(value, list | tuple) and len(value) > self.most:
            raise self.make_error("too_many", most=self.most)
        return super()._deserialize(value, attr, data, **kwargs)
