"""The states of orders, pick lists, picks, cartons and print jobs, one enum each.

Each is a StrEnum, so a status compares equal to its text (in templates, JSON and SQL),
and the models' CHECK constraints and the API's documented lists are made from them.
"""

from __future__ import annotations

from enum import StrEnum


class OrderStatus(StrEnum):
    # Set at intake and whenever stock changes: what the lines hold.
    RESERVED = "reserved"
    PARTIAL = "partial"
    BACKORDERED = "backordered"
    # Set by the floor, in this order.
    PICKING = "picking"
    PACKED = "packed"
    SHIPPED = "shipped"
    CANCELLED = "cancelled"


# Orders whose lines still hold or wait for stock.
OPEN_ORDER_STATUSES = (
    OrderStatus.RESERVED,
    OrderStatus.PARTIAL,
    OrderStatus.BACKORDERED,
    OrderStatus.PICKING,
    OrderStatus.PACKED,
)
# Statuses that intake and stock changes set; later ones belong to picking and shipping.
RESERVING_STATUSES = (OrderStatus.RESERVED, OrderStatus.PARTIAL, OrderStatus.BACKORDERED)


class PickListStatus(StrEnum):
    OPEN = "open"
    PICKING = "picking"
    DONE = "done"
    RELEASED = "released"


# Pick lists that still hold units at bins.
ACTIVE_PICK_LISTS = (PickListStatus.OPEN, PickListStatus.PICKING)


class PickStatus(StrEnum):
    OPEN = "open"
    PICKED = "picked"
    SHORT = "short"


class ShipmentStatus(StrEnum):
    # Its cartons are being packed.
    PACKING = "packing"
    # Every carton closed and labelled: waiting at the dock.
    PACKED = "packed"
    SHIPPED = "shipped"


class CartonStatus(StrEnum):
    OPEN = "open"
    # Closed with a weight off what its items and box should weigh: re-check before labels.
    HELD = "held"
    CLOSED = "closed"
    SHIPPED = "shipped"


class CountReviewStatus(StrEnum):
    # The difference waits for a second count or a supervisor.
    PENDING = "pending"
    BOOKED = "booked"
    REJECTED = "rejected"
    # A later count of the bin took its place.
    RECOUNTED = "recounted"


class PrintJobStatus(StrEnum):
    QUEUED = "queued"
    # Claimed by one sender until its lease runs out.
    SENDING = "sending"
    SENT = "sent"
    # It may have reached the printer (the label went out, in part or whole, without a clean
    # finish, or its sender stopped mid-send): never sent again by itself; a person says it
    # printed, or prints it again.
    UNCERTAIN = "uncertain"
    # Another document (a carrier's label, a new label) took its place before it was sent.
    REPLACED = "replaced"
    # A supervisor called it off.
    CANCELLED = "cancelled"


class EventStatus(StrEnum):
    # Waiting to be pushed to the channel's events URL (again, after a failure).
    PENDING = "pending"
    # Claimed by one sender until its lease runs out.
    SENDING = "sending"
    DELIVERED = "delivered"
    # Retried for as long as the channel's policy allows: parked until a person replays it.
    DEAD = "dead"
    # Written while the channel had no events URL: read by cursor only.
    PULL = "pull"
