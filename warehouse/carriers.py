"""Carrier hand-over: every carton that leaves carries its carrier, service and tracking
number, so every shipped order has something to tell its channel. Our own labels carry
config.toml's [shipping] carrier and our tracking numbers; a carrier's own label, attached by
an integration or recorded from the carrier's paperwork when a supervisor confirms the
hand-over, carries the carrier's.

A tracking number is what the dock scans a label as, so no two cartons may share one, nor
may a carrier's number take the shape of ours (it would collide with a carton labelled
later).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from labels.barcodes import LabelError
from labels.carrier import check_tracking
from warehouse.config import ShippingConfig
from warehouse.errors import Conflict, InvalidInput
from warehouse.limits import MAX_CARRIER
from warehouse.models import Carton, CartonStatus


class TrackingTaken(Conflict):
    code = "tracking_taken"


@dataclass(frozen=True)
class HandOver:
    """What a supervisor records when confirming a hand-over from the carrier's paperwork:
    the carrier and service every carton of the shipment went with, and the carrier's
    tracking number of some cartons, as (carton number, tracking)."""

    carrier: str | None = None
    service: str | None = None
    tracking: Sequence[tuple[int, str]] = field(default_factory=tuple)


# The paperwork of a hand-over that says nothing more than that it happened.
NOTHING_SAID = HandOver()


def tracking_number(serial: int) -> str:
    """The carrier-neutral shipment number of a carton, from its label's serial (a carrier's
    label replaces it)."""
    return f"WH{serial:010d}"


def is_ours(tracking: str) -> bool:
    """A tracking number of the warehouse's own (tracking_number's) shape."""
    digits = tracking[2:]
    return tracking[:2] == "WH" and digits.isdigit() and tracking_number(int(digits)) == tracking


def check_name(name: str, field: str) -> str:
    """A carrier's or service's name: 1 to MAX_CARRIER printable characters."""
    if not name.strip() or len(name) > MAX_CARRIER:
        raise InvalidInput(f"The {field} has 1 to {MAX_CARRIER} characters.", field=field)
    if not name.isprintable():
        raise InvalidInput(
            f"The {field} holds a control character; write the name as it is printed.",
            field=field,
        )
    return name


def label_ours(carton: Carton, serial: int, shipping: ShippingConfig) -> None:
    """A carton labelled with our own label: our tracking number, and the carrier that
    collects our parcels."""
    carton.tracking = tracking_number(serial)
    carton.carrier, carton.service = shipping.carrier, shipping.service or None


def check_tracking_for(session: Session, carton: Carton, tracking: str, field: str) -> None:
    """Refuse a carrier's tracking number for this carton that no carrier barcode scans as,
    that has our shape (but for the carton's own), or that another carton has (as its
    tracking number or its SSCC: the dock matches a scan against both)."""
    try:
        check_tracking(tracking)
    except LabelError as bad:
        raise InvalidInput(bad.message, field=field) from None
    if is_ours(tracking) and tracking != carton.tracking:
        raise InvalidInput(
            f"{tracking} is one of the warehouse's own numbers, not a carrier's.", field=field
        )
    if session.scalar(
        select(Carton.id).where(
            (Carton.tracking == tracking) | (Carton.sscc == tracking), Carton.id != carton.id
        )
    ):
        raise TrackingTaken(
            f"Tracking number {tracking} is on another carton already.", field=field
        )


def _checked(session: Session, cartons: list[Carton], hand_over: HandOver) -> dict[int, str]:
    """The hand-over's tracking numbers by carton id, once every part of it is checked."""
    if hand_over.carrier is None and (hand_over.tracking or hand_over.service is not None):
        raise InvalidInput(
            "Name the carrier the cartons went with: tracking numbers and a service are the "
            "carrier's.",
            field="carrier",
        )
    if hand_over.carrier is not None:
        check_name(hand_over.carrier, "carrier")
    if hand_over.service:
        check_name(hand_over.service, "service")
    by_number = {carton.number: carton for carton in cartons}
    chosen: dict[int, str] = {}
    for index, (number, tracking) in enumerate(hand_over.tracking):
        carton = by_number.get(number)
        if carton is None:
            raise InvalidInput(
                f"This shipment has no carton {number}.",
                field=f"cartons[{index}].number",
                code="unknown_carton",
            )
        if carton.status == CartonStatus.SHIPPED and tracking != carton.tracking:
            raise Conflict(
                f"Carton {number} left with its label scanned at the dock: its tracking "
                "number stands.",
                field=f"cartons[{index}].tracking",
                code="already_shipped",
            )
        if carton.id in chosen:
            raise InvalidInput(f"Carton {number} is named twice.", field=f"cartons[{index}].number")
        if tracking in chosen.values():
            raise TrackingTaken(
                f"Tracking number {tracking} is given to two cartons.",
                field=f"cartons[{index}].tracking",
            )
        check_tracking_for(session, carton, tracking, f"cartons[{index}].tracking")
        chosen[carton.id] = tracking
    return chosen


def record_hand_over(session: Session, cartons: list[Carton], hand_over: HandOver) -> None:
    """Give a shipment's cartons the carrier and service they went with, and the carrier's
    tracking numbers named; refused whole, with nothing changed, if any part is wrong."""
    chosen = _checked(session, cartons, hand_over)
    for carton in cartons:
        if hand_over.carrier is not None:
            carton.carrier, carton.service = hand_over.carrier, hand_over.service or None
        carton.tracking = chosen.get(carton.id, carton.tracking)
    session.flush()


def recorded(cartons: list[Carton], hand_over: HandOver) -> bool:
    """Whether the cartons already carry what the hand-over says (the same request again)."""
    by_number = {carton.number: carton for carton in cartons}
    return all(
        number in by_number and by_number[number].tracking == tracking
        for number, tracking in hand_over.tracking
    ) and (
        hand_over.carrier is None
        or all(
            (carton.carrier, carton.service) == (hand_over.carrier, hand_over.service or None)
            for carton in cartons
        )
    )
