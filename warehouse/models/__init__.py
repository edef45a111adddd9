"""Every table of the service, as SQLAlchemy 2.0 typed models, and the states they pass through.

The models live in one module per part of the warehouse; import them from here.
"""

from warehouse.models.base import Base, StrEnumType, UTCDateTime, one_of, utcnow
from warehouse.models.floor import (
    PICK_LIST_KINDS,
    Carton,
    CartonItem,
    Counter,
    FloorState,
    PackStation,
    Pick,
    PickList,
    PickListOrder,
    PrintJob,
    ScanLog,
    Shipment,
)
from warehouse.models.orders import Channel, Order, OrderLine
from warehouse.models.people import ROLES, ApiToken, Setting, User
from warehouse.models.requests import IdempotencyKey
from warehouse.models.statuses import (
    ACTIVE_PICK_LISTS,
    OPEN_ORDER_STATUSES,
    RESERVING_STATUSES,
    CartonStatus,
    CountReviewStatus,
    OrderStatus,
    PickListStatus,
    PickStatus,
    PrintJobStatus,
    ShipmentStatus,
)
from warehouse.models.stock import (
    MOVEMENT_KINDS,
    Barcode,
    CountReview,
    CountTask,
    Location,
    Movement,
    Product,
    Stock,
)

__all__ = [
    "ACTIVE_PICK_LISTS",
    "MOVEMENT_KINDS",
    "OPEN_ORDER_STATUSES",
    "PICK_LIST_KINDS",
    "RESERVING_STATUSES",
    "ROLES",
    "ApiToken",
    "Barcode",
    "Base",
    "Carton",
    "CartonItem",
    "CartonStatus",
    "Channel",
    "CountReview",
    "CountReviewStatus",
    "CountTask",
    "Counter",
    "FloorState",
    "IdempotencyKey",
    "Location",
    "Movement",
    "Order",
    "OrderLine",
    "OrderStatus",
    "PackStation",
    "Pick",
    "PickList",
    "PickListOrder",
    "PickListStatus",
    "PickStatus",
    "PrintJob",
    "PrintJobStatus",
    "Product",
    "ScanLog",
    "Setting",
    "Shipment",
    "ShipmentStatus",
    "Stock",
    "StrEnumType",
    "UTCDateTime",
    "User",
    "one_of",
    "utcnow",
]
