"""What a typed number of units may be: a whole number, within what the step allows, and never
a scan. A barcode scanned into a quantity field (the receiver scanning the item again, with the
focus in Units) arrives as a number of 8 digits or more; it is refused for what it is, whatever
the step would otherwise allow."""

from __future__ import annotations

from warehouse.errors import InvalidInput
from warehouse.limits import MAX_UNITS

# The shortest barcode a scanner sends as digits (EAN-8); no count of units comes near it.
BARCODE_DIGITS = 8


def check_units(
    value: object, field: str, *, least: int = 1, most: int | None = None, name: str = ""
) -> int:
    """The number of units, refused (naming the field, or `name` where a person reads it)
    unless it is a whole number from `least` to `most` that does not look like a scanned
    barcode. No step allows more than limits.MAX_UNITS."""
    said = name or field
    most = MAX_UNITS if most is None else min(most, MAX_UNITS)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{said} must be a whole number of units", field=field)
    if len(str(abs(value))) >= BARCODE_DIGITS:
        raise InvalidInput(
            f"{value} looks like a scanned barcode, not a number of units: type the number, "
            "or scan the item once for each unit.",
            field=field,
            code="barcode_as_quantity",
        )
    if value < least:
        raise InvalidInput(f"{said} must be {least} or more.", field=field)
    if value > most:
        raise InvalidInput(
            f"{said} is {most} at most here, not {value}.", field=field, code="too_many"
        )
    return value


def parse_units(
    text: str | None, field: str, *, least: int = 1, most: int | None = None, name: str = ""
) -> int:
    """A number of units typed into a form (see check_units)."""
    raw = (text or "").strip()
    if not (raw.lstrip("-").isdigit() and raw.isascii()):
        raise InvalidInput(f"{name or field} must be a whole number.", field=field)
    return check_units(int(raw), field, least=least, most=most, name=name)
