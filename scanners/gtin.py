"""GTIN-8/12/13/14: check digits and the one normalized form every lookup uses."""

from __future__ import annotations

from biip import ParseError
from biip.checksums import gs1_standard_check_digit
from biip.gtin import Gtin

GTIN_LENGTHS = (8, 12, 13, 14)


class InvalidGtin(ValueError):
    """A string shaped like a GTIN whose check digit or prefix is wrong."""


def looks_like_gtin(code: str) -> bool:
    """True for an all-digit code of a GTIN length, which must then carry a valid check digit."""
    return code.isascii() and code.isdigit() and len(code) in GTIN_LENGTHS


def normalize_gtin(code: str) -> str:
    """The GTIN-14 form, so a UPC-A, its EAN-13 and its GTIN-14 are one key; raises InvalidGtin."""
    if not looks_like_gtin(code):
        raise InvalidGtin(f"{code!r} is not a GTIN: it needs 8, 12, 13 or 14 digits")
    try:
        return Gtin.parse(code).as_gtin_14()
    except ParseError as exc:
        raise InvalidGtin(str(exc)) from None


def with_check_digit(payload: str) -> str:
    """Append the GS1 check digit to a 7, 11, 12 or 13 digit payload."""
    return payload + str(gs1_standard_check_digit(payload))
